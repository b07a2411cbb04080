"""``charter purge``: remove logs older than a date, never inside the retention period, never the
ledger.

The charter's ``operations.retention`` (in the terms in force) says how long each log is kept:
``predictions`` (at least six months), ``quarantine`` (the rows that broke the data contract, and
labels' invalid rows) and ``labels``; a kind with no retention is kept for ever, the default. A
purge ``--before DATE`` removes the files of the batches **received** before DATE (a batch goes
whole, never a part of its file) and clears their paths in the store, so every reader skips them;
the batch records themselves stay (what came in, when, how many rows: the ingestion's
exactly-once memory, and the ledger's subject). One ``retention.purged`` ledger entry records what
went: per kind, the batches, files, rows and the date range, and the file names. The ledger
itself is never purged: it is the record of what the logs held.

Limits: a window already judged keeps its stored verdict; a window that still has rows after the
purge (one that spans DATE) is judged again on what is left when ``monitor`` next runs, so choose
DATE on a window boundary. Keys of purged predictions no longer count as seen when a later batch
repeats them.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from charter.errors import CharterError, RetentionError
from charter.plumbing.lake import lake_for
from charter.schemas import evidence as schemas
from charter.spec.durations import format_duration
from charter.spec.model import Charter
from charter.store.tables import IngestBatch, LabelBatch
from charter.workspace import Workspace

KINDS = ("predictions", "quarantine", "labels")
PURGED = "retention.purged"


@dataclass
class _Kind:
    kind: str
    retention: timedelta | None
    kept_because: str | None = None
    batches: set[str] = field(default_factory=set)
    files: list[str] = field(default_factory=list)
    rows: int = 0
    times: list[datetime] = field(default_factory=list)

    def to_schema(self) -> schemas.PurgeKind:
        return schemas.PurgeKind(
            kind=self.kind,
            retention=None if self.retention is None else format_duration(self.retention),
            batches=len(self.batches),
            files=len(self.files),
            rows=self.rows,
            oldest=min(self.times).isoformat() if self.times else None,
            newest=max(self.times).isoformat() if self.times else None,
            kept_because=self.kept_because,
        )


def purge(
    ws: Workspace,
    name: str,
    before: datetime,
    *,
    kinds: tuple[str, ...] = KINDS,
    dry_run: bool = False,
) -> schemas.PurgeResult:
    """Remove the logs of ``name`` received before ``before`` that its retention lets go."""
    if "ledger" in kinds:
        raise RetentionError(
            "the audit ledger is never purged: it is the record of what the logs held and of "
            "every decision, and a hash chain cannot lose its start",
            hint="Purge predictions, quarantine or labels; the ledger is kept for ever.",
        )
    unknown = sorted(set(kinds) - set(KINDS))
    if unknown:
        raise RetentionError(f"--only {unknown[0]!r} is not a log; use {', '.join(KINDS)}")
    before = before.replace(tzinfo=UTC) if before.tzinfo is None else before.astimezone(UTC)
    charter = ws.load(name).charter
    now = ws.context.clock()
    plan = _plan(charter, before, now, kinds)
    with (
        ws.exclusive(
            f"ingest-{name}", busy=f"an ingest of {name} is running", hint="Purge when it is done."
        ),
        ws.exclusive(
            f"labels-{name}",
            busy=f"a labels run of {name} is running",
            hint="Purge when it is done.",
        ),
        ws.db.session() as session,
    ):
        ws.db.serialize(session, f"ingest:{name}")
        ws.db.serialize(session, f"labels:{name}")
        _select(ws, session, name, before, plan)
        seq = None
        if not dry_run and any(k.files for k in plan.values()):
            seq = _record(ws, session, name, before, plan, now)
    if seq is not None:
        lake = lake_for(ws)
        for item in plan.values():  # after the commit: a file left behind is trusted by no one
            for key in item.files:
                with contextlib.suppress(OSError, CharterError):
                    lake.remove(key)
    return schemas.PurgeResult(
        charter=name,
        before=before.isoformat(),
        dry_run=dry_run,
        removed=[plan[k].to_schema() for k in KINDS if k in plan],
        ledger_seq=seq,
        facts={"now": now.isoformat()},
    )


def _plan(
    charter: Charter, before: datetime, now: datetime, kinds: tuple[str, ...]
) -> dict[str, _Kind]:
    policy = charter.operations.retention
    plan: dict[str, _Kind] = {}
    for kind in kinds:
        keep: timedelta | None = getattr(policy, kind)
        item = _Kind(kind, keep)
        if keep is None:
            item.kept_because = f"operations.retention.{kind} is not set: kept for ever"
        elif before > now - keep:
            earliest = (now - keep).date().isoformat()
            raise RetentionError(
                f"--before {before.date().isoformat()} is inside the retention period of "
                f"{kind}: operations.retention.{kind} is {format_duration(keep)}, so everything "
                f"received since {earliest} is kept",
                hint=f"Give --before {earliest} or earlier.",
            )
        plan[kind] = item
    if all(item.kept_because for item in plan.values()):
        raise RetentionError(
            f"operations.retention of {charter.name} keeps "
            + ("everything" if len(plan) == len(KINDS) else ", ".join(plan))
            + " for ever (the default): there is nothing a purge may remove",
            hint="Set operations.retention (predictions at least 183d) and have the owner "
            "accept the change.",
        )
    return plan


def _take(ws: Workspace, item: _Kind, batch: str, joined: str, when: datetime) -> None:
    paths = [p for p in joined.split("\n") if p]
    item.batches.add(batch)
    item.files += paths
    lake = lake_for(ws)
    item.rows += sum(lake.rows(p) for p in paths)
    item.times.append(when)


def _select(
    ws: Workspace, session: Session, name: str, before: datetime, plan: dict[str, _Kind]
) -> None:
    cut = {k: v for k, v in plan.items() if v.kept_because is None}
    for row in session.scalars(
        sa.select(IngestBatch)
        .where(IngestBatch.charter == name, IngestBatch.ingested_at < before)
        .order_by(IngestBatch.id)
    ):
        if "predictions" in cut and row.predictions_path:
            _take(ws, cut["predictions"], row.batch_id, row.predictions_path, row.ingested_at)
        if "quarantine" in cut and row.quarantine_path:
            _take(ws, cut["quarantine"], row.batch_id, row.quarantine_path, row.ingested_at)
    for label in session.scalars(
        sa.select(LabelBatch)
        .where(LabelBatch.charter == name, LabelBatch.received_at < before)
        .order_by(LabelBatch.id)
    ):
        if "labels" in cut and label.path:
            _take(ws, cut["labels"], label.batch_id, label.path, label.received_at)
        if "quarantine" in cut and label.quarantine_path:
            _take(ws, cut["quarantine"], label.batch_id, label.quarantine_path, label.received_at)


def _record(
    ws: Workspace,
    session: Session,
    name: str,
    before: datetime,
    plan: dict[str, _Kind],
    now: datetime,
) -> int:
    """Clear the purged paths and append the ledger entry, in one transaction."""
    cut = {k: v for k, v in plan.items() if v.kept_because is None}
    stamp = {"at": now.isoformat(), "before": before.isoformat()}
    ids = {k: v.batches for k, v in cut.items()}
    for row in session.scalars(
        sa.select(IngestBatch).where(
            IngestBatch.charter == name,
            IngestBatch.batch_id.in_(ids.get("predictions", set()) | ids.get("quarantine", set())),
        )
    ):
        gone = []
        if row.batch_id in ids.get("predictions", set()):
            row.predictions_path, row.predictions_sha256 = None, None
            gone.append("predictions")
        if row.batch_id in ids.get("quarantine", set()):
            row.quarantine_path, row.quarantine_sha256 = None, None
            gone.append("quarantine")
        row.details = {**(row.details or {}), "purged": {**stamp, "kinds": gone}}
    for label in session.scalars(
        sa.select(LabelBatch).where(
            LabelBatch.charter == name,
            LabelBatch.batch_id.in_(ids.get("labels", set()) | ids.get("quarantine", set())),
        )
    ):
        if label.batch_id in ids.get("labels", set()):
            label.path, label.sha256 = None, None
        if label.batch_id in ids.get("quarantine", set()):
            label.quarantine_path, label.quarantine_sha256 = None, None
    removed: dict[str, Any] = {k: v.to_schema().model_dump() for k, v in cut.items()}
    entry = ws.ledger.append(
        session,
        PURGED,
        {
            "before": before.isoformat(),
            "removed": removed,
            "kept": {k: v.kept_because for k, v in plan.items() if v.kept_because},
            "files": sorted(p for v in cut.values() for p in v.files),
        },
        actor=ws.context.who,
        charter=name,
    )
    return int(entry.seq)
