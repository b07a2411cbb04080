"""The scheduler in-process: passes, failing steps, the review hook, cadence and the lock.

Real subprocesses (SIGTERM, two schedulers at once) are in ``test_scheduler_processes.py``.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import polars as pl
import pytest
from sklearn.linear_model import LogisticRegression

from charter.alerts.raising import list_alerts
from charter.errors import SchedulerLockError
from charter.registry.versions import list_versions, register_version, set_status
from charter.scheduling.locks import SchedulerLock
from charter.scheduling.scheduler import PassReport, Scheduler
from charter.workspace import Workspace

WEEK0 = datetime(2024, 2, 29, tzinfo=UTC)
CHARTER = """\
name: {name}
decision: "Approve or refer consumer loan applications"
owner: {{name: "Dana Ruiz", email: dana.ruiz@bank.example}}
sufficiency:
  window: 7d
  min_labels: 50
  metrics:
    - {{metric: roc_auc, at_least: 0.7}}
data:
  source: {{kind: parquet_dir, path: landing/{name}/}}
  key: id
  event_time: event_at
  freshness: {{max_lateness: 60d}}
  fields:
    id:       {{type: string, nullable: false, unique: true}}
    event_at: {{type: datetime, nullable: false}}
    amount:   {{type: float, min: 0}}
