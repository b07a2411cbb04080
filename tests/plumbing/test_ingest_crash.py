"""kill -9 at any moment, then re-run: every row ends up logged exactly once.

Each test runs the real ``charter ingest`` in a subprocess and kills it: abruptly at named points
(``CHARTER_TEST_CRASH_AT``, which calls ``os._exit(137)``: no cleanup, no flush, like kill -9),
or with a real SIGKILL at a random moment. Then it runs ingest again to completion and checks the
union of the prediction logs and every committed batch's accounting.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import sqlalchemy as sa

from charter.plumbing.predictions import predictions_dir, quarantine_dir
from charter.store.tables import IngestBatch, IngestFile

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


def run_ingest(ws_root: Path, crash_at: str | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env.pop("CHARTER_TEST_CRASH_AT", None)
    if crash_at:
        env["CHARTER_TEST_CRASH_AT"] = crash_at
    return subprocess.run(
        [sys.executable, "-m", "charter.cli.main", "-w", str(ws_root), "ingest", "credit-default"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def land(kit: Any, files: int, rows: int) -> set[str]:
    """``files`` landing files of ``rows`` rows; one row in ten breaks the contract."""
    keys: set[str] = set()
    for n in range(files):
        frame = kit.rows(n * rows, rows, hours=n * 0.01).with_columns(
            pl.when(pl.int_range(pl.len()) % 10 == 3)
            .then(-1.0)
            .otherwise(pl.col("amount"))
            .alias("amount")
        )
        kit.write(f"part-{n:03d}.parquet", frame)
        keys.update(frame["id"].to_list())
    return keys


def assert_exactly_once(kit: Any, keys: set[str], files: int) -> None:
    """Every key logged or quarantined exactly once; every batch balanced; nothing pending."""
    log, quarantine = kit.predictions(), kit.quarantine()
    assert log["key"].is_duplicated().sum() == 0
    assert quarantine["id"].is_duplicated().sum() == 0
    assert set(log["key"]) | set(quarantine["id"]) == keys
    assert set(log["key"]).isdisjoint(set(quarantine["id"]))
    with kit.ws.db.read() as session:
        batches = session.scalars(sa.select(IngestBatch)).all()
        checkpoints = session.scalars(sa.select(IngestFile)).all()
    assert len(batches) == files
    for batch in batches:
        assert batch.rows_in == batch.rows_scored + batch.rows_quarantined
    assert sum(b.rows_scored for b in batches) == log.height
    assert sum(b.rows_quarantined for b in batches) == quarantine.height
    assert {c.status for c in checkpoints} == {"ingested"}
    assert len(checkpoints) == files
    for folder in (predictions_dir(kit.name), quarantine_dir(kit.name)):
        assert not list((kit.ws.state_dir / folder).glob("*.tmp-*"))
    assert kit.ws.ledger.verify().ok


@pytest.mark.parametrize(
    "crash_at",
    ["after_outputs:1", "before_commit:2", "after_commit:1", "after_commit:3"],
)
def test_a_crash_at_any_step_then_a_rerun_logs_every_row_exactly_once(
    kit: Any, crash_at: str
) -> None:
    keys = land(kit, files=3, rows=500)

    crashed = run_ingest(kit.ws.root, crash_at)
    assert crashed.returncode == 137, crashed.stderr

    rerun = run_ingest(kit.ws.root)
    # 5: the batches this run committed quarantined rows (they need attention); 0: nothing new
    assert rerun.returncode == (0 if crash_at == "after_commit:3" else 5), rerun.stderr
    assert ("holds for every batch" in rerun.stdout) != (crash_at == "after_commit:3")
    assert_exactly_once(kit, keys, files=3)


def test_crashing_again_and_again_still_converges(kit: Any) -> None:
    keys = land(kit, files=3, rows=300)
    for point in ("before_commit:1", "after_outputs:1", "after_commit:1"):
        assert run_ingest(kit.ws.root, point).returncode == 137
    assert run_ingest(kit.ws.root).returncode in (0, 5)  # 5: it quarantined rows
    assert_exactly_once(kit, keys, files=3)


def test_sigkill_at_random_moments_during_a_multi_file_ingest(kit: Any) -> None:
    seed = random.randrange(1_000_000)
    chance = random.Random(seed)
    files = 16
    keys = land(kit, files=files, rows=15_000)
    folder = kit.ws.state_dir / predictions_dir(kit.name)
    env = {k: v for k, v in os.environ.items() if k != "CHARTER_TEST_CRASH_AT"}
    command = [
        sys.executable,
        "-m",
        "charter.cli.main",
        "-w",
        str(kit.ws.root),
        "ingest",
        "credit-default",
    ]
    killed_mid_run = 0
    for _ in range(3):
        before = len(list(folder.glob("*.parquet"))) if folder.exists() else 0
        process = subprocess.Popen(
            command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and process.poll() is None:
            now = len(list(folder.glob("*.parquet"))) if folder.exists() else 0
            if now > before:  # it is ingesting: kill it somewhere in the next 0.4 s
                time.sleep(chance.uniform(0.0, 0.4))
                break
            time.sleep(0.01)
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            killed_mid_run += 1
        process.wait(timeout=60)
    assert killed_mid_run >= 1, f"seed {seed}: every run finished before it could be killed"

    final = run_ingest(kit.ws.root)
    assert final.returncode in (0, 5), f"seed {seed}: {final.stderr}"  # 5: rows quarantined
    assert_exactly_once(kit, keys, files=files)


def test_a_sql_source_killed_before_commit_resumes_from_its_high_water_mark(
    kit: Any, tmp_path: Path
) -> None:
    source = tmp_path / "source.db"
    frame = kit.rows(0, 1_000).with_columns(seq=pl.int_range(pl.len()))
    frame.write_database("applications", f"sqlite:///{source}", engine="sqlalchemy")
    kit.set_source(
        f"{{kind: sql, url: 'sqlite:///{source}', table: applications, cursor: seq, "
        "batch_rows: 300}"
    )

    assert run_ingest(kit.ws.root, "before_commit:2").returncode == 137
    assert run_ingest(kit.ws.root, "after_outputs:1").returncode == 137
    assert run_ingest(kit.ws.root).returncode == 0  # every row is valid: nothing needs attention

    log = kit.predictions()
    assert log.height == 1_000
    assert log["key"].n_unique() == 1_000
    with kit.ws.db.read() as session:
        ranges = session.execute(
            sa.select(IngestBatch.cursor_from, IngestBatch.cursor_to).order_by(IngestBatch.id)
        ).all()
    assert len(ranges) == 4
    assert [r.cursor_from for r in ranges][1:] == [r.cursor_to for r in ranges][:-1]
