"""Two runs at once, as real processes, race exactly where the batch-commit protocol must hold.

Every test starts real ``charter`` processes on a real SQLite file and on the real PostgreSQL
(the ``ws`` fixture runs each test on both). ``CHARTER_TEST_BARRIER`` makes a process stop at a
named point of the protocol until enough processes (or the test) have arrived there, so the
race happens where the test means it to, every time:

- *one workspace*: the first run stops with its files written and nothing committed, holding
  the run lock; the second then finds the lock taken. With ``--wait`` it waits, and finds
  nothing new; without, it refuses at once (exit 1) and records nothing.
- *two workspace folders on one store* (they do not share a lock file): both runs write their
  files and meet at the barrier, then race for the commit transaction. The re-check under the
  writer lock lets exactly one record the batch; the other reports the source as already done.

Neither run ever shows an ``IntegrityError``, SQL or a traceback, and nothing is lost or
doubled (the ledger verifies too).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import sqlalchemy as sa

from charter.plumbing.batch_commit import BARRIER_ENV
from charter.plumbing.ingest import ingest
from charter.plumbing.labels import read_labels
from charter.plumbing.quarantine import outstanding
from charter.store.tables import IngestBatch, LabelBatch

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

NAME = "credit-default"
RAW = ("IntegrityError", "[SQL:", "parameters", "Traceback", "unexpected error")


def command(workspace: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "charter.cli.main", "-w", str(workspace), *args]


def run(workspace: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command(workspace, *args), capture_output=True, text=True, timeout=240)


def start(workspace: Path, *args: str, barrier: str | None = None) -> subprocess.Popen[str]:
    env = dict(os.environ)
    env.pop(BARRIER_ENV, None)
    env.pop("CHARTER_TEST_CRASH_AT", None)
    if barrier is not None:
        env[BARRIER_ENV] = barrier
    return subprocess.Popen(
        command(workspace, *args),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(process: subprocess.Popen[str]) -> subprocess.CompletedProcess[str]:
    out, err = process.communicate(timeout=240)
    return subprocess.CompletedProcess(process.args, process.returncode, out, err)


def clean(result: subprocess.CompletedProcess[str], code: int = 0) -> None:
    shown = result.stdout + result.stderr
    assert result.returncode == code, shown
    for raw in RAW:
        assert raw not in shown, shown


def arrived(folder: Path, process: subprocess.Popen[str]) -> None:
    """Return once ``process`` stands at its barrier (it leaves a file in ``folder``)."""
    give_up = time.monotonic() + 240
    while not (folder.is_dir() and any(folder.iterdir())):
        if process.poll() is not None:
            result = finish(process)
            pytest.fail(f"the run ended before its barrier: {result.stdout}{result.stderr}")
        assert time.monotonic() < give_up, "the run never reached its barrier"
        time.sleep(0.05)


def release(folder: Path) -> None:
    """Arrive at the barrier as the test, the party that lets a waiting run go on."""
    (folder / "test").touch()


def second_workspace(ws: Any, tmp_path: Path) -> Path:
    """Another workspace folder with the same charter, on the same store (the environment
    names the database and the audit key): a machine that shares no lock file with ``ws``."""
    other = tmp_path / "ws2"
    shutil.copytree(ws.charters_dir, other / "charters")
    return other


def batches(ws: Any) -> list[IngestBatch]:
    with ws.db.read() as session:
        return list(session.scalars(sa.select(IngestBatch).order_by(IngestBatch.id)))


def label_batches(ws: Any) -> list[LabelBatch]:
    with ws.db.read() as session:
        return list(session.scalars(sa.select(LabelBatch).order_by(LabelBatch.id)))


def label_file(path: Path, rows: int = 500) -> Path:
    ids = [f"k{i}" for i in range(rows)]
    pl.DataFrame({"id": ids, "outcome": [i % 2 for i in range(rows)]}).write_parquet(path)
    return path


# -- ingest -------------------------------------------------------------------------------------
def test_an_ingest_that_waits_for_the_one_in_progress_finds_nothing_new(
    kit: Any, tmp_path: Path
) -> None:
    kit.write("a.parquet", kit.rows(0, 300))
    meet = tmp_path / "barrier"
    first = start(kit.ws.root, "ingest", NAME, "--json", barrier=f"after_outputs:2:{meet}")
    arrived(meet, first)  # its files are written, nothing is committed, it holds the run lock

    second = start(
        kit.ws.root, "ingest", NAME, "--wait", "200", "--json", barrier=f"run_lock_busy:2:{meet}"
    )
    done = [finish(first), finish(second)]
    assert len(list(meet.iterdir())) == 2  # the second found the lock taken, the first paused

    for result in done:
        clean(result)
    did, waited = (json.loads(r.stdout) for r in done)
    assert did["rows_in"] == 300 and len(did["batches"]) == 1
    assert waited["rows_in"] == 0 and waited["batches"] == []
    assert waited["files_skipped"] == []  # it never even re-read the file: the checkpoint had it
    assert len(batches(kit.ws)) == 1
    log = kit.predictions()
    assert log.height == 300 and log["key"].n_unique() == 300
    assert kit.ws.ledger.verify().ok


def test_an_ingest_that_cannot_wait_refuses_and_records_nothing(kit: Any, tmp_path: Path) -> None:
    kit.write("a.parquet", kit.rows(0, 300))
    meet = tmp_path / "barrier"
    first = start(kit.ws.root, "ingest", NAME, barrier=f"after_outputs:2:{meet}")
    arrived(meet, first)

    refused = run(kit.ws.root, "ingest", NAME)
    as_json = run(kit.ws.root, "ingest", NAME, "--json")
    release(meet)
    clean(finish(first))

    clean(refused, code=1)
    assert f"another `charter ingest {NAME}` is running in this workspace" in refused.stderr
    assert json.loads(as_json.stdout)["error"]["type"] == "CharterError"
    assert len(batches(kit.ws)) == 1  # the first run's batch, once
    assert kit.predictions().height == 300


def test_two_stores_sharing_ingest_commit_a_batch_once(kit: Any, tmp_path: Path) -> None:
    frame = kit.rows(0, 300)
    kit.write("a.parquet", frame)
    other = second_workspace(kit.ws, tmp_path)
    (other / "landing" / NAME).mkdir(parents=True)
    shutil.copy(kit.landing / "a.parquet", other / "landing" / NAME / "a.parquet")
    meet = tmp_path / "barrier"

    running = [
        start(root, "ingest", NAME, "--json", barrier=f"after_outputs:2:{meet}")
        for root in (kit.ws.root, other)
    ]
    done = [finish(p) for p in running]
    assert len(list(meet.iterdir())) == 2  # both wrote their files before either committed

    for result in done:
        clean(result)
    reports = [json.loads(r.stdout) for r in done]
    assert sorted(r["rows_in"] for r in reports) == [0, 300]  # one did the work
    lost = next(r for r in reports if r["rows_in"] == 0)
    assert [s["reason"] for s in lost["files_skipped"]] == [
        f"batch {batches(kit.ws)[0].batch_id} was committed by another run"
    ]
    assert len(batches(kit.ws)) == 1
    assert kit.ws.ledger.verify().ok


# -- quarantine replay ----------------------------------------------------------------------------
def _quarantined(kit: Any) -> None:
    """Nine of twenty rows quarantined (amount over 50), then the contract fixed."""
    kit.edit(r"amount:   \{[^}]*\}", "amount:   {type: float, nullable: false, min: 0, max: 50}")
    frame = kit.rows(0, 20).with_columns(amount=pl.Series([5.0 * i for i in range(20)]))
    kit.write("a.parquet", frame)
    assert ingest(kit.ws, kit.name).rows_quarantined == 9
    kit.edit(r"amount:   \{[^}]*\}", "amount:   {type: float, nullable: false, min: 0}")


def test_a_replay_that_waits_for_the_one_in_progress_finds_nothing_to_replay(
    kit: Any, tmp_path: Path
) -> None:
    _quarantined(kit)
    meet = tmp_path / "barrier"
    replay = ("quarantine", NAME, "replay", "--json")
    first = start(kit.ws.root, *replay, barrier=f"after_outputs:2:{meet}")
    arrived(meet, first)

    second = start(kit.ws.root, *replay, "--wait", "200", barrier=f"run_lock_busy:2:{meet}")
    done = [finish(first), finish(second)]
    assert len(list(meet.iterdir())) == 2  # the second found the lock taken, the first paused

    for result in done:
        clean(result)
    did, waited = (json.loads(r.stdout) for r in done)
    assert did["rows_replayed"] == 9 and did["rows_scored"] == 9
    assert waited["rows_replayed"] == 0 and waited["batch"] is None
    assert outstanding(kit.ws, kit.name).height == 0
    log = kit.predictions()
    assert log.height == 20 and log["key"].n_unique() == 20
    assert kit.ws.ledger.verify().ok


def test_a_replay_that_cannot_wait_refuses_and_replays_nothing(kit: Any, tmp_path: Path) -> None:
    _quarantined(kit)
    meet = tmp_path / "barrier"
    first = start(kit.ws.root, "quarantine", NAME, "replay", barrier=f"after_outputs:2:{meet}")
    arrived(meet, first)

    refused = run(kit.ws.root, "quarantine", NAME, "replay")
    release(meet)
    clean(finish(first))

    clean(refused, code=1)
    assert "or a replay is running in this workspace" in refused.stderr
    assert [b.source_kind for b in batches(kit.ws)] == ["file", "replay"]
    assert kit.predictions().height == 20


# -- labels ---------------------------------------------------------------------------------------
def test_a_labels_run_that_waits_for_the_one_in_progress_finds_no_new_labels(
    ws: Any, tmp_path: Path
) -> None:
    path = label_file(tmp_path / "labels.parquet")
    meet = tmp_path / "barrier"
    first = start(ws.root, "labels", NAME, str(path), "--json", barrier=f"after_outputs:2:{meet}")
    arrived(meet, first)

    second = start(ws.root, "labels", NAME, str(path), "--json", barrier=f"run_lock_busy:2:{meet}")
    done = [finish(first), finish(second)]
    assert len(list(meet.iterdir())) == 2  # the second found the lock taken, the first paused

    for result in done:
        clean(result)
    did, waited = (json.loads(r.stdout) for r in done)
    assert did["labels_new"] == 500 and waited["labels_new"] == 0 and waited["batches"] == []
    assert len(label_batches(ws)) == 1
    assert read_labels(ws, NAME).height == 500
    assert ws.ledger.verify().ok


def test_two_stores_sharing_labels_record_a_delivery_once(ws: Any, tmp_path: Path) -> None:
    path = label_file(tmp_path / "labels.parquet")
    other = second_workspace(ws, tmp_path)
    meet = tmp_path / "barrier"

    running = [
        start(root, "labels", NAME, str(path), "--json", barrier=f"after_outputs:2:{meet}")
        for root in (ws.root, other)
    ]
    done = [finish(p) for p in running]
    assert len(list(meet.iterdir())) == 2  # both wrote their files before either committed

    for result in done:
        clean(result)
    reports = [json.loads(r.stdout) for r in done]
    assert sorted(r["labels_new"] for r in reports) == [0, 500]
    assert len(label_batches(ws)) == 1
    assert ws.ledger.verify().ok
