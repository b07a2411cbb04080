"""``charter lake migrate --to URL``: a workspace's local logs moved into an S3 lake."""

from __future__ import annotations

import json
from typing import Any

import fsspec
import polars as pl
import pytest
import sqlalchemy as sa
from tests.lake.conftest import s3_keys
from tests.plumbing.conftest import Kit, rows

from charter.plumbing.ingest import ingest
from charter.plumbing.labels import ingest_labels
from charter.plumbing.labels_store import read_labels
from charter.settings import Settings
from charter.store.tables import AuditEntry

AMOUNT = r"amount:   \{type: float, nullable: false, min: 0\}"


def _local_history(kit: Kit) -> None:
    """Two batches (one with broken rows), a replay, and a label delivery, in .charter/."""
    kit.write("a.parquet", pl.concat([rows(0, 20), rows(20, 2).with_columns(amount=pl.lit(-1.0))]))
    ingest(kit.ws, kit.name)
    kit.write("b.parquet", rows(30, 10))
    ingest(kit.ws, kit.name)
    from charter.plumbing.quarantine import replay

    kit.edit(AMOUNT, "amount:   {type: float, nullable: false, min: -5}")
    assert replay(kit.ws, kit.name).rows_replayed == 2
    labels = kit.ws.root / "outcomes.parquet"
    pl.DataFrame({"id": ["k1", "k2", "k31"], "outcome": [1, 0, 1]}).write_parquet(labels)
    ingest_labels(kit.ws, kit.name, labels)


def _seen(kit: Kit) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    return (
        kit.predictions().sort("prediction_id"),
        kit.quarantine().sort("_batch_id", "_row"),
        read_labels(kit.ws, kit.name).sort("key"),
    )


def _point_at(kit: Kit, lake: str | None, monkeypatch: pytest.MonkeyPatch) -> None:
    if lake:
        monkeypatch.setenv("CHARTER_LAKE", lake)
    else:
        monkeypatch.delenv("CHARTER_LAKE", raising=False)
    kit.ws.settings = Settings()


def test_migrate_copies_every_committed_file_and_the_workspace_reads_them_from_the_lake(
    kit: Kit, cli: Any, s3_lake: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _local_history(kit)
    before = _seen(kit)
    stray = kit.ws.state_dir / "predictions" / kit.name / "never-committed.parquet"
    rows(90, 3).write_parquet(stray)

    moved = cli("lake", "migrate", "--to", s3_lake, "--json")
    assert moved.code == 0, moved.stderr
    body = moved.json()
    keys = s3_keys(s3_lake)
    # 2 batches' predictions + 1 quarantine + the replay's predictions and map + 1 label file,
    # and the key index's 3 runs (one per ingest batch)
    assert body["files"] == len(keys) == 9
    assert sum(k.startswith("keys/") for k in keys) == 3
    assert (body["copied"], body["already_there"], body["missing"]) == (9, 0, [])
    assert "predictions/credit-default/never-committed.parquet" not in keys
    local = kit.ws.state_dir
    assert body["bytes_copied"] == sum((local / k).stat().st_size for k in keys)

    again = cli("lake", "migrate", "--to", s3_lake, "--json").json()
    assert (again["copied"], again["already_there"]) == (0, 9)
    with kit.ws.db.read() as session:
        recorded = session.scalars(
            sa.select(AuditEntry.payload).where(AuditEntry.action == "lake.migrated")
        ).all()
    assert len(recorded) == 1  # the re-run moved nothing and recorded nothing
    assert json.loads(recorded[0])["copied"] == 9

    _point_at(kit, s3_lake, monkeypatch)
    after = _seen(kit)
    for old, new in zip(before, after, strict=True):
        assert old.equals(new)


def test_a_migration_stopped_midway_completes_on_rerun_and_can_delete_the_local_copies(
    kit: Kit, cli: Any, s3_lake: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _local_history(kit)
    before = _seen(kit)
    assert cli("lake", "migrate", "--to", s3_lake).code == 0
    lost = s3_keys(s3_lake)[:2]  # as if the first run had stopped before these
    fs = fsspec.filesystem("s3")
    for key in lost:
        fs.rm_file(f"{s3_lake.removeprefix('s3://')}/{key}")

    resumed = cli("lake", "migrate", "--to", s3_lake, "--delete-source", "--json")
    assert resumed.code == 0, resumed.stderr
    body = resumed.json()
    # 6 log files and the key index's 3 runs (one per ingest batch)
    assert (body["copied"], body["already_there"], body["deleted_from_source"]) == (2, 7, 9)
    assert not any((kit.ws.state_dir / k).exists() for k in s3_keys(s3_lake))

    # A third run finds the local copies gone and every file in the lake: nothing to do.
    third = cli("lake", "migrate", "--to", s3_lake, "--delete-source", "--json").json()
    assert (third["copied"], third["already_there"], third["missing"]) == (0, 9, [])

    _point_at(kit, s3_lake, monkeypatch)
    for old, new in zip(before, _seen(kit), strict=True):
        assert old.equals(new)
    kit.write("c.parquet", rows(50, 4))  # and ingestion carries on, into the lake
    assert ingest(kit.ws, kit.name).rows_scored == 4
    assert kit.predictions().height == before[0].height + 4


def test_migrate_refuses_its_own_lake_and_names_files_missing_from_both(
    kit: Kit, cli: Any, s3_lake: str
) -> None:
    _local_history(kit)
    same = cli("lake", "migrate", "--to", ".charter")
    assert same.code == 1 and "already this workspace's lake" in same.stderr
    gone = next((kit.ws.state_dir / "labels" / kit.name).glob("*.parquet"))
    gone.unlink()
    partial = cli("lake", "migrate", "--to", s3_lake)
    assert partial.code == 1
    assert "1 committed files are in neither" in partial.stderr
    assert f"labels/{kit.name}/{gone.name}" in partial.stderr
    assert len(s3_keys(s3_lake)) == 8  # the others were copied
