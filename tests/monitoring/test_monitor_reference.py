"""References: from a file given for a version, or from a past window of the log; and segments."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import polars as pl
import pytest
import sqlalchemy as sa

from charter.errors import DataError, VersionNotFoundError
from charter.monitoring.reference import set_reference
from charter.monitoring.service import monitor
from charter.store.tables import AuditEntry, MonitorReference

pytestmark = pytest.mark.postgres
PERIOD = "2024-02-29/2024-03-07"


def two_weeks(kit: Any) -> list[pl.DataFrame]:
    w0 = kit.world(800, 70)
    w1 = kit.world(800, 71, start=kit.week0 + timedelta(days=7)).with_columns(
        pl.col("amount") * 0.3
    )
    kit.land("rows.parquet", pl.concat([w0, w1]))
    kit.labels("w0.parquet", w0["id"].to_list(), kit.true_outcome(w0, 70))
    return [w0, w1]


def test_a_past_window_is_summarised_once_as_the_reference(mkit: Any) -> None:
    mkit.write_charter(reference=PERIOD)
    mkit.register("live")
    two_weeks(mkit)

    first = monitor(mkit.ws, mkit.name).windows
    again = monitor(mkit.ws, mkit.name).windows

    assert [w.to_dict() for w in again] == [w.to_dict() for w in first]
    w0, w1 = (w.data for w in first)
    assert w0["reference"]["origin"] == "window:2024-02-29T00:00:00+00:00/2024-03-07T00:00:00+00:00"
    assert w0["reference"]["rows"] == 800 and w0["reference"]["labelled"] == 800
    assert w0["reference"]["cbpe"] == "fitted"
    assert w0["drift"]["amount"]["psi"]["value"] == 0.0  # the window against itself
    assert w0["drift"]["amount"]["ks"]["value"] == 0.0
    assert w1["drifted"] == ["amount"]
    assert isinstance(w1["metrics"]["estimated"]["roc_auc"]["value"], float)
    with mkit.ws.db.read() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(MonitorReference)) == 1
        actions = session.scalars(sa.select(AuditEntry.action).order_by(AuditEntry.seq)).all()
    assert actions.count("reference.set") == 1


def test_rows_no_model_scored_are_monitored_for_quality_and_input_drift(mkit: Any) -> None:
    mkit.write_charter(reference=PERIOD)
    two_weeks(mkit)  # no version registered: the rows are logged unscored

    w0, w1 = (w.data for w in monitor(mkit.ws, mkit.name).windows)

    assert (w0["version"], w0["status"]) == ("unscored", "unscored")
    assert w0["verdict"] == "insufficient_evidence"
    assert w0["metrics"]["realized"]["roc_auc"] == {
        "not_computable": "no model version scored these rows"
    }
    assert w1["drifted"] == ["amount"] and w1["quality"]["rows"] == 800
    assert w0["score_drift"]["psi"]["status"] == "not_computable"


def test_a_reference_file_without_labels_gives_drift_but_no_estimates(mkit: Any) -> None:
    mkit.register("live")
    path = mkit.ws.root / "unlabelled.csv"
    mkit.world(500, 72).drop("event_at").write_csv(path)
    reference = set_reference(mkit.ws, mkit.name, 1, path)
    assert reference.labelled == 0 and reference.rows == 500
    mkit.land("rows.parquet", mkit.world(300, 73))

    (week,) = monitor(mkit.ws, mkit.name).windows

    assert week.data["reference"]["cbpe"] == "the reference has no labels"
    assert week.data["metrics"]["estimated"]["recall"] == {
        "not_computable": "the reference has no labels"
    }
    assert isinstance(week.data["drift"]["amount"]["psi"]["value"], float)


def test_reference_files_are_checked_before_anything_is_stored(mkit: Any) -> None:
    mkit.register("live")
    bad = mkit.ws.root / "bad.parquet"
    mkit.world(10, 74).drop("channel").write_parquet(bad)
    with pytest.raises(DataError, match="lacks the model input\\(s\\) 'channel'"):
        set_reference(mkit.ws, mkit.name, 1, bad)
    with pytest.raises(DataError, match="does not exist"):
        set_reference(mkit.ws, mkit.name, 1, mkit.ws.root / "nowhere.parquet")
    with pytest.raises(VersionNotFoundError):
        set_reference(mkit.ws, mkit.name, 7, bad)
    with mkit.ws.db.read() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(MonitorReference)) == 0


SEGMENT_RULES = """\
    - {metric: roc_auc, at_least: 0.6}
    - {metric: recall, at_least: 0.5, segment: "channel == 'web'"}
    - {metric: recall, at_least: 0.5, segment: "channel == 'fax'"}"""


def test_segment_rules_count_and_judge_only_their_rows(mkit: Any) -> None:
    mkit.write_charter(rules=SEGMENT_RULES, min_labels=50)
    mkit.register("live")
    mkit.reference(1)
    frame = mkit.world(900, 75)
    mkit.land("rows.parquet", frame)
    mkit.labels("all.parquet", frame["id"].to_list(), mkit.true_outcome(frame, 75))

    (week,) = monitor(mkit.ws, mkit.name).windows
    overall, web, fax = week.data["rules"]

    assert overall["labels"] == 900 and overall["status"] == "pass"
    assert web["labels"] == frame.filter(pl.col("channel") == "web").height
    assert web["status"] == "pass" and web["value"] >= 0.5
    assert fax["labels"] == 0 and fax["status"] == "insufficient_evidence"
    assert week.verdict == "insufficient_evidence"  # one rule cannot be judged
    # (a segment on a column the contract lacks is refused by `charter check`: tests/spec)
    json.dumps(week.to_dict(), allow_nan=False)


def test_status_reads_on_an_80_column_terminal(mkit: Any, cli: Any) -> None:
    from charter.cli.output import console

    assert console.width < 110  # the tests' console is not a terminal: rich gives it 80 columns
    mkit.write_charter(rules=SEGMENT_RULES, min_labels=50)
    mkit.register("live")
    mkit.reference(1)
    frame = mkit.world(900, 75)
    mkit.land("rows.parquet", frame)
    mkit.labels("all.parquet", frame["id"].to_list(), mkit.true_outcome(frame, 75))
    assert cli("monitor", mkit.name).code == 0
    status = cli("status", mkit.name)
    lines = status.stdout.splitlines()
    rows = [line for line in lines if line.startswith(("1 live", "    "))]
    assert len(rows) == 4 and all(len(line) <= 80 for line in rows), status.stdout
    # each rule whole on its own line, under its window's line of facts
    assert any(line.startswith("    recall [channel == 'web'] ") for line in lines)
    assert any(line.startswith("1 live  ") and "labels 900/900" in line for line in lines)
