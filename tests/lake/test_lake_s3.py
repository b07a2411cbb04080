"""The logs in an object-store lake: written there under the exactly-once protocol, read back.

Every test runs against a real S3 API (moto's server on loopback), on SQLite and PostgreSQL.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import sqlalchemy as sa
from tests.lake.conftest import ingest_command, s3_keys
from tests.plumbing.conftest import Kit, rows

from charter.plumbing.ingest import ingest
from charter.plumbing.predictions import committed_files
from charter.settings import Settings
from charter.store.tables import KeyRun
from charter.workspace import Workspace


@pytest.fixture
def lake_kit(ws: Workspace, s3_lake: str, monkeypatch: pytest.MonkeyPatch) -> Kit:
    monkeypatch.setenv("CHARTER_LAKE", s3_lake)
    ws.settings = Settings()
    return Kit(ws)


def broken(start: int, count: int) -> pl.DataFrame:
    """Rows that break ``amount >= 0``."""
    return rows(start, count).with_columns(amount=pl.lit(-1.0))


def test_ingest_writes_the_log_and_quarantine_to_the_bucket_and_nothing_to_the_folder(
    lake_kit: Kit, s3_lake: str, cli: Any
) -> None:
    kit = lake_kit
    kit.write("a.parquet", pl.concat([rows(0, 40), broken(40, 3)]))
    report = ingest(kit.ws, kit.name)
    assert (report.rows_scored, report.rows_quarantined) == (40, 3)

    keys = s3_keys(s3_lake)
    with kit.ws.db.read() as session:
        runs = session.scalars(sa.select(KeyRun.path)).all()  # the key index's one run
    committed = (
        committed_files(kit.ws, kit.name)
        + committed_files(kit.ws, kit.name, kind="quarantine")
        + list(runs)
    )
    assert len(runs) == 1
    assert sorted(committed) == keys  # exactly the committed files, nothing else
    assert all(
        k.startswith(("predictions/credit-default/", "quarantine/credit-default/", "keys/"))
        for k in keys
    )
    batch_id = report.batches[0].batch_id
    # attempt-unique names: <batch id>.<attempt>.parquet
    assert all(Path(k).name.startswith(f"{batch_id}.") and k.count(".") == 2 for k in keys)
    assert not (kit.ws.state_dir / "predictions").exists()
    assert not (kit.ws.state_dir / "quarantine").exists()

    logged = kit.predictions()
    assert sorted(logged["key"]) == sorted(f"k{i}" for i in range(40))
    shown = cli("quarantine", kit.name, "show", "--json")
    assert shown.code == 0, shown.stderr
    assert sorted(r["values"]["id"] for r in shown.json()["rows"]) == ["k40", "k41", "k42"]
    assert {tuple(r["violations"]) for r in shown.json()["rows"]} == {("amount.min",)}


def test_a_key_logged_in_the_bucket_is_a_duplicate_in_the_next_batch(lake_kit: Kit) -> None:
    kit = lake_kit
    kit.write("a.parquet", rows(0, 5))
    ingest(kit.ws, kit.name)
    kit.write("b.parquet", rows(3, 5))
    report = ingest(kit.ws, kit.name)
    assert (report.rows_scored, report.rows_quarantined) == (3, 2)
    assert kit.predictions().height == 8


def test_a_replay_reads_and_writes_the_bucket(lake_kit: Kit, cli: Any, s3_lake: str) -> None:
    kit = lake_kit
    kit.write("a.parquet", pl.concat([rows(0, 5), broken(5, 2)]))
    ingest(kit.ws, kit.name)
    kit.edit(
        r"amount:   \{type: float, nullable: false, min: 0\}",
        "amount:   {type: float, nullable: false, min: -5}",
    )
    replayed = cli("quarantine", kit.name, "replay", "--json")
    assert replayed.code == 0, replayed.stderr
    assert replayed.json()["rows_scored"] == 2
    assert cli("quarantine", kit.name, "list", "--json").json()["rows"] == 0
    assert any(k.startswith("quarantine/credit-default/replays/") for k in s3_keys(s3_lake))
    assert kit.predictions().height == 7


def _ingest_process(root: Path, crash_at: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "CHARTER_TEST_CRASH_AT"}
    if crash_at:
        env["CHARTER_TEST_CRASH_AT"] = crash_at
    command = ingest_command(root)
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)


@pytest.mark.slow
def test_a_kill_between_upload_and_commit_leaves_files_no_reader_sees_then_cleaned_after_grace(
    lake_kit: Kit, s3_lake: str, cli: Any
) -> None:
    kit = lake_kit
    kit.write("a.parquet", pl.concat([rows(0, 30), broken(30, 2)]))
    crashed = _ingest_process(kit.ws.root, "after_outputs:1")
    assert crashed.returncode == 137, crashed.stderr
    orphans = s3_keys(s3_lake)
    # the prediction and quarantine files and the key run, uploaded, never committed
    assert len(orphans) == 3 and sum(k.startswith("keys/") for k in orphans) == 1
    assert kit.predictions().height == 0 and kit.quarantine().height == 0

    rerun = _ingest_process(kit.ws.root)
    assert rerun.returncode == 5, rerun.stderr  # 5: rows quarantined (attention)
    assert kit.predictions().height == 30 and kit.quarantine().height == 2
    assert set(orphans) <= set(s3_keys(s3_lake))  # younger than the grace: left alone

    kept = cli("lake", "clean", kit.name, "--json")
    assert kept.code == 0, kept.stderr
    assert kept.json()["removed"] == [] and kept.json()["kept_young"] == 3
    cleaned = cli("lake", "clean", kit.name, "--grace", "0", "--json")
    assert sorted(cleaned.json()["removed"]) == orphans
    left = s3_keys(s3_lake)
    with kit.ws.db.read() as session:
        runs = list(session.scalars(sa.select(KeyRun.path)).all())
    assert len(runs) == 1  # the re-run's key run, listed with its batch
    assert sorted(left) == sorted(
        committed_files(kit.ws, kit.name)
        + committed_files(kit.ws, kit.name, kind="quarantine")
        + runs
    )
    assert kit.predictions().height == 30 and kit.quarantine().height == 2
