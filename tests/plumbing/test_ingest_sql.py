"""Ingesting a SQL source by cursor, on SQLite and PostgreSQL; the key memory across many batches."""

from __future__ import annotations

import json
from typing import Any

import polars as pl
import pytest
import sqlalchemy as sa

from charter.plumbing import key_index
from charter.plumbing.ingest import ingest
from charter.store.tables import AuditEntry, IngestCursor, KeyRun

pytestmark = pytest.mark.postgres


@pytest.fixture
def table(kit: Any, database_url: str) -> Any:
    """An ``applications`` table in the test database (SQLite file or PostgreSQL), as the source."""
    assert kit.ws.db.url == database_url  # opens (and creates) the database first
    engine = sa.create_engine(database_url)

    def append(frame: pl.DataFrame) -> None:
        frame.write_database("applications", engine, if_table_exists="append")

    append(kit.rows(0, 25).with_columns(seq=pl.int_range(0, 25, dtype=pl.Int64)))
    kit.set_source(
        f"{{kind: sql, url: '{database_url}', table: applications, cursor: seq, batch_rows: 10}}"
    )
    yield append
    engine.dispose()


def test_a_sql_table_is_ingested_by_cursor_batch_rows_at_a_time(kit: Any, table: Any) -> None:
    report = ingest(kit.ws, kit.name).to_dict()

    assert [b["rows_in"] for b in report["batches"]] == [10, 10, 5]
    assert [b["cursor_range"] for b in report["batches"]] == [
        "seq in (start, 9]",
        "seq in (9, 19]",
        "seq in (19, 24]",
    ]
    assert report["batches"][1]["cursor_from"] == json.dumps({"type": "int", "value": 9})
    assert kit.predictions()["key"].n_unique() == 25


def test_rows_added_later_are_read_from_the_high_water_mark(kit: Any, table: Any) -> None:
    ingest(kit.ws, kit.name)
    table(kit.rows(25, 4, hours=1).with_columns(seq=pl.int_range(25, 29, dtype=pl.Int64)))

    report = ingest(kit.ws, kit.name).to_dict()

    assert [b["rows_in"] for b in report["batches"]] == [4]
    assert ingest(kit.ws, kit.name).batches == []
    assert kit.predictions().height == 29


def test_an_unreachable_sql_source_is_reported_recorded_and_retried(kit: Any) -> None:
    url = "postgresql+psycopg://reader:pw@127.0.0.1:1/gone?connect_timeout=2"
    kit.set_source(f"{{kind: sql, url: '{url}', table: applications, cursor: seq}}")

    report = ingest(kit.ws, kit.name).to_dict()

    (failed,) = report["files_failed"]
    assert failed["file"].startswith("sql:postgresql+psycopg://reader:***@127.0.0.1:1/gone")
    assert "SQL source" in failed["error"] and "pw@" not in failed["error"]
    with kit.ws.db.read() as session:
        cursor = session.scalar(sa.select(IngestCursor))
        actions = session.scalars(sa.select(AuditEntry.action)).all()
    assert cursor is not None and cursor.error is not None and cursor.high_water is None
    assert "ingest.source_failed" in actions
    assert ingest(kit.ws, kit.name).files_failed  # tried again on the next run


def test_keys_from_many_batches_stay_unique_when_the_key_runs_merge(
    kit: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Merge small key runs after three, and read every run from its file (no cache).
    monkeypatch.setattr(key_index, "FAN_IN", 3)
    monkeypatch.setattr(key_index, "_CACHE_ROWS", 0)
    for n in range(12):
        kit.write(f"f{n:02d}.parquet", pl.concat([kit.rows(n * 3, 3), kit.rows(0, 1)]))

    report = ingest(kit.ws, kit.name).to_dict()

    assert report["rows_scored"] == 36
    assert report["rows_quarantined"] == 12
    assert kit.predictions()["key"].n_unique() == 36
    with kit.ws.db.read() as session:
        runs = session.scalar(sa.select(sa.func.count()).select_from(KeyRun))
    assert runs is not None and runs < 12  # the twelve batches' runs were merged
    again = ingest(kit.ws, kit.name)
    assert again.batches == []
    kit.write("late.parquet", kit.rows(30, 3))  # all seen, in the sorted part now
    (batch,) = ingest(kit.ws, kit.name).batches
    assert batch.violations == {"id.unique_across_batches": 3}
