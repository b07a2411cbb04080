"""Automatic rollback: the live version breaches where the standby passed, so charter rolls back.

Most tests store window results the way monitoring does; the last one runs the real path end to
end: ingestion scoring both versions, late labels, the monitor, the owner's approval, and the
review pass that rolls the approved version back when its late labels show it breaching.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import numpy as np
import polars as pl
import pytest

from charter.alerts.raising import list_alerts
from charter.lifecycle.transitions import automatic_rollback
from charter.monitoring.service import monitor
from charter.plumbing.ingest import ingest
from charter.plumbing.labels import ingest_labels
from charter.services.lifecycle import review
from charter.workspace import Workspace

from .test_lifecycle_support import NAME, OWNER, WEEK0, Lab

pytestmark = pytest.mark.postgres


@pytest.fixture
def lab(ws: Workspace) -> Iterator[Lab]:
    made = Lab(ws)
    made.charter()
    yield made
    assert ws.ledger.verify().ok


def live_and_standby(lab: Lab) -> tuple[int, int]:
    standby = lab.model(status="live")
    live = lab.model("frame['amount'] / 90", status="shadow")
    lab.force(standby, "standby")
    lab.force(live, "live")
    return live, standby


def test_two_breached_windows_where_the_standby_passed_roll_back_and_alert(lab: Lab) -> None:
    live, standby = live_and_standby(lab)
    for week in (0, 1, 2):
        lab.window(standby, week, "pass")
    lab.window(live, 0, "pass")
    lab.window(live, 1, "breach")
    lab.window(live, 2, "breach")
    lab.window(live, 3, "insufficient_evidence")  # labels still on their way: no verdict

    report = review(lab.ws, NAME)

    assert report.rolled_back is not None
    assert lab.statuses() == {standby: "live", live: "rolled_back"}
    (entry,) = lab.entries("version.rolled_back")
    assert entry["automatic"] is True
    assert entry["reason"] == (
        f"automatic: version {live} breached the sufficiency contract on 2 consecutive windows "
        f"where standby version {standby} passed"
    )
    assert [(e["live"], e["standby"]) for e in entry["evidence"]] == [("breach", "pass")] * 2
    assert entry["evidence"][0]["start"] == (WEEK0 + timedelta(days=7)).isoformat()
    (alert,) = list_alerts(lab.ws, NAME)
    assert (alert.event, alert.severity, alert.rule) == (
        "rollback",
        "critical",
        "rollback.automatic",
    )
    assert review(lab.ws, NAME).rolled_back is None  # done once; nothing left to roll back


@pytest.mark.parametrize(
    ("live_weeks", "standby_weeks", "why"),
    [
        ({1: "pass", 2: "breach"}, {1: "pass", 2: "pass"}, "only one breach"),
        ({1: "breach", 2: "breach"}, {1: "pass"}, "standby not judged on week 2"),
        ({1: "breach", 2: "breach"}, {1: "pass", 2: "breach"}, "standby breached too"),
        ({0: "breach", 2: "breach"}, {0: "pass", 2: "pass"}, "not consecutive"),
        ({1: "breach", 2: "breach", 3: "pass"}, {1: "pass", 2: "pass"}, "recovered since"),
    ],
)
def test_no_rollback_without_the_full_evidence(
    lab: Lab, live_weeks: dict[int, str], standby_weeks: dict[int, str], why: str
) -> None:
    live, standby = live_and_standby(lab)
    for week, verdict in live_weeks.items():
        lab.window(live, week, verdict)
    for week, verdict in standby_weeks.items():
        lab.window(standby, week, verdict)

    assert automatic_rollback(lab.ws, NAME) is None, why
    assert lab.statuses() == {standby: "standby", live: "live"}


def test_no_automatic_rollback_when_the_charter_does_not_allow_it(lab: Lab) -> None:
    lab.charter(automatic="false")
    live, standby = live_and_standby(lab)
    for week in (1, 2):
        lab.window(live, week, "breach")
        lab.window(standby, week, "pass")

    assert review(lab.ws, NAME).rolled_back is None
    assert lab.live() == [live]


# -- the real path ------------------------------------------------------------------------------
CHALLENGER = (
    "__import__('numpy').where(frame['amount'] < 100, frame['amount'] / 100, "
    "(200 - frame['amount']) / 100)"
)


def weeks(first: int, count: int, *, rows: int = 60) -> pl.DataFrame:
    """Rows over ``count`` weeks; from week 2 on, amounts move to [100, 200)."""
    frames = []
    rng = np.random.default_rng(first)
    for week in range(first, first + count):
        low = 0.0 if week < 2 else 100.0
        frames.append(
            pl.DataFrame(
                {
                    "id": [f"w{week}-{i}" for i in range(rows)],
                    "event_at": [
                        WEEK0 + timedelta(days=7 * week, hours=2 * i) for i in range(rows)
                    ],
                    "amount": rng.uniform(low, low + 100, rows),
                }
            )
        )
    return pl.concat(frames)


def land(lab: Lab, file: str, frame: pl.DataFrame) -> None:
    folder = lab.ws.root / "landing" / NAME
    folder.mkdir(parents=True, exist_ok=True)
    frame.write_parquet(folder / file)
    assert not ingest(lab.ws, NAME).files_failed


def labels(lab: Lab, file: str, frame: pl.DataFrame) -> None:
    """The truth: a case is positive when its amount is in the upper half of its week's range."""
    outcome = ((frame["amount"] % 100) > 50).cast(pl.Int64)
    path = lab.ws.root / "labels" / file
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.select("id").with_columns(outcome=outcome).write_parquet(path)
    ingest_labels(lab.ws, NAME, path)


@pytest.mark.slow
def test_an_approved_version_whose_late_labels_breach_is_rolled_back(lab: Lab, cli: Any) -> None:
    incumbent = lab.model("frame['amount'] / 200", status="live")
    challenger = lab.model(CHALLENGER, status="shadow")
    early, late = weeks(0, 2), weeks(2, 2)
    land(lab, "week-0.parquet", early.slice(0, 60))
    land(lab, "week-1.parquet", early.slice(60, 60))
    land(lab, "week-2-3.parquet", late)
    labels(lab, "early.parquet", early)
    monitor(lab.ws, NAME)
    lab.routes_tested()

    ready = cli("readiness", NAME, str(challenger), "--json").json()
    assert ready["ready"], ready
    assert cli("approve", NAME, str(challenger), "--as", OWNER).code == 0
    assert lab.statuses() == {incumbent: "standby", challenger: "live"}
    assert review(lab.ws, NAME).rolled_back is None

    labels(lab, "late.parquet", late)  # the late truth: the challenger fails on new amounts
    monitor(lab.ws, NAME)
    report = review(lab.ws, NAME)

    assert report.rolled_back is not None
    assert (report.rolled_back.rolled_back, report.rolled_back.restored) == (
        challenger,
        incumbent,
    )
    assert lab.statuses() == {incumbent: "live", challenger: "rolled_back"}
    assert [a.event for a in list_alerts(lab.ws, NAME)] == ["rollback"]
