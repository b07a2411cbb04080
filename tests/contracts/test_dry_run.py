"""``charter contract test NAME FILE``: what ingest would do with a file, and nothing written."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import sqlalchemy as sa
from tests.plumbing.conftest import T0, rows

from charter.store.tables import AuditEntry, IngestBatch, IngestFile
from charter.workspace import Workspace

pytestmark = pytest.mark.postgres


def _snapshot(root: Path) -> dict[str, tuple[int, int]]:
    """Every file under ``root`` with its size and modification time (but SQLite's ``-wal`` and
    ``-shm`` files, which come and go with its readers' connections)."""
    out = {}
    for folder, _, files in os.walk(root):
        for name in files:
            if name.endswith(("-wal", "-shm")):
                continue
            stat = (Path(folder) / name).stat()
            out[str(Path(folder) / name)] = (stat.st_size, stat.st_mtime_ns)
    return out


def _store_counts(ws: Workspace) -> tuple[int, int, int]:
    with ws.db.read() as session:
        return tuple(  # type: ignore[return-value]
            session.scalar(sa.select(sa.func.count()).select_from(table)) or 0
            for table in (IngestBatch, IngestFile, AuditEntry)
        )


def test_a_clean_file_exits_0_and_counts_every_row(cli: Any, workspace_dir: Path) -> None:
    path = workspace_dir / "sample.parquet"
    rows(0, 5).write_parquet(path)

    result = cli("contract", "test", "credit-default", str(path), "--json")

    assert result.code == 0, result.stdout + result.stderr
    body = result.json()
    assert (body["rows_in"], body["rows_valid"], body["rows_quarantined"]) == (5, 5, 0)
    assert body["violations"] == [] and body["schema_changes"] == []


def test_it_says_what_ingest_would_quarantine_flag_late_and_see_changed(
    cli: Any, ws: Workspace, workspace_dir: Path
) -> None:
    landing = workspace_dir / "landing" / "credit-default"
    landing.mkdir(parents=True)
    rows(0, 10, hours=24).write_parquet(landing / "day1.parquet")
    assert cli("ingest", "credit-default").code == 0
    sample = rows(100, 6, hours=24)
    sample = sample.with_columns(
        amount=pl.Series([1.0, -1.0, -2.0, 3.0, 4.0, 5.0]),  # two below min: 0
        id=pl.Series(["k100", "k101", "k102", "k3", "k104", "k104"]),  # k3 ingested; k104 twice
        event_at=pl.Series([T0 + timedelta(hours=24)] * 4 + [T0 - timedelta(hours=5)] * 2),
        branch=pl.Series(["x"] * 6),  # a column the contract does not name
    )
    path = workspace_dir / "sample.csv"
    sample.write_csv(path)
    before_files, before_rows = _snapshot(workspace_dir.parent), _store_counts(ws)

    result = cli("contract", "test", "credit-default", str(path), "--json")

    assert result.code == 5, result.stdout + result.stderr  # rows would be quarantined
    body = result.json()
    assert (body["rows_in"], body["rows_valid"], body["rows_quarantined"]) == (6, 2, 4)
    by_rule = {v["rule"]: v for v in body["violations"]}
    assert by_rule["amount.min"]["rows"] == 2
    assert [e["id"] for e in by_rule["amount.min"]["examples"]] == ["k101", "k102"]
    assert by_rule["id.unique_across_batches"]["rows"] == 1
    assert by_rule["id.unique"]["rows"] == 1
    assert body["rows_late"] == 1  # the valid k104, hours before the committed watermark
    assert [(c["kind"], c["column"]) for c in body["schema_changes"]] == [("new_column", "branch")]
    assert body["keys_seen"] == 10 and body["watermark"] is not None
    assert body["already_ingested"] is None
    # a dry run: no batch, no checkpoint, no ledger entry, no file written or touched
    assert _store_counts(ws) == before_rows
    assert _snapshot(workspace_dir.parent) == before_files

    human = cli("contract", "test", "credit-default", str(path))
    assert "6 rows = 2 valid + 4 would be quarantined, 1 late" in human.stdout
    assert "2 x amount.min" in human.stdout
    assert "schema: new_column branch" in human.stdout
    assert "dry run: nothing was written" in human.stdout


def test_a_file_already_ingested_is_said_to_be_skipped(cli: Any, workspace_dir: Path) -> None:
    landing = workspace_dir / "landing" / "credit-default"
    landing.mkdir(parents=True)
    rows(0, 4).write_parquet(landing / "a.parquet")
    batch_id = cli("ingest", "credit-default", "--json").json()["batches"][0]["batch_id"]

    result = cli("contract", "test", "credit-default", str(landing / "a.parquet"), "--json")

    body = result.json()
    assert body["already_ingested"] == batch_id
    assert "ingest would skip the file" in body["notes"][0]
    assert {v["rule"] for v in body["violations"]} == {"id.unique_across_batches"}


def test_a_file_that_does_not_exist_is_a_clear_error(cli: Any, workspace_dir: Path) -> None:
    result = cli("contract", "test", "credit-default", str(workspace_dir / "nope.parquet"))

    assert result.code == 1
    assert "nope.parquet does not exist" in result.stderr


def test_a_workspace_without_a_store_gets_none(run: Any, folder: Path) -> None:
    from charter.spec.scaffold import write_scaffold

    write_scaffold(folder / "charters", "m", owner_name="Dana", owner_email="d@bank.example")
    rows(0, 3).write_parquet(folder / "s.parquet")

    result = run("contract", "test", "m", str(folder / "s.parquet"), "--json")

    assert result.code == 0, result.stderr
    assert not (folder / ".charter").exists()
    assert "no store in this workspace yet" in result.json()["notes"][0]
