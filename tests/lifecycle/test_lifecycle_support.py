"""A laboratory for the lifecycle, gate and decision tests (helpers only; no tests here).

The charter ``credit-default`` below names an owner, one delegate and one steward, requires two
shadow batches, judges ``roc_auc >= 0.7`` on 7-day windows, rolls back automatically after two
breached windows, and escalates a stalled decision twice. Models are plain Python entrypoints
written into the workspace; batches go through the real ingestion; window results are either
inserted the way monitoring stores them (:meth:`Lab.window`) or produced by the real monitor.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import polars as pl
import sqlalchemy as sa

from charter.alerts.raising import test_routes
from charter.plumbing.ingest import ingest
from charter.registry.versions import register_version, set_status
from charter.store.tables import AuditEntry, ModelVersion, MonitorWindow
from charter.workspace import Workspace

NAME = "credit-default"
OWNER = "dana.ruiz@bank.example"
DELEGATE = "sam.lee@bank.example"
STEWARD = "mlp@bank.example"
WEEK0 = datetime(2024, 2, 29, tzinfo=UTC)  # a 7-day window start (windows align to the epoch)
WEEK = timedelta(days=7)

CHARTER = """\
name: credit-default
decision: "Approve or refer consumer loan applications"
owner: {{name: "Dana Ruiz", email: {owner}, role: "Head of Retail Credit"}}
delegates: [{{name: "Sam Lee", email: {delegate}}}]
stewards: [{{name: "ML Platform", email: {steward}}}]
sufficiency:
  window: 7d
  min_labels: 20
  metrics:
    - {{metric: roc_auc, at_least: {auc}}}
data:
  source: {{kind: parquet_dir, path: landing/credit-default/}}
  key: id
  event_time: event_at
  freshness: {{max_lateness: 400d}}
  fields:
    id:       {{type: string, nullable: false, unique: true}}
    event_at: {{type: datetime, nullable: false}}
    amount:   {{type: float, min: 0}}
labels: {{key: id, target: outcome}}
operations:
  alerts: [{{route: log, on: [breach, stalled_decision, rollback]}}]
  rollback: {{automatic: {automatic}, after_breaches: 2}}
  promotion: {{shadow_min_batches: 2, approval: {approval}}}
  decision_deadline: 5d
  escalation:
    - {{after: 7d, to: [cro@bank.example]}}
    - {{after: 10d, to: [ceo@bank.example]}}
"""


@dataclass
class Lab:
    """The workspace under test and the moves the tests make in it."""

    ws: Workspace
    batches: int = 0
    settings: dict[str, Any] = field(default_factory=dict)

    def charter(self, **changes: Any) -> None:
        """(Re)write the charter; ``approval``, ``automatic`` and ``auc`` may be changed."""
        self.settings = {"approval": "owner", "automatic": "true", "auc": 0.7} | self.settings
        self.settings |= changes
        text = CHARTER.format(owner=OWNER, delegate=DELEGATE, steward=STEWARD, **self.settings)
        (self.ws.charters_dir / f"{NAME}.yaml").write_text(text)

    def model(self, body: str = "frame['amount'] / 100", status: str | None = None) -> int:
        """Register ``def score(frame): <body>`` as the next version; optionally set its status."""
        module = f"model_{uuid.uuid4().hex[:10]}"
        (self.ws.root / f"{module}.py").write_text(f"def score(frame):\n    return {body}\n")
        version = register_version(self.ws, NAME, f"{module}:score").version
        if status is not None:
            self.force(version, status)
        return version

    def force(self, version: int, status: str) -> None:
        """Set a status directly, as earlier history would have (bypassing the gate)."""
        with self.ws.db.session() as session:
            set_status(self.ws, session, NAME, version, status, reason="test set-up")

    def batch(self, rows: int = 10) -> None:
        """Land one new file and ingest it: one batch, scored by the live and shadow versions."""
        start = self.batches * rows
        frame = pl.DataFrame(
            {
                "id": [f"r{i}" for i in range(start, start + rows)],
                "event_at": [WEEK0 + timedelta(hours=i) for i in range(start, start + rows)],
                "amount": [float(i % 90) for i in range(start, start + rows)],
            }
        )
        folder = self.ws.root / "landing" / NAME
        folder.mkdir(parents=True, exist_ok=True)
        frame.write_parquet(folder / f"batch-{self.batches:04d}.parquet")
        self.batches += 1
        report = ingest(self.ws, NAME)
        assert not report.files_failed, report.files_failed

    def window(
        self,
        version: int,
        week: int,
        verdict: str,
        auc: float | None = None,
        segment: str | None = None,
    ) -> None:
        """Store a window result of ``version`` for week ``week`` as monitoring does."""
        start = WEEK0 + week * WEEK
        value = auc if auc is not None else {"pass": 0.8, "breach": 0.55}.get(verdict)
        rule = {
            "metric": "roc_auc",
            "segment": segment,
            "at_least": 0.7,
            "at_most": None,
            "warn_at": None,
            "status": verdict,
            "labels": 0 if verdict == "insufficient_evidence" else 40,
            "value": value,
        }
        result = {
            "charter": NAME,
            "version": str(version),
            "start": start.isoformat(),
            "end": (start + WEEK).isoformat(),
            "verdict": verdict,
            "rules": [rule],
            "labels": {"labelled": rule["labels"]},
        }
        now = datetime.now(UTC)
        with self.ws.db.session() as session:
            session.add(
                MonitorWindow(
                    charter=NAME,
                    version=str(version),
                    window_start=start,
                    window_end=start + WEEK,
                    verdict=verdict,
                    rows=100,
                    labelled=rule["labels"],
                    result=result,
                    basis="test",
                    batches="test",
                    summaries=b"",
                    evaluated_at=now,
                    changed_at=now,
                )
            )

    def routes_tested(self) -> None:
        results = test_routes(self.ws, NAME)
        assert all(r.ok for r in results)

    def ready(self, version: int, *, weeks: int = 1) -> None:
        """Give ``version`` everything the gate asks for except a rollback target; the live
        version, if any, passes the same weeks equally (the champion/challenger comparison)."""
        while self.batches < 2:
            self.batch()
        champions = [v for v in self.live() if v != version]
        for week in range(weeks):
            self.window(version, week, "pass")
            for champion in champions:
                if not self.has_window(champion, week):
                    self.window(champion, week, "pass")
        self.routes_tested()

    def has_window(self, version: int, week: int) -> bool:
        with self.ws.db.read() as session:
            found = session.scalar(
                sa.select(MonitorWindow.id).where(
                    MonitorWindow.charter == NAME,
                    MonitorWindow.version == str(version),
                    MonitorWindow.window_start == WEEK0 + week * WEEK,
                )
            )
        return found is not None

    def statuses(self) -> dict[int, str]:
        with self.ws.db.read() as session:
            rows = session.execute(
                sa.select(ModelVersion.version, ModelVersion.status).where(
                    ModelVersion.charter == NAME
                )
            ).all()
        return {int(r.version): str(r.status) for r in rows}

    def live(self) -> list[int]:
        return [v for v, s in self.statuses().items() if s == "live"]

    def entries(self, action: str) -> list[dict[str, Any]]:
        """The payloads of the ledger entries with ``action``, oldest first (and their actor)."""
        with self.ws.db.read() as session:
            rows = session.execute(
                sa.select(AuditEntry.actor, AuditEntry.payload)
                .where(AuditEntry.action == action)
                .order_by(AuditEntry.seq)
            ).all()
        return [{**json.loads(r.payload), "_actor": r.actor} for r in rows]
