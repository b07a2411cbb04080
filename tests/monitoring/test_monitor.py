"""``monitor``: windows, verdicts, drift, idempotence and late labels, through the real plumbing.

Four live weeks are ingested in five files whose boundaries do not match the windows:

========  ===================================  =====================================
week      inputs                               labels
========  ===================================  =====================================
W0        as in the reference                  all, from the true outcome → pass
W1        as in the reference                  all, half replaced by coin flips → warn
W2        ``amount`` shifted by +40            all, coin flips → breach
W3        as in the reference                  only 50 (< min_labels 100) → insufficient
========  ===================================  =====================================

The contract is ``roc_auc at_least 0.65, warn_at 0.8``.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import joblib
import numpy as np
import polars as pl
import pytest
import sqlalchemy as sa

from charter.monitoring.service import latest_windows, monitor, stored_windows
from charter.store.tables import AuditEntry, MonitorBatchSummary, MonitorWindow

pytestmark = pytest.mark.postgres
ROWS = 1200
CUTS = (700, 1900, 2500, 3700)  # batch boundaries, in rows; none falls on a window boundary
WEEK0 = datetime(2024, 2, 29, tzinfo=UTC)


def weeks(kit: Any) -> list[pl.DataFrame]:
    frames = [kit.world(ROWS, 20 + i, start=WEEK0 + timedelta(days=7 * i)) for i in range(4)]
    frames[2] = frames[2].with_columns(pl.col("amount") + 40)
    return frames


def labels_for(kit: Any, frames: list[pl.DataFrame]) -> list[tuple[list[str], np.ndarray]]:
    rng = np.random.default_rng(5)
    out = []
    for i, frame in enumerate(frames):
        unshifted = frame.with_columns(pl.col("amount") - (40 if i == 2 else 0))
        truth = kit.true_outcome(unshifted, 20 + i)
        coin = rng.integers(0, 2, frame.height)
        if i == 1:
            truth = np.where(rng.uniform(size=frame.height) < 0.5, coin, truth)
        if i == 2:
            truth = coin
        keys = frame["id"].to_list()
        out.append((keys[:50], truth[:50]) if i == 3 else (keys, truth))
    return out


@pytest.fixture
def scenario(mkit: Any) -> Any:
    mkit.register("live")
    mkit.reference(1)
    frames = weeks(mkit)
    mkit.land_parts(pl.concat(frames), CUTS)
    for i, (keys, outcome) in enumerate(labels_for(mkit, frames)):
        mkit.labels(f"w{i}.parquet", keys, outcome)
    return mkit


def window_entries(kit: Any) -> list[dict[str, Any]]:
    with kit.ws.db.read() as session:
        payloads = session.scalars(
            sa.select(AuditEntry.payload)
            .where(AuditEntry.action == "window.evaluated")
            .order_by(AuditEntry.seq)
        ).all()
    return [json.loads(p) for p in payloads]


def test_windows_are_aligned_to_the_unix_epoch(scenario: Any) -> None:
    report = monitor(scenario.ws, scenario.name)

    starts = [w.start for w in report.windows]
    assert starts == [WEEK0 + timedelta(days=7 * i) for i in range(4)]
    assert all(w.end - w.start == timedelta(days=7) for w in report.windows)
    assert WEEK0.weekday() == 3  # a Thursday, like 1970-01-01
    assert [w.data["quality"]["rows"] for w in report.windows] == [ROWS] * 4

    daily = monitor(scenario.ws, scenario.name, window="1d", since="2024-03-01T13:00:00")
    assert daily.windows[0].start.isoformat() == "2024-03-01T00:00:00+00:00"
    assert len(daily.windows) == 27  # 2024-03-01 .. 2024-03-27
    on_feb_29 = weeks(scenario)[0].filter(pl.col("event_at").dt.day() == 29).height
    assert sum(w.data["quality"]["rows"] for w in daily.windows) == 4 * ROWS - on_feb_29


def test_verdicts_follow_the_labels_pass_warn_breach_insufficient(scenario: Any) -> None:
    report = monitor(scenario.ws, scenario.name)

    assert [w.verdict for w in report.windows] == [
        "pass",
        "warn",
        "breach",
        "insufficient_evidence",
    ]
    aucs = [w.data["rules"][0]["value"] for w in report.windows]
    assert aucs[0] >= 0.8 and 0.65 <= aucs[1] < 0.8 and aucs[2] < 0.65
    last = report.windows[3].data["rules"][0]
    assert last["labels"] == 50 and "fewer than min_labels 100" in last["reason"]
    assert isinstance(last["value"], float)  # still shown, though not judged
    estimate = last["estimate"]
    assert estimate["lower"] <= estimate["value"] <= estimate["upper"]
    assert estimate["status"] == "ok"
    labels = [w.data["labels"] for w in report.windows]
    assert labels[0] == {"rows": ROWS, "labelled": ROWS, "coverage": 1.0}
    assert labels[3]["labelled"] == 50
    realized = report.windows[0].data["metrics"]["realized"]
    assert set(realized) >= {"roc_auc", "pr_auc", "accuracy", "f1", "log_loss", "brier"}
    assert realized["roc_auc"] == aucs[0]


def test_drift_is_flagged_only_on_the_shifted_input(scenario: Any) -> None:
    report = monitor(scenario.ws, scenario.name)

    assert [w.data["drifted"] for w in report.windows] == [[], [], ["amount"], []]
    shifted = report.windows[2].data
    assert shifted["drift"]["amount"]["psi"]["status"] == "breach"
    assert shifted["drift"]["amount"]["psi"]["judged"] is True
    assert shifted["drift"]["amount"]["ks"]["judged"] is False
    assert set(shifted["drift"]["amount"]) == {"psi", "ks", "wasserstein", "jensen_shannon"}
    assert set(shifted["drift"]["channel"]) == {"psi", "jensen_shannon", "chi2"}
    for w in report.windows:
        for method in w.data["drift"]["channel"].values():
            assert method["status"] == "pass"
    assert shifted["score_drift"]["psi"]["status"] == "breach"
    assert "score drift" in shifted["flags"]
    assert report.windows[0].data["drift"]["amount"]["psi"]["value"] < 0.05


def test_a_rerun_is_idempotent_and_adds_no_ledger_entries(scenario: Any) -> None:
    first = monitor(scenario.ws, scenario.name)
    entries = window_entries(scenario)
    assert first.verdicts_changed == 4 and len(entries) == 4
    assert [e["verdict"] for e in entries] == [w.verdict for w in first.windows]
    assert all(e["previous"] is None for e in entries)
    with scenario.ws.db.read() as session:
        stamps = session.scalars(sa.select(MonitorWindow.evaluated_at)).all()
        parts = session.scalar(sa.select(sa.func.count()).select_from(MonitorBatchSummary))
    assert parts == 8  # five files, three of which span two windows (see CUTS)

    again = monitor(scenario.ws, scenario.name)

    assert again.verdicts_changed == 0
    assert len(window_entries(scenario)) == 4
    assert [w.to_dict() for w in again.windows] == [w.to_dict() for w in first.windows]
    with scenario.ws.db.read() as session:
        assert session.scalars(sa.select(MonitorWindow.evaluated_at)).all() == stamps
    stored = [w.to_dict() for w in stored_windows(scenario.ws, scenario.name)]
    # read back, each window also says which status its version had when it was judged
    assert [w.pop("status_at_evaluation") for w in stored] == ["live"] * 4
    assert stored == [w.to_dict() for w in first.windows]
    assert scenario.ws.ledger.verify().ok


def test_reading_the_latest_windows_gives_the_newest_of_each_version(mkit: Any) -> None:
    mkit.register("live")
    mkit.reference(1)
    challenger = joblib.load(mkit.model_file).set_params(clf__C=0.5)  # the same, other bytes
    joblib.dump(challenger, mkit.ws.root / "challenger.joblib")
    mkit.register("shadow", mkit.ws.root / "challenger.joblib")  # scored on the same weeks
    mkit.land_parts(pl.concat(weeks(mkit)), CUTS)
    monitor(mkit.ws, mkit.name)
    every = [w.to_dict() for w in stored_windows(mkit.ws, mkit.name)]
    assert [(w["version"], w["start"][:10]) for w in every] == [
        (v, f"{WEEK0 + timedelta(days=7 * i):%Y-%m-%d}") for i in range(4) for v in ("1", "2")
    ]

    def latest(n: int) -> list[dict[str, Any]]:
        return [w.to_dict() for w in stored_windows(mkit.ws, mkit.name, latest=n)]

    assert latest(2) == every[-4:]  # the last two weeks, of both versions, oldest first
    assert latest(1) == every[-2:]
    assert latest(10) == every
    assert latest(0) == []
    third = WEEK0 + timedelta(days=14)
    at = [w.to_dict() for w in stored_windows(mkit.ws, mkit.name, start=third)]
    assert at == every[4:6]  # that week, of both versions


def test_labels_arriving_later_update_the_window(scenario: Any) -> None:
    monitor(scenario.ws, scenario.name)
    frame = weeks(scenario)[3]
    late_keys = frame["id"].to_list()[50:400]
    scenario.labels("w3-late.parquet", late_keys, scenario.true_outcome(frame, 23)[50:400])

    report = monitor(scenario.ws, scenario.name)

    assert [w.verdict for w in report.windows] == ["pass", "warn", "breach", "pass"]
    assert report.verdicts_changed == 1
    assert report.windows[3].data["labels"]["labelled"] == 400
    entry = window_entries(scenario)[-1]
    assert (entry["verdict"], entry["previous"]) == ("pass", "insufficient_evidence")
    assert entry["start"] == "2024-03-21T00:00:00+00:00" and entry["labels"] == 400
    (latest,) = latest_windows(scenario.ws, scenario.name)
    assert latest.verdict == "pass" and latest.start == WEEK0 + timedelta(days=21)


def test_windows_evaluated_a_few_at_a_time_are_those_evaluated_at_once(
    scenario: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A log larger than ``ROWS_IN_MEMORY`` is monitored in parts of consecutive windows (each
    part re-reads only its windows' rows): the windows come out as they do in one part."""
    from charter.monitoring import service

    whole = [w.to_dict() for w in monitor(scenario.ws, scenario.name).windows]
    with scenario.ws.db.session() as session:  # forget every stored result and summary
        session.execute(sa.delete(MonitorWindow))
        session.execute(sa.delete(MonitorBatchSummary))
    seen: list[int] = []
    split = service._in_memory_parts

    def parts(needs: Any, sizes: Any) -> Any:
        found = split(needs, sizes)
        seen.append(len(found))
        return found

    monkeypatch.setattr(service, "ROWS_IN_MEMORY", ROWS // 2)  # every window its own part
    monkeypatch.setattr(service, "_in_memory_parts", parts)

    apart = [w.to_dict() for w in monitor(scenario.ws, scenario.name).windows]

    assert seen == [4]
    assert apart == whole
