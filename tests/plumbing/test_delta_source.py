"""A Delta Lake table as the landing source, on the local engine (through ``deltalake``): each
table version is a batch, ingested once, in order; compactions add no rows; partition columns
come from the log; rewritten rows already logged are quarantined as repeats."""

from __future__ import annotations

from typing import Any

import polars as pl
import pytest
import sqlalchemy as sa

from charter.plumbing.ingest import ingest
from charter.store.tables import IngestBatch

deltalake = pytest.importorskip("deltalake")  # a dev dependency: installed by `make test`

pytestmark = pytest.mark.postgres


def test_each_new_version_of_a_delta_table_is_one_batch_ingested_once(kit: Any) -> None:
    table = kit.ws.root / "tables" / "applications"
    kit.set_source("{kind: delta_table, path: tables/applications}")
    first = kit.rows(0, 40)
    deltalake.write_deltalake(table, first.to_arrow(), partition_by=["channel"])
    deltalake.write_deltalake(table, kit.rows(40, 10, hours=1).to_arrow(), mode="append")

    report = ingest(kit.ws, kit.name).to_dict()

    assert [b["file"] for b in report["batches"]] == ["version 0", "version 1"]
    assert [b["rows_in"] for b in report["batches"]] == [40, 10]
    assert report["rows_quarantined"] == 0
    log = kit.predictions()
    assert sorted(log["key"]) == sorted(f"k{i}" for i in range(50))
    inputs = log.select("key", pl.col("inputs").struct.unnest())
    want = pl.concat([first, kit.rows(40, 10, hours=1)]).select("id", "amount", "channel")
    got = inputs.rename({"key": "id"}).select(want.columns).sort("id")
    assert got.equals(want.sort("id"))  # the partition column came back from the log

    assert ingest(kit.ws, kit.name).to_dict()["batches"] == []  # nothing new: nothing read

    # A compaction commits a version that adds files without a data change: no rows. An
    # append after it is the next batch, and only its rows are read.
    deltalake.DeltaTable(table).optimize.compact()
    deltalake.write_deltalake(table, kit.rows(50, 5, hours=2).to_arrow(), mode="append")
    later = ingest(kit.ws, kit.name).to_dict()
    assert [(b["file"], b["rows_in"]) for b in later["batches"]] == [
        ("version 2", 0),
        ("version 3", 5),
    ]
    assert kit.predictions().height == 55

    # An overwrite rewrites rows already logged: they come again and are quarantined as
    # repeats of logged keys; the new row is logged.
    again = pl.concat([kit.rows(50, 5, hours=2), kit.rows(55, 1, hours=3)])
    deltalake.write_deltalake(table, again.to_arrow(), mode="overwrite")
    (rewrite,) = ingest(kit.ws, kit.name).to_dict()["batches"]
    assert (rewrite["file"], rewrite["rows_scored"], rewrite["rows_quarantined"]) == (
        "version 4",
        1,
        5,
    )
    assert rewrite["violations"] == {"id.unique_across_batches": 5}
    with kit.ws.db.read() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(IngestBatch)) == 5


def test_a_folder_that_is_not_a_delta_table_fails_with_a_message(kit: Any) -> None:
    kit.set_source("{kind: delta_table, path: landing/credit-default}")
    kit.write("a.parquet", kit.rows(0, 3))
    report = ingest(kit.ws, kit.name).to_dict()
    (failed,) = report["files_failed"]
    assert "is not a Delta table: it has no _delta_log folder" in failed["error"]
