"""Retention (issue 15, point 8): ``operations.retention`` (at least six months for prediction logs,
default for ever) and ``charter purge``, which refuses inside the retention period and never
touches the ledger, removes what is older, and records it."""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import sqlalchemy as sa
from tests.lifecycle.test_lifecycle_support import NAME, Lab

from charter.context import Context
from charter.errors import RetentionError
from charter.plumbing.predictions import committed_files, read_predictions
from charter.plumbing.retention import purge
from charter.store.tables import AuditEntry, IngestBatch
from charter.workspace import Workspace

from .conftest import record


def with_retention(lab: Lab, text: str) -> None:
    """The lab's charter with ``operations.retention: TEXT`` (before any version is live, so it
    takes effect at once)."""
    lab.charter()
    path = lab.ws.charters_dir / f"{NAME}.yaml"
    body = path.read_text().replace(
        "  decision_deadline: 5d\n", f"  decision_deadline: 5d\n  retention: {text}\n"
    )
    path.write_text(body)


def later(ws: Workspace, days: int) -> Workspace:
    """The workspace ``days`` from now: purges judge the retention period by the context's clock."""
    moment = ws.context.clock() + timedelta(days=days)
    return ws.with_context(Context(ws.context.actor, ws.settings, clock=lambda: moment))


def test_check_refuses_a_prediction_retention_under_six_months_naming_field_and_line(
    lab: Lab, cli: Any
) -> None:
    with_retention(lab, "{predictions: 90d}")
    result = cli("check", NAME)
    assert result.code == 1
    lines = (lab.ws.charters_dir / f"{NAME}.yaml").read_text().splitlines()
    line = next(i for i, text in enumerate(lines, start=1) if "retention:" in text)
    assert (
        "operations.retention.predictions: 90d is shorter than the minimum of 6 months (183d) "
        f"for prediction logs (line {line})"
    ) in result.stdout + result.stderr
    with_retention(lab, "{predictions: 183d, quarantine: 30d}")
    assert cli("check", NAME).code == 0


def test_by_default_everything_is_kept_and_purge_refuses(lab: Lab, cli: Any) -> None:
    lab.model(status="live")
    lab.batch()
    result = cli("purge", NAME, "--before", "2000-01-01")
    assert result.code == 1
    assert "keeps everything for ever (the default)" in result.stderr
    assert committed_files(lab.ws, NAME)  # nothing went


def test_purge_refuses_inside_the_retention_period_and_the_ledger(lab: Lab, cli: Any) -> None:
    with_retention(lab, "{predictions: 200d}")
    lab.model(status="live")
    lab.batch()
    today = datetime.now().date()
    inside = cli("purge", NAME, "--before", today.isoformat())
    assert inside.code == 1
    assert f"--before {today.isoformat()} is inside the retention period of predictions" in (
        inside.stderr
    )
    assert "operations.retention.predictions is 200d" in inside.stderr
    ledger = cli("purge", NAME, "--before", "2000-01-01", "--only", "ledger")
    assert ledger.code == 1
    assert "the audit ledger is never purged" in ledger.stderr
    assert lab.entries("retention.purged") == []


def test_purge_removes_older_logs_records_it_and_keeps_the_rest(
    lab: Lab, ws: Workspace, cli: Any, tmp_path: Path
) -> None:
    with_retention(lab, "{predictions: 183d, quarantine: 183d}")
    lab.model(status="live")
    lab.batch()
    lab.batch()
    old_files = [ws.state_dir / key for key in committed_files(ws, NAME)]  # the default lake
    old_rows = sum(pl.read_parquet(p).height for p in old_files)
    entries_before = ws.ledger.verify().entries
    cut = ws.context.clock()
    future = later(ws, 400)

    dry = purge(future, NAME, cut, dry_run=True)

    predictions = next(k for k in dry.removed if k.kind == "predictions")
    assert (predictions.files, predictions.batches, predictions.rows) == (2, 2, old_rows)
    assert dry.ledger_seq is None and all(p.exists() for p in old_files)

    time.sleep(0.01)
    lab.batch()  # received after the cut: kept
    done = purge(future, NAME, cut)

    assert done.ledger_seq == entries_before + 2  # one entry for the third batch, then the purge
    assert not any(p.exists() for p in old_files)
    assert read_predictions(ws, NAME).collect().height == 10  # the third batch only
    (entry,) = lab.entries("retention.purged")
    assert entry["removed"]["predictions"]["rows"] == old_rows
    assert entry["removed"]["predictions"]["files"] == 2
    assert entry["kept"] == {"labels": "operations.retention.labels is not set: kept for ever"}
    assert sorted(entry["files"]) == sorted(str(p.relative_to(ws.state_dir)) for p in old_files)
    with ws.db.read() as session:
        rows = session.scalars(sa.select(IngestBatch).order_by(IngestBatch.id)).all()
        assert [r.predictions_path is None for r in rows] == [True, True, False]
        assert rows[0].details["purged"]["kinds"] == ["predictions"]
        assert session.scalar(sa.select(sa.func.count()).select_from(AuditEntry)) == done.ledger_seq
    assert ws.ledger.verify().ok

    # the pack states the retention and counts the purged files as purged, not missing
    result = cli("evidence", "pack", NAME, "-o", str(tmp_path / "p.zip"), "--json")
    assert result.code == 0, result.stderr
    coverage = record(tmp_path / "p.zip", "records/coverage.json")
    assert coverage["file_states"] == {"intact": 1, "purged": 2}
    assert "predictions: 183d" in coverage["retention"]["statement"]
    assert len(coverage["purges"]) == 1
    verified = cli("evidence", "verify", str(tmp_path / "p.zip"), "--json")
    assert verified.code == 0, verified.stdout


def test_purge_from_the_cli_reports_what_it_removed(lab: Lab, ws: Workspace, cli: Any) -> None:
    with_retention(lab, "{predictions: 183d}")
    lab.model(status="live")
    lab.batch()
    # the CLI's clock is the wall clock: nothing is old enough yet, so a date far back removes
    # nothing and records nothing
    result = cli("purge", NAME, "--before", "2001-01-01", "--json")
    assert result.code == 0, result.stderr
    body = json.loads(result.stdout)
    assert body["ledger_seq"] is None
    kinds = {k["kind"]: k for k in body["removed"]}
    assert kinds["predictions"]["files"] == 0
    assert kinds["quarantine"]["kept_because"] == (
        "operations.retention.quarantine is not set: kept for ever"
    )
    human = cli("purge", NAME, "--before", "2001-01-01", "--dry-run")
    assert "predictions (retention 183d): would remove 0 files of 0 batches, 0 rows" in human.stdout


def test_an_unknown_kind_is_refused(lab: Lab, ws: Workspace) -> None:
    with_retention(lab, "{predictions: 183d}")
    with pytest.raises(RetentionError, match="--only 'models' is not a log"):
        purge(ws, NAME, datetime(2001, 1, 1), kinds=("models",))
