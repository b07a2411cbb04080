"""A failing model version never stops the live one (issue 9, point 1).

The models are entrypoints registered through the real registry; the failures are the ones seen in
production: a shadow model reading a column the data lacks, a live model that cannot take ``inf``
or a null, an artifact that cannot be loaded.
"""

from __future__ import annotations

import uuid
from typing import Any

import numpy as np
import polars as pl
import pytest
import sqlalchemy as sa

from charter.alerts.raising import list_alerts
from charter.plumbing.ingest import ingest
from charter.plumbing.isolation import score_isolating
from charter.registry.versions import register_version, set_status
from charter.store.tables import ModelVersion, ScoringFailure

pytestmark = pytest.mark.postgres


def register(kit: Any, body: str, status: str | None) -> int:
    """Register ``def score(frame): <body>`` (polars frame of the inputs) with ``status``."""
    module = f"iso_model_{uuid.uuid4().hex[:10]}"
    (kit.ws.root / f"{module}.py").write_text(
        f"def score(frame):\n    {body.replace(chr(10), chr(10) + '    ')}\n"
    )
    info = register_version(kit.ws, kit.name, f"{module}:score")
    if status is not None:
        with kit.ws.db.session() as session:
            set_status(kit.ws, session, kit.name, info.version, status)
    return info.version


def failures(kit: Any) -> list[tuple[str, str, str, int, str]]:
    with kit.ws.db.read() as session:
        rows = session.scalars(sa.select(ScoringFailure).order_by(ScoringFailure.id)).all()
        return [(r.version, r.status, r.file, r.rows, r.error) for r in rows]


def test_a_shadow_reading_a_missing_column_fails_alone(kit: Any) -> None:
    register(kit, "return frame['amount'] / 100", "live")
    register(kit, "return frame['income'] / 100", "shadow")  # the data has no income
    kit.write("a.parquet", kit.rows(0, 5))
    kit.write("b.parquet", kit.rows(5, 3))

    report = ingest(kit.ws, kit.name).to_dict()

    assert [b["file"] for b in report["batches"]] == ["a.parquet", "b.parquet"]
    assert report["files_skipped"] == [] and report["files_failed"] == []
    assert [b["rows_quarantined"] for b in report["batches"]] == [0, 0]
    log = kit.predictions()
    assert log["model_version"].unique().to_list() == ["1"]  # the live scores are all logged
    assert sorted(log["score"].to_list()) == sorted(float(i % 97) / 100 for i in range(8))
    found = failures(kit)
    assert [f[:4] for f in found] == [
        ("2", "shadow", "a.parquet", 5),
        ("2", "shadow", "b.parquet", 3),
    ]
    assert all("income" in f[4] for f in found)
    (alert,) = list_alerts(kit.ws, kit.name)
    assert alert.event == "version_failed" and alert.severity == "warning"
    assert "version 2" in alert.message and "a.parquet" in alert.message
    assert alert.count == 2  # the second batch repeats the alert, it does not page again


def test_a_live_version_quarantines_exactly_the_rows_it_cannot_take(kit: Any) -> None:
    register(
        kit,
        "import numpy as np\n"
        "if frame['amount'].is_infinite().any() or frame['channel'].null_count():\n"
        "    raise ValueError('Input contains infinity or a null')\n"
        "return np.asarray(frame['amount']) / 1000",
        "live",
    )
    register(kit, "return frame['amount'] * 0 + 0.5", "shadow")
    frame = kit.rows(0, 400)
    bad = {17: "inf", 203: "null", 204: "inf", 399: "null"}
    frame = frame.with_columns(
        amount=pl.Series(
            [float("inf") if bad.get(i) == "inf" else a for i, a in enumerate(frame["amount"])]
        ),
        channel=pl.Series(
            [None if bad.get(i) == "null" else c for i, c in enumerate(frame["channel"])]
        ),
    )
    kit.write("a.parquet", frame)

    (batch,) = ingest(kit.ws, kit.name).to_dict()["batches"]

    assert (batch["rows_in"], batch["rows_scored"], batch["rows_quarantined"]) == (400, 396, 4)
    quarantined = kit.quarantine()
    assert sorted(quarantined["id"].to_list()) == sorted(f"k{i}" for i in bad)
    rules = {r for rs in quarantined["_violations"].to_list() for r in rs}
    assert rules == {"model_error: version 1: " + batch["scoring_failures"][0]["error"]}
    assert "Input contains infinity or a null" in batch["scoring_failures"][0]["error"]
    log = kit.predictions()
    live = log.filter(pl.col("model_version") == "1")
    assert live.height == 396 and set(live["key"]) == {f"k{i}" for i in range(400)} - {
        f"k{i}" for i in bad
    }
    assert log.filter(pl.col("model_version") == "2").height == 396
    assert failures(kit) == [("1", "live", "a.parquet", 4, batch["scoring_failures"][0]["error"])]
    (alert,) = list_alerts(kit.ws, kit.name)
    assert (alert.event, alert.severity) == ("version_failed", "critical")


