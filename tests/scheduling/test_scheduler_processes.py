"""``charter run`` as real processes: SIGTERM, a step in flight, two schedulers, cron's ``--once``.

Each test runs the CLI with ``python -m charter.cli.main`` against the workspace's store (SQLite
and PostgreSQL); the environment set by the fixtures points every process at the same database.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import joblib
import numpy as np
import polars as pl
import pytest
from sklearn.linear_model import LogisticRegression

from charter.registry.versions import list_versions, register_version, set_status
from charter.workspace import Workspace

pytestmark = pytest.mark.slow
WEEK0 = datetime(2024, 2, 29, tzinfo=UTC)
SLOW_TRAINER = """\
import time
from pathlib import Path
from sklearn.linear_model import LogisticRegression

def fit(frame):
    Path(__file__).with_name("training-started").touch()
    time.sleep(4)
    return LogisticRegression().fit(frame.select("amount").to_pandas(), frame["outcome"])
"""


def charter(workspace: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "charter.cli.main", "-w", str(workspace), *args]


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


@pytest.fixture
def scheduler_process(workspace_dir: Path, tmp_path: Path) -> Iterator[Callable[..., Scheduled]]:
    started: list[subprocess.Popen[bytes]] = []

    def start(*args: str) -> Scheduled:
        log = tmp_path / f"scheduler-{len(started)}.log"
        with log.open("wb") as err:
            process = subprocess.Popen(
                charter(workspace_dir, "run", *args), stdout=subprocess.DEVNULL, stderr=err
            )
        started.append(process)
        return Scheduled(process, log)

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait()


class Scheduled:
    def __init__(self, process: subprocess.Popen[bytes], log: Path) -> None:
        self.process, self.log = process, log

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self, *signals: signal.Signals) -> int:
        for sig in signals:
            self.process.send_signal(sig)
            time.sleep(0.3)
        return self.process.wait(timeout=90)


def land_scaffold_rows(workspace_dir: Path) -> None:
    """A valid batch for the scaffold charter, so that its every step succeeds."""
    folder = workspace_dir / "landing" / "credit-default"
    folder.mkdir(parents=True, exist_ok=True)
    pl.DataFrame(
        {
            "id": [f"k{i}" for i in range(20)],
            "event_at": [WEEK0 + timedelta(hours=i) for i in range(20)],
            "amount": [float(i) for i in range(20)],
            "channel": ["web", "branch", "phone", "web"] * 5,
        }
    ).write_parquet(folder / "batch-1.parquet")


def once(workspace_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        charter(workspace_dir, "run", "--once", *args),
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def test_sigterm_stops_cleanly_and_a_second_scheduler_is_refused(
    workspace_dir: Path, scheduler_process: Callable[..., Scheduled]
) -> None:
    land_scaffold_rows(workspace_dir)
    first = scheduler_process("--interval", "1s")
    wait_for(lambda: "pass over 1 charter(s)" in first.text(), "the first pass")
    second = subprocess.run(
        charter(workspace_dir, "run"), capture_output=True, text=True, timeout=120, check=False
    )
    assert second.returncode == 1
    assert "another `charter run` is already running" in second.stderr
    assert str(first.process.pid) in second.stderr  # the holder is named
    assert first.process.poll() is None  # the refused one did not disturb the first
    assert first.stop(signal.SIGTERM) == 0
    log = first.text()
    assert "SIGTERM received" in log and "scheduler stopped" in log
    third = once(workspace_dir, "--json")  # the lock was released
    assert third.returncode == 0, third.stdout + third.stderr
    assert json.loads(third.stdout)["ok"] is True


def test_sigint_is_a_clean_stop_too(
    workspace_dir: Path, scheduler_process: Callable[..., Scheduled]
) -> None:
    land_scaffold_rows(workspace_dir)
    first = scheduler_process("--interval", "1s")
    wait_for(lambda: "pass over" in first.text(), "the first pass")
    assert first.stop(signal.SIGINT) == 0, first.text()
    assert once(workspace_dir).returncode == 0


@pytest.fixture
def slow_retraining(ws: Workspace, tmp_path: Path) -> Workspace:
    """A live version breaching its contract, and a training entrypoint that takes 4 seconds."""
    (ws.root / "slow_trainer.py").write_text(SLOW_TRAINER)
    path = ws.charters_dir / "credit-default.yaml"
    text = path.read_text().replace(
        "  rollback:",
        ("  retrain: {when: [sufficiency_breach], entrypoint: 'slow_trainer:fit'}\n  rollback:"),
    )
    text = text.replace("min_labels: 200", "min_labels: 50")
    text = text.replace("max_lateness: 2h", "max_lateness: 60d")
    path.write_text(text)
    x = pl.DataFrame({"amount": np.linspace(0, 100, 200)})
    model = LogisticRegression().fit(x.to_pandas(), (x["amount"] > 50).to_numpy())
    joblib.dump(model, tmp_path / "v1.joblib")
    info = register_version(ws, "credit-default", tmp_path / "v1.joblib")
    with ws.db.session() as session:
        set_status(ws, session, "credit-default", info.version, "live")
    rng = np.random.default_rng(1)
    frame = pl.DataFrame(
        {
            "id": [f"k{i}" for i in range(200)],
            "event_at": [WEEK0 + timedelta(minutes=30 * i) for i in range(200)],
            "amount": rng.uniform(0, 100, 200),
            "channel": ["web", "branch"] * 100,
        }
    )
    (ws.root / "landing" / "credit-default").mkdir(parents=True)
    frame.write_parquet(ws.root / "landing" / "credit-default" / "week0.parquet")
    labels = pl.DataFrame({"id": frame["id"], "outcome": (frame["amount"] < 50).cast(pl.Int64)})
    labels.write_parquet(tmp_path / "labels.parquet")
    from charter.plumbing.ingest import ingest
    from charter.plumbing.labels import ingest_labels

    ingest(ws, "credit-default")
    ingest_labels(ws, "credit-default", tmp_path / "labels.parquet")
    return ws


def test_sigterm_during_a_step_lets_it_finish(
    slow_retraining: Workspace, scheduler_process: Callable[..., Scheduled]
) -> None:
    ws = slow_retraining
    first = scheduler_process()
    wait_for((ws.root / "training-started").exists, "training to start")
    assert first.stop(signal.SIGTERM) == 0
    log = first.text()
    assert "stopping after the current step" in log
    assert "retrain ok" in log  # the step in flight finished ...
    assert "review" not in log.split("retrain ok")[1]  # ... and nothing after it started
    versions = [(v.version, v.status) for v in list_versions(ws, "credit-default")]
    assert versions == [(1, "live"), (2, "shadow")]
    assert ws.ledger.verify().ok
    assert once(ws.root).returncode == 0  # lock released; the window is not retrained again
    assert len(list_versions(ws, "credit-default")) == 2


def test_a_second_signal_abandons_the_step_safely(
    slow_retraining: Workspace, scheduler_process: Callable[..., Scheduled]
) -> None:
    ws = slow_retraining
    first = scheduler_process()
    wait_for((ws.root / "training-started").exists, "training to start")
    assert first.stop(signal.SIGTERM, signal.SIGTERM) == 0
    assert "retrain abandoned" in first.text()
    assert [v.version for v in list_versions(ws, "credit-default")] == [1]  # nothing half-done
    actions = [e.action for e in ws.ledger.entries(charter="credit-default")]
    assert "retrain.failed" not in actions and "retrain.completed" not in actions
    assert ws.ledger.verify().ok
    (ws.root / "training-started").unlink()
    done = once(ws.root, "--json")  # the next run does the abandoned work
    assert done.returncode == 0, done.stdout + done.stderr
    assert [v.version for v in list_versions(ws, "credit-default")] == [1, 2]


def test_once_exits_5_when_a_step_fails_and_still_runs_the_rest(workspace_dir: Path) -> None:
    # The scaffold's landing folder does not exist: ingestion fails, monitoring still runs.
    result = once(workspace_dir, "--json")
    assert result.returncode == 5  # the step ran and reported its failure: needs attention
    report = json.loads(result.stdout)
    statuses = {s["step"]: s["status"] for s in report["steps"]}
    assert statuses["ingest"] == "failed" and statuses["monitor"] == "ok"
    assert report["ok"] is False and report["failed"] == 1
