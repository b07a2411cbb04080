"""Two machines racing for one batch on an S3 lake: one commit, the loser's upload a leftover."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from tests.lake.conftest import ingest_command, s3_keys
from tests.plumbing.conftest import rows

from charter.plumbing.predictions import committed_files, read_predictions
from charter.settings import Settings
from charter.workspace import Workspace

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


def _ingest(root: Path, barrier: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "CHARTER_TEST_BARRIER": f"after_outputs:2:{barrier}"}
    command = ingest_command(root)
    return subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def test_two_machines_ingesting_one_file_commit_it_once_and_the_loser_upload_is_cleaned(
    ws: Workspace, s3_lake: str, cli: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("CHARTER_LAKE", s3_lake)
    ws.settings = Settings()
    other = tmp_path / "machine-b"
    shutil.copytree(ws.charters_dir, other / "charters")
    for root in (ws.root, other):
        landing = root / "landing" / "credit-default"
        landing.mkdir(parents=True)
        rows(0, 50).write_parquet(landing / "a.parquet")  # the same file on both machines

    racers = [_ingest(root, tmp_path / "barrier") for root in (ws.root, other)]
    outputs = [r.communicate(timeout=300) for r in racers]
    assert [r.returncode for r in racers] == [0, 0], outputs
    assert sum("committed by another run" in out + err for out, err in outputs) == 1

    committed = committed_files(ws, "credit-default")
    assert len(committed) == 1
    uploads = [k for k in s3_keys(s3_lake) if k.startswith("predictions/")]
    assert len(uploads) == 2  # both uploaded under their own names; one is named by the batch
    log = read_predictions(ws, "credit-default").collect()
    assert log.height == 50 and log["key"].n_unique() == 50

    cleaned = cli("lake", "clean", "credit-default", "--grace", "0", "--json").json()
    assert cleaned["removed"] == [k for k in uploads if k not in committed]
    assert [k for k in s3_keys(s3_lake) if k.startswith("predictions/")] == committed
    assert read_predictions(ws, "credit-default").collect().height == 50
