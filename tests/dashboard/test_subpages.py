"""A charter's sub-pages over HTTP: the audit trail, pipeline health, versions with lineage.

The workspace is the dashboard's (:mod:`tests.dashboard.conftest`): the scaffold charter with a
live version and a shadow version waiting for the owner. Expected numbers are counted here from
the ledger table, the landed files and the training file themselves, not from the page's code.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import sqlalchemy as sa
from tests.dashboard.conftest import Pending
from tests.dashboard.test_sessions_http import sign_in
from tests.server.conftest import NAME, OWNER

from charter.lifecycle.decisions import approve
from charter.plumbing.ingest import ingest
from charter.plumbing.pipeline_health import pipeline_health
from charter.registry.versions import register_version
from charter.store.tables import AuditEntry

AUDIT = f"/charters/{NAME}/audit"


def _cells(html: str, table: str) -> list[list[str]]:
    body = html.split(f'data-testid="{table}"', 1)[1].split("</table>", 1)[0]
    body = body.split("<tbody>", 1)[1]
    return [
        [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>.*?</td>", row, re.S)]
        for row in re.findall(r"<tr.*?</tr>", body, re.S)
    ]


def _seqs(html: str) -> list[int]:
    return [int(s) for s in re.findall(r'<tr data-seq="(\d+)"', html)]


def _ledger(pending: Pending) -> list[AuditEntry]:
    with pending.api.ws.db.read() as session:
        return list(
            session.scalars(
                sa.select(AuditEntry).where(AuditEntry.charter == NAME).order_by(AuditEntry.seq)
            )
        )


def _append(pending: Pending, count: int, action: str = "test.note", actor: str = OWNER) -> None:
    ws = pending.api.ws
    with ws.db.session() as session:
        for i in range(count):
            ws.ledger.append(session, action, {"n": i}, actor=actor, charter=NAME)
        ws.ledger.append(session, action, {"n": "elsewhere"}, actor=actor, charter="another")


# -- the audit trail ----------------------------------------------------------------------------
def test_the_trail_lists_this_charters_entries_newest_first_and_the_ledger_verifies(
    pending: Pending,
) -> None:
    client = sign_in(pending.api.client, pending.api.tokens["viewer"])
    entries = _ledger(pending)

    page = client.get(AUDIT)

    assert page.status_code == 200
    assert _seqs(page.text) == [e.seq for e in reversed(entries)][:50]
    assert f"{len(entries)} entries" in page.text
    verdict = re.search(r'data-testid="verify" data-ok="(yes|no)">([^<]*)<', page.text)
    assert verdict and verdict.group(1) == "yes" and "The ledger verifies" in verdict.group(2)
    promoted = next(e for e in entries if e.action == "decision.opened")
    row = _cells(page.text, "audit")[_seqs(page.text).index(promoted.seq)]
    assert row[2:4] == [promoted.actor, "decision.opened"]


def test_filters_by_action_actor_and_days(pending: Pending) -> None:
    _append(pending, 3, action="test.note", actor="auditor@bank.example")
    client = sign_in(pending.api.client, pending.api.tokens["viewer"])
    today = datetime.now(UTC).date()
    notes = [e.seq for e in reversed(_ledger(pending)) if e.action == "test.note"]

    by_action = client.get(AUDIT, params={"action": "test.note"})
    by_actor = client.get(AUDIT, params={"actor": "auditor@bank.example"})
    today_only = client.get(AUDIT, params={"since": str(today), "until": str(today)})
    tomorrow = client.get(AUDIT, params={"since": str(today + timedelta(days=1))})
    before = client.get(AUDIT, params={"until": str(today - timedelta(days=1))})

    assert _seqs(by_action.text) == notes and len(notes) == 3
    assert _seqs(by_actor.text) == notes
    assert len(_seqs(today_only.text)) == len(_ledger(pending))
    assert _seqs(tomorrow.text) == [] and "No entry matches." in tomorrow.text
    assert _seqs(before.text) == []
    assert '<option value="test.note" selected>' in by_action.text


def test_a_long_trail_is_paginated_without_losing_an_entry(pending: Pending) -> None:
    _append(pending, 60)
    client = sign_in(pending.api.client, pending.api.tokens["viewer"])
    everything = [e.seq for e in reversed(_ledger(pending))]

    first = client.get(AUDIT)
    second = client.get(AUDIT, params={"page": "2"})

    assert len(_seqs(first.text)) == 50
    assert _seqs(first.text) + _seqs(second.text) == everything
    assert 'href="?page=2" rel="next"' in first.text
    assert 'href="?page=1" rel="prev"' in second.text
    notes = [e.seq for e in reversed(_ledger(pending)) if e.action == "test.note"]
    filtered = client.get(AUDIT, params={"action": "test.note", "page": "2"})
    assert _seqs(filtered.text) == notes[50:] and len(notes) == 60
    assert "action=test.note&amp;page=1" in filtered.text  # the filter is kept across pages


def test_a_tampered_ledger_is_said_plainly(pending: Pending) -> None:
    victim = _ledger(pending)[0]
    with pending.api.ws.db.engine.begin() as connection:
        connection.execute(
            sa.update(AuditEntry)
            .where(AuditEntry.seq == victim.seq)
            .values(payload=json.dumps({"forged": True}))
        )
    client = sign_in(pending.api.client, pending.api.tokens["viewer"])

    page = client.get(AUDIT)

    verdict = re.search(r'data-testid="verify" data-ok="(yes|no)">([^<]*)<', page.text)
    assert verdict and verdict.group(1) == "no"
    assert "does NOT verify" in verdict.group(2) and f"entry {victim.seq}" in verdict.group(2)


def test_a_bad_filter_is_refused_naming_it(pending: Pending) -> None:
    client = sign_in(pending.api.client, pending.api.tokens["viewer"])

    bad_day = client.get(AUDIT, params={"since": "last week"})
    bad_page = client.get(AUDIT, params={"page": "0"})
    backwards = client.get(AUDIT, params={"since": "2026-06-02", "until": "2026-06-01"})

    assert bad_day.status_code == 400 and "since: &#39;last week&#39; is not a date" in bad_day.text
    assert bad_page.status_code == 400 and "is not a page number" in bad_page.text
    assert backwards.status_code == 400 and "is after until" in backwards.text
    assert client.get("/charters/nobody/audit").status_code == 404


# -- pipeline health ----------------------------------------------------------------------------
def _land(pending: Pending, name: str, frame: pl.DataFrame | bytes) -> None:
    folder = pending.api.ws.root / "landing" / NAME
    folder.mkdir(parents=True, exist_ok=True)
    if isinstance(frame, bytes):
        (folder / name).write_bytes(frame)
    else:
        frame.write_parquet(folder / name)


def _rows(n: int, start: int, day: str, **columns: Sequence[object]) -> pl.DataFrame:
    body: dict[str, Sequence[object]] = {
        "id": [f"r{start + i}" for i in range(n)],
        "event_at": [datetime.fromisoformat(f"{day}T08:00:00+00:00")] * n,
        "amount": [float(i) for i in range(n)],
        "channel": ["web"] * n,
    }
    body.update(columns)
    return pl.DataFrame(body)


def test_the_pipeline_page_shows_volume_quarantine_by_rule_failures_and_schema_changes(
    pending: Pending,
) -> None:
    amounts = [-1.0, -2.0, -3.0] + [1.0] * 7
    channels = ["fax", "fax"] + ["web"] * 8
    _land(pending, "a.parquet", _rows(10, 0, "2026-03-01", amount=amounts, channel=channels))
    _land(pending, "b.parquet", _rows(4, 100, "2026-03-02").with_columns(note=pl.lit("x")))
    _land(pending, "c.parquet", _rows(6, 200, "2026-01-01"))  # a month before the watermark
    _land(pending, "broken.parquet", b"this is not parquet")
    ingest(pending.api.ws, NAME)
    client = sign_in(pending.api.client, pending.api.tokens["viewer"])

    page = client.get(f"/charters/{NAME}/pipeline")

    assert page.status_code == 200
    rules = {r[0]: int(r[1]) for r in _cells(page.text, "quarantine-rules")}
    assert rules == {"amount.min": 3, "channel.allowed": 2}
    (today,) = [r for r in _cells(page.text, "volume") if r[1] != "0"]
    # day, batches, rows in, scored, quarantined, late: rows 0 and 1 broke both rules
    assert today[1:] == ["3", "20", "17", "3", "6"]
    (failed,) = _cells(page.text, "failed-files")
    assert failed[0] == "broken.parquet" and failed[1]
    (change,) = _cells(page.text, "schema-changes")
    assert change[1] == "b.parquet" and change[3] == "note"
    assert 'data-status="fresh"' in page.text
    assert page.text.count('role="img"') == 4  # per batch, per day, late, by rule


def test_freshness_is_judged_against_the_charters_cadence(pending: Pending) -> None:
    _land(pending, "a.parquet", _rows(3, 0, "2026-03-01"))
    ingest(pending.api.ws, NAME)
    charter = pending.api.ws.load(NAME).charter
    ingested = datetime.now(UTC)

    soon = pipeline_health(pending.api.ws, charter, now=ingested + timedelta(minutes=30))
    late = pipeline_health(pending.api.ws, charter, now=ingested + timedelta(hours=2))
    empty = pipeline_health(pending.api.ws, charter.model_copy(update={"name": "other"}))

    assert soon.freshness.rule == "operations.monitor.every"  # the scaffold sets no max_age
    assert (soon.freshness.status, late.freshness.status) == ("fresh", "stale")
    assert empty.freshness.status == "no data" and empty.days[-1].batches == 0


# -- versions with lineage ----------------------------------------------------------------------
def test_the_versions_page_shows_lineage_and_who_approved(pending: Pending, tmp_path: Path) -> None:
    ws = pending.api.ws
    approve(ws, NAME, pending.waiting, by=OWNER, accept_risk="the pilot's data only")
    data = tmp_path / "train.csv"
    data.write_text("amount,channel,outcome\n1,web,0\n2,branch,1\n3,phone,0\n")
    (ws.root / "retrained_model.py").write_text("def score(frame):\n    return frame['amount']\n")
    retrain = {
        "parent_version": pending.waiting,
        "window": {"start": "2026-03-05T00:00:00+00:00", "end": "2026-03-12T00:00:00+00:00"},
        "triggers": ["sufficiency_breach"],
        "rows": 3,
    }
    child = register_version(
        ws, NAME, "retrained_model:score", training_data=data, metadata={"retrain": retrain}
    )
    client = sign_in(pending.api.client, pending.api.tokens["viewer"])

    page = client.get(f"/charters/{NAME}/versions")

    assert page.status_code == 200
    section = page.text.split(f'data-version="{child.version}"', 1)[1].split("</section>", 1)[0]
    assert f">v{pending.waiting}</dd>" in section
    assert "2026-03-05 to 2026-03-12 (retrained on sufficiency_breach; 3 labelled rows)" in section
    assert hashlib.sha256(data.read_bytes()).hexdigest()[:16] in section and "3 rows" in section
    approved = page.text.split(f'data-version="{pending.waiting}"', 1)[1].split("</section>", 1)[0]
    decisions = re.search(r'data-testid="decisions">(.*?)</dd>', approved, re.S)
    assert decisions and f"approved by {OWNER}" in decisions.group(1)
    assert "risk accepted: “the pilot&#39;s data only”" in decisions.group(1)
    first = page.text.split(f'data-version="{pending.live}"', 1)[1].split("</section>", 1)[0]
    assert "none (registered by hand)" in first
