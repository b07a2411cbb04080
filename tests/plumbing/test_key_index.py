"""The key index: keys across batches live in sorted runs on disk, listed in the store."""

from __future__ import annotations

from typing import Any

import polars as pl
import pytest
import sqlalchemy as sa

from charter.errors import CharterError
from charter.plumbing import ingest_batch, key_index
from charter.plumbing.dry_run import dry_run
from charter.plumbing.ingest import ingest
from charter.plumbing.ingest_batch import KeyMemory
from charter.plumbing.lake import lake_for
from charter.store.tables import IngestBatch, KeyRun

pytestmark = pytest.mark.postgres


def runs(kit: Any) -> list[tuple[str, int, str, str]]:
    with kit.ws.db.read() as session:
        rows = session.execute(
            sa.select(KeyRun.path, KeyRun.rows, KeyRun.min_key, KeyRun.max_key)
            .where(KeyRun.charter == kit.name)
            .order_by(KeyRun.id)
        ).all()
    return [tuple(row) for row in rows]


def test_each_committed_batch_lists_one_sorted_run_of_its_distinct_keys(kit: Any) -> None:
    kit.write("a.parquet", kit.rows(0, 5))
    ingest(kit.ws, kit.name)

    ((path, count, low, high),) = runs(kit)
    assert (count, low, high) == (5, "k0", "k4")
    keys = lake_for(kit.ws).read(path)["key"].to_list()
    assert keys == sorted(keys) == ["k0", "k1", "k2", "k3", "k4"]
    with kit.ws.db.read() as session:
        assert session.scalars(sa.select(IngestBatch.key_run)).all() == [path]


def test_keys_in_the_runs_are_seen_by_a_later_run_without_holding_them(kit: Any) -> None:
    kit.write("a.parquet", kit.rows(0, 5))
    ingest(kit.ws, kit.name)
    memory = KeyMemory(kit.ws, kit.name)
    seen = memory.lookup("id", [])(
        "id", pl.Series("id", ["k1", "k9", "k4"])
    )  # one in the middle, one past the end
    assert sorted(seen.to_list()) == ["k1", "k4"]
    assert memory.committed_count() == 5


def test_a_batch_whose_commit_fails_leaves_none_of_its_keys_seen(
    kit: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    kit.write("a.parquet", kit.rows(0, 5))

    def broken(*args: Any, **kwargs: Any) -> bool:
        raise CharterError("the database went away")

    monkeypatch.setattr(ingest_batch, "commit", broken)
    with pytest.raises(CharterError):
        ingest(kit.ws, kit.name)
    monkeypatch.undo()
    assert runs(kit) == []

    report = ingest(kit.ws, kit.name).to_dict()

    assert report["rows_scored"] == 5 and report["rows_quarantined"] == 0
    assert [count for _, count, _, _ in runs(kit)] == [5]


def test_batches_logged_before_the_index_are_honoured_then_indexed_once(kit: Any) -> None:
    kit.write("a.parquet", kit.rows(0, 5))
    ingest(kit.ws, kit.name)
    with kit.ws.db.session() as session:  # as a workspace from before the index left it
        session.execute(sa.delete(KeyRun))
        session.execute(sa.update(IngestBatch).values(key_run=None))
    kit.write("b.parquet", kit.rows(3, 5, hours=0.1))  # k3 and k4 again

    dry = dry_run(kit.ws, kit.ws.load(kit.name), kit.landing / "b.parquet")
    assert runs(kit) == []  # a dry run reads the old batches, writes nothing
    assert dry.violations == {"id.unique_across_batches": 2}

    (batch,) = ingest(kit.ws, kit.name).to_dict()["batches"]

    assert batch["violations"] == {"id.unique_across_batches": 2}
    assert [(count, low, high) for _, count, low, high in runs(kit)] == [
        (5, "k0", "k4"),  # the old batch, absorbed
        (3, "k5", "k7"),  # the new one's valid keys
    ]
    with kit.ws.db.read() as session:
        marks = session.scalars(sa.select(IngestBatch.key_run).order_by(IngestBatch.id)).all()
    assert marks[0] == key_index.INDEXED and marks[1]


def test_small_runs_are_merged_and_their_keys_still_seen(
    kit: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(key_index, "FAN_IN", 3)
    for day in range(4):
        kit.write(f"d{day}.parquet", kit.rows(day * 10, 2, hours=day))
        ingest(kit.ws, kit.name)

    listed = runs(kit)
    assert len(listed) == 2  # three merged into one, the fourth waits
    assert listed[0][1:] == (6, "k0", "k21")
    lake = lake_for(kit.ws)
    assert all(lake.exists(path) for path, *_ in listed)
    kit.write("again.parquet", kit.rows(0, 1, hours=5).vstack(kit.rows(21, 1, hours=5)))
    (batch,) = ingest(kit.ws, kit.name).to_dict()["batches"]
    assert batch["violations"] == {"id.unique_across_batches": 2}