def test_a_shadow_failing_on_some_rows_logs_its_scores_for_the_others(kit: Any) -> None:
    register(kit, "return frame['amount'] / 100", "live")
    register(
        kit,
        "if (frame['amount'] == 13).any():\n    raise ValueError('thirteen')\n"
        "return frame['amount'] / 10",
        "shadow",
    )
    kit.write("a.parquet", kit.rows(0, 300))  # amount = i % 97: 13 at rows 13, 110, 207

    (batch,) = ingest(kit.ws, kit.name).to_dict()["batches"]

    assert batch["rows_quarantined"] == 0
    log = kit.predictions()
    shadow = log.filter(pl.col("model_version") == "2")
    assert set(log.filter(pl.col("model_version") == "1")["key"]) == {f"k{i}" for i in range(300)}
    assert set(shadow["key"]) == {f"k{i}" for i in range(300)} - {"k13", "k110", "k207"}
    assert batch["scoring_failures"] == [
        {
            "version": "2",
            "status": "shadow",
            "rows": 3,
            "error": batch["scoring_failures"][0]["error"],
        }
    ]


def test_a_shadow_whose_artifact_cannot_load_fails_alone(kit: Any) -> None:
    register(kit, "return frame['amount'] / 100", "live")
    shadow = register(kit, "return frame['amount']", "shadow")
    with kit.ws.db.session() as session:  # the artifact went missing from the store
        row = session.scalar(sa.select(ModelVersion).where(ModelVersion.version == shadow))
        row.sha256 = "0" * 64
    kit.write("a.parquet", kit.rows(0, 4))

    (batch,) = ingest(kit.ws, kit.name).to_dict()["batches"]

    assert batch["rows_scored"] == 4
    assert kit.predictions()["model_version"].unique().to_list() == ["1"]
    ((version, status, _, rows, error),) = failures(kit)
    assert (version, status, rows) == ("2", "shadow", 4)
    assert error.startswith("cannot load the model")


def test_rows_no_version_could_score_are_still_logged(kit: Any) -> None:
    register(kit, "raise RuntimeError('broken')", "shadow")  # the only version
    kit.write("a.parquet", kit.rows(0, 3))

    (batch,) = ingest(kit.ws, kit.name).to_dict()["batches"]

    assert (batch["rows_scored"], batch["rows_quarantined"]) == (3, 0)
    log = kit.predictions()
    assert log.height == 3 and log["model_version"].null_count() == 3


def test_alert_routes_accept_the_version_failed_event(kit: Any) -> None:
    kit.edit(
        r"    - \{route: log, on: \[breach, drift_breach, stalled_decision\]\}",
        "    - {route: log, on: [breach, version_failed]}",
    )
    register(kit, "return frame['missing']", "shadow")
    kit.write("a.parquet", kit.rows(0, 2))
    ingest(kit.ws, kit.name)
    (alert,) = list_alerts(kit.ws, kit.name)
    assert [d.route for d in alert.deliveries] == ["log"]


def test_status_and_readiness_show_the_failed_version(kit: Any, cli: Any) -> None:
    register(kit, "return frame['amount'] / 100", "live")
    shadow = register(kit, "return frame['income']", "shadow")
    kit.write("a.parquet", kit.rows(0, 4))
    kit.write("b.parquet", kit.rows(4, 2))
    ingest(kit.ws, kit.name)

    status = cli("status", kit.name, "--json")
    readiness = cli("readiness", kit.name, str(shadow), "--json")

    assert status.code == 0, status.stderr
    (entry,) = status.json()["scoring_failures"]
    assert (entry["version"], entry["batches"], entry["rows"]) == ("2", 2, 6)
    assert entry["last"]["file"] == "b.parquet" and "income" in entry["last"]["error"]
    (note,) = readiness.json()["notes"]
    assert note.startswith("version 2 failed to score 6 row(s) in 2 batch(es); latest: b.parquet")
    assert "FAILED version 2 failed to score 6 row(s)" in cli("status", kit.name).stdout
    assert "note: version 2 failed" in cli("readiness", kit.name, str(shadow)).stdout
    live = cli("readiness", kit.name, "1", "--json").json()
    assert live["notes"] == []


def _predict_failing_on(bad: set[int], calls: list[int]) -> Any:
    def predict(part: pl.DataFrame) -> Any:
        calls.append(part.height)
        if set(part["n"].to_list()) & bad:
            raise ValueError("cannot take it")
        return part["n"].to_numpy() / 10

    return predict


def test_bisection_finds_exactly_the_failing_rows_and_scores_the_rest() -> None:
    frame = pl.DataFrame({"n": list(range(1000))})
    bad = {0, 1, 517, 998}
    calls: list[int] = []

    found = score_isolating("3", "live", _predict_failing_on(bad, calls), frame)

    assert set(np.flatnonzero(found.failed).tolist()) == bad
    assert set(found.errors) == bad and found.first_error() == "ValueError: cannot take it"
    good = ~found.failed
    assert np.allclose(found.values[good], frame["n"].to_numpy()[good] / 10)
    assert len(calls) < 100  # far fewer calls than rows


def test_a_version_failing_everywhere_is_not_bisected_row_by_row() -> None:
    frame = pl.DataFrame({"n": list(range(10_000))})
    calls: list[int] = []

    found = score_isolating("3", "shadow", _predict_failing_on(set(range(10_000)), calls), frame)

    assert found.failures == 10_000
    assert len(calls) == 4  # the chunk, then three single rows
    budget: list[int] = []
    every_other = score_isolating(
        "3", "shadow", _predict_failing_on(set(range(0, 10_000, 2)), budget), frame, budget=64
    )
    assert len(budget) <= 66 and every_other.failures >= 5_000  # the budget holds
