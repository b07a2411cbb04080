"""A replay killed like kill -9 at any named point, then run again, logs every row exactly once."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from charter.plumbing.ingest import ingest
from charter.plumbing.quarantine import outstanding

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

REPLAY = ("quarantine", "credit-default", "replay")


def run_replay(ws_root: Path, crash_at: str | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env.pop("CHARTER_TEST_CRASH_AT", None)
    if crash_at:
        env["CHARTER_TEST_CRASH_AT"] = crash_at
    return subprocess.run(
        [sys.executable, "-m", "charter.cli.main", "-w", str(ws_root), *REPLAY],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.parametrize("point", ["after_outputs", "before_commit", "after_commit"])
def test_a_killed_replay_then_a_rerun_logs_each_row_once(kit: Any, point: str) -> None:
    kit.edit(r"amount:   \{[^}]*\}", "amount:   {type: float, nullable: false, min: 0, max: 50}")
    frame = kit.rows(0, 20).with_columns(amount=pl.Series([5.0 * i for i in range(20)]))
    kit.write("a.parquet", frame)
    assert ingest(kit.ws, kit.name).rows_quarantined == 9
    kit.edit(r"amount:   \{[^}]*\}", "amount:   {type: float, nullable: false, min: 0}")

    killed = run_replay(kit.ws.root, crash_at=point)
    assert killed.returncode == 137, killed.stderr
    done = run_replay(kit.ws.root)
    assert done.returncode == 0, done.stderr

    log = kit.predictions()
    assert log.height == 20
    assert log["key"].is_duplicated().sum() == 0
    assert outstanding(kit.ws, kit.name).height == 0
    assert kit.ws.ledger.verify().ok
