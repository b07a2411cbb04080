"""Two ``charter labels`` runs at once, as real processes: both end cleanly, no label is lost or
doubled, and no SQL ever reaches the screen.

Each process runs ``python -m charter.cli.main`` against the workspace's store (SQLite and
PostgreSQL); the environment set by the fixtures points every process at the same database.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import filelock
import polars as pl
import pytest
import sqlalchemy as sa

from charter.plumbing.labels import read_labels
from charter.store.tables import LabelBatch

pytestmark = pytest.mark.slow
ROWS = 20_000


def _charter(workspace: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "charter.cli.main", "-w", str(workspace), *args]


def _file(path: Path, start: int, outcome: int) -> Path:
    ids = [f"k{i}" for i in range(start, start + ROWS)]
    pl.DataFrame({"id": ids, "outcome": [outcome] * ROWS}).write_parquet(path)
    return path


def _together(workspace: Path, *files: Path, lock: Path) -> list[subprocess.CompletedProcess[str]]:
    """Start one labels run per file while the test holds the runs' lock, so they queue on it
    together, then let them go."""
    held = filelock.FileLock(str(lock))
    held.acquire()
    try:
        running = [
            subprocess.Popen(
                _charter(workspace, "labels", "credit-default", str(f), "--json"),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for f in files
        ]
    finally:
        held.release()
    done = []
    for process in running:
        out, err = process.communicate(timeout=240)
        done.append(subprocess.CompletedProcess(process.args, process.returncode, out, err))
    return done


def _clean(result: subprocess.CompletedProcess[str]) -> None:
    shown = result.stdout + result.stderr
    assert result.returncode == 0, shown
    for raw in ("IntegrityError", "[SQL:", "parameters", "Traceback", "unexpected error"):
        assert raw not in shown, shown


def _batches(ws: Any) -> list[tuple[str, int, int]]:
    with ws.db.read() as session:
        rows = session.execute(
            sa.select(LabelBatch.source, LabelBatch.labels_new, LabelBatch.labels_changed)
            .where(LabelBatch.charter == "credit-default")
            .order_by(LabelBatch.id)
        ).all()
    return [(str(s), int(n), int(c)) for s, n, c in rows]


@pytest.fixture
def lock(ws: Any) -> Path:
    folder: Path = ws.state_dir / "locks"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / "labels-credit-default.lock"


def test_the_same_file_sent_twice_at_once_is_recorded_once(
    ws: Any, workspace_dir: Path, tmp_path: Path, lock: Path
) -> None:
    path = _file(tmp_path / "labels.parquet", 0, 1)

    results = _together(workspace_dir, path, path, lock=lock)

    for result in results:
        _clean(result)
    reports = [json.loads(r.stdout) for r in results]
    assert sorted(r["labels_new"] for r in reports) == [0, ROWS]  # one recorded, one saw it
    assert _batches(ws) == [(f"file:{path.resolve()}", ROWS, 0)]
    assert read_labels(ws, "credit-default").height == ROWS
    assert ws.ledger.verify().ok


def test_two_different_files_at_once_lose_and_double_nothing(
    ws: Any, workspace_dir: Path, tmp_path: Path, lock: Path
) -> None:
    a = _file(tmp_path / "a.parquet", 0, 0)  # k0 .. k59999 = 0
    b = _file(tmp_path / "b.parquet", ROWS // 2, 1)  # k30000 .. k89999 = 1, half overlapping

    results = _together(workspace_dir, a, b, lock=lock)

    for result in results:
        _clean(result)
    batches = _batches(ws)
    assert len(batches) == 2
    overlap = ROWS // 2
    # the second to commit sees the first: its overlapping keys are corrections, not new keys
    assert sum(n for _, n, _ in batches) == ROWS + overlap
    assert [c for _, _, c in batches] == [0, overlap]
    labels = read_labels(ws, "credit-default")
    assert labels.height == ROWS + overlap and labels["key"].n_unique() == labels.height
    last = batches[1][0]
    expected_overlap = 1.0 if last.endswith("b.parquet") else 0.0
    shared = labels.filter(pl.col("key") == f"k{ROWS // 2}")["label"].to_list()
    assert shared == [expected_overlap]  # the newest delivery wins
    assert ws.ledger.verify().ok


def test_a_run_that_cannot_wait_says_another_run_is_in_progress(
    ws: Any, workspace_dir: Path, tmp_path: Path, lock: Path
) -> None:
    path = _file(tmp_path / "labels.parquet", 0, 1)
    with filelock.FileLock(str(lock)):
        refused = subprocess.run(
            _charter(workspace_dir, "labels", "credit-default", str(path), "--wait", "0"),
            capture_output=True,
            text=True,
            timeout=240,
        )
        as_json = subprocess.run(
            _charter(workspace_dir, "labels", "credit-default", str(path), "--wait", "0", "--json"),
            capture_output=True,
            text=True,
            timeout=240,
        )

    assert refused.returncode == 1
    assert "another `charter labels credit-default` run is in progress" in refused.stderr
    assert "Traceback" not in refused.stderr + refused.stdout
    error = json.loads(as_json.stdout)["error"]
    assert error["type"] == "CharterError" and "in progress" in error["message"]
    assert _batches(ws) == []  # nothing recorded, nothing lost: the file is still to be read