labels: {{source: {{kind: parquet_dir, path: labels/{name}/}}, key: id, target: outcome}}
operations:
  monitor: {{every: {every}, reference: training}}
  alerts: [{{route: log, on: [step_failed, retrain_failed]}}]
{retrain}"""


def write_charter(ws: Workspace, name: str, *, every: str = "1h", retrain: str = "") -> None:
    ws.charters_dir.mkdir(parents=True, exist_ok=True)
    text = CHARTER.format(name=name, every=every, retrain=retrain)
    (ws.charters_dir / f"{name}.yaml").write_text(text)


def land(ws: Workspace, name: str, n: int = 200, *, inverted: bool = False) -> None:
    """``n`` rows of week 0 in the landing folder and their labels in the label folder."""
    rng = np.random.default_rng(len(name))
    frame = pl.DataFrame(
        {
            "id": [f"{name}-{i}" for i in range(n)],
            "event_at": [WEEK0 + timedelta(minutes=30 * i) for i in range(n)],
            "amount": rng.uniform(0, 100, n),
        }
    )
    for folder in ("landing", "labels"):
        (ws.root / folder / name).mkdir(parents=True, exist_ok=True)
    frame.write_parquet(ws.root / "landing" / name / "week0.parquet")
    outcome = frame["amount"] < 50 if inverted else frame["amount"] > 50
    labels = pl.DataFrame({"id": frame["id"], "outcome": outcome.cast(pl.Int64)})
    labels.write_parquet(ws.root / "labels" / name / "week0.parquet")


def live_model(ws: Workspace, name: str, tmp: Path) -> None:
    x = pl.DataFrame({"amount": np.linspace(0, 100, 200)})
    model = LogisticRegression().fit(x.to_pandas(), (x["amount"] > 50).to_numpy())
    joblib.dump(model, tmp / f"{name}.joblib")
    info = register_version(ws, name, tmp / f"{name}.joblib")
    with ws.db.session() as session:
        set_status(ws, session, name, info.version, "live")


@pytest.fixture
def two(ws: Workspace) -> Workspace:
    """Two healthy charters, ``alpha`` and ``beta``, with a week of rows and labels each."""
    (ws.charters_dir / "credit-default.yaml").unlink()
    for name in ("alpha", "beta"):
        write_charter(ws, name)
        land(ws, name)
    return ws


def steps(report: dict[str, Any]) -> dict[tuple[str, str], str]:
    return {(s["charter"], s["step"]): s["status"] for s in report["steps"]}


def test_once_runs_every_step_of_every_charter(two: Workspace, cli: Any) -> None:
    result = cli("run", "--once", "--json")
    assert result.code == 0, result.stdout + result.stderr
    report = result.json()
    assert report["ok"] is True and report["charters"] == ["alpha", "beta"]
    for name in ("alpha", "beta"):
        assert steps(report)[(name, "ingest")] == "ok"
        assert steps(report)[(name, "labels")] == "ok"
        assert steps(report)[(name, "monitor")] == "ok"
        assert steps(report)[(name, "retrain")] == "skipped"  # no operations.retrain
    by_step = {(s["charter"], s["step"]): s["summary"] for s in report["steps"]}
    assert "200 rows in" in by_step[("alpha", "ingest")]
    assert "200 new labels" in by_step[("alpha", "labels")]
    again = cli("run", "--once", "--json").json()  # nothing new: still a clean pass
    assert again["ok"]
    ingested = [s["summary"] for s in again["steps"] if s["step"] == "ingest"]
    assert ingested and all(summary.startswith("0 batch(es)") for summary in ingested)


def test_once_survives_failing_steps_and_exits_5(two: Workspace, cli: Any) -> None:
    write_charter(two, "gamma")  # its landing folder was never created
    (two.root / "labels" / "gamma").mkdir(parents=True)
    (two.root / "labels" / "alpha" / "broken.parquet").write_bytes(b"PAR1 this is not parquet")
    result = cli("run", "--once", "--json")
    assert result.code == 5  # every failure is a file that failed: ran, but needs attention
    report = result.json()
    got = steps(report)
    assert got[("alpha", "labels")] == "failed"
    assert got[("alpha", "monitor")] == "ok"  # the next step still ran
    assert got[("gamma", "ingest")] == "failed"
    assert got[("gamma", "monitor")] == "ok"  # and the next charter's steps
    assert all(
        status == "ok"
        for (name, step), status in got.items()
        if name == "beta" and step in ("ingest", "labels", "monitor")
    )
    assert report["failed"] == 2
    alpha = list_alerts(two, "alpha")
    gamma = list_alerts(two, "gamma")
    assert [(a.event, a.rule) for a in alpha] == [("step_failed", "scheduler.labels")]
    assert [(a.event, a.rule) for a in gamma] == [("step_failed", "scheduler.ingest")]
    assert "broken.parquet" in alpha[0].message
    human = cli("run", "--once")  # the broken file is recorded and not re-read; the folder
    assert human.code == 5  # is still missing, and its alert is repeated, not raised again
    assert "pass finished: 18 steps, 1 failed" in human.stdout  # 6 steps x 3 charters
    assert "FAILED" in human.stdout and "does not exist" in human.stdout
    assert [a.count for a in list_alerts(two, "gamma")] == [2]


def test_an_invalid_charter_file_fails_its_load_step_only(two: Workspace, cli: Any) -> None:
    (two.charters_dir / "broken.yaml").write_text("name: broken\nowner: nobody\n")
    report = cli("run", "--once", "--json").json()
    assert steps(report)[("broken", "load")] == "failed"
    assert steps(report)[("alpha", "monitor")] == "ok"


def test_charter_option_limits_the_pass(two: Workspace, cli: Any) -> None:
    report = cli("run", "--once", "--charter", "beta", "--json").json()
    assert report["charters"] == ["beta"]
    unknown = cli("run", "--once", "--charter", "nope")
    assert unknown.code == 1 and "no charter named 'nope'" in unknown.stderr


def test_review_runs_each_pass_and_a_failing_review_is_alerted(
    two: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    from charter.services import lifecycle

    calls: list[str] = []
    real = lifecycle.review

    def review(ws: Workspace, name: str, *, now: datetime | None = None) -> Any:
        calls.append(name)
        if name == "beta":
            raise RuntimeError("decision table is locked")
        return real(ws, name, now=now)

    monkeypatch.setattr(lifecycle, "review", review)
    report = Scheduler(two).run_once()
    assert calls == ["alpha", "beta"]
    got = {(s.charter, s.step): s for s in report.steps}
    assert got[("alpha", "review")].status == "ok"
    assert got[("alpha", "review")].summary == "nothing to do"
    assert got[("alpha", "review")].details == {
        "charter": "alpha",
        "rolled_back": None,
        "promoted": None,
        "withdrawn": [],
        "alerts": [],
        "summary": "nothing to do",
    }
    assert got[("beta", "review")].status == "failed"
    assert "RuntimeError: decision table is locked" in got[("beta", "review")].summary
    assert [a.rule for a in list_alerts(two, "beta")] == ["scheduler.review"]


def test_a_breach_seen_by_the_pass_retrains_in_the_same_pass(ws: Workspace, tmp_path: Path) -> None:
    (ws.root / "trainer_sched.py").write_text(
        "from sklearn.linear_model import LogisticRegression\n"
        "def fit(frame):\n"
        "    return LogisticRegression().fit(frame.select('amount').to_pandas(), frame['outcome'])\n"
    )
    retrain = "  retrain: {when: [sufficiency_breach], entrypoint: 'trainer_sched:fit'}\n"
    write_charter(ws, "credit-default", retrain=retrain)
    live_model(ws, "credit-default", tmp_path)
    land(ws, "credit-default", inverted=True)
    report = Scheduler(ws).run_once()
    assert report.ok, [s.to_dict() for s in report.failed]
    step = next(s for s in report.steps if s.step == "retrain")
    assert step.summary.startswith("retrained: trained version 2")
    assert [(v.version, v.status) for v in list_versions(ws, "credit-default")] == [
        (1, "live"),
        (2, "shadow"),
    ]


def test_cadence_comes_from_the_charter_or_the_interval(two: Workspace) -> None:
    def passes(interval: timedelta | None, wanted: int, linger: float) -> list[PassReport]:
        """Run until ``wanted`` passes are seen (however slow the machine), then ``linger``."""
        stop, enough = threading.Event(), threading.Event()
        seen: list[PassReport] = []

        def record(report: PassReport) -> None:
            seen.append(report)
            if len(seen) >= wanted:
                enough.set()

        scheduler = Scheduler(two, charters=["alpha"], interval=interval, stop=stop)
        thread = threading.Thread(target=scheduler.run_forever, args=(record,))
        thread.start()
        assert enough.wait(timeout=300), f"{len(seen)} of {wanted} passes"
        time.sleep(linger)
        stop.set()
        thread.join(timeout=60)
        assert not thread.is_alive()
        return seen

    # alpha is due every hour: after its first pass, nothing for as long as we wait
    assert len(passes(None, 1, linger=1.5)) == 1
    # every 0.3 s: passes keep coming, each starting at least 0.3 s after the one before
    quick = passes(timedelta(seconds=0.3), 3, linger=0.0)
    starts = [p.started_at for p in quick]
    assert all(b - a >= timedelta(seconds=0.3) for a, b in pairwise(starts))


def test_a_second_scheduler_on_the_same_store_is_refused(ws: Workspace, cli: Any) -> None:
    with SchedulerLock(ws):
        with pytest.raises(SchedulerLockError) as refused:
            SchedulerLock(ws).acquire()
        assert "already running" in refused.value.message
        assert str(os.getpid()) in refused.value.message
        assert socket.gethostname()[:20] in refused.value.message
        result = cli("run", "--once")
        assert result.code == 1 and "another `charter run` is already running" in result.stderr
    with SchedulerLock(ws) as again:  # released: the next one gets it
        again.check()
