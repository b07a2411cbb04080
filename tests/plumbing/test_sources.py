"""Live sources: landing folders read in chunks, SQL read by cursor, and unreadable input in words."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import sqlalchemy as sa

from charter.errors import DataError
from charter.plumbing.sources import (
    LandingFile,
    SqlReader,
    decode_cursor,
    encode_cursor,
    file_fingerprint,
    list_landing_files,
    read_file_chunks,
    sql_identity,
)
from charter.spec.model import FolderSource, SqlSource

FRAME = pl.DataFrame(
    {
        "id": [f"k{i}" for i in range(25)],
        "amount": [float(i) for i in range(25)],
        "channel": ["web", "branch", "phone", "web", "web"] * 5,
    }
)


def landing_file(path: Path) -> LandingFile:
    stat = path.stat()
    return LandingFile(path, path.name, stat.st_size, stat.st_mtime_ns)


def read_all(path: Path, kind: str, chunk_rows: int = 10, **source: Any) -> list[pl.DataFrame]:
    folder = FolderSource.model_validate({"kind": kind, "path": str(path.parent), **source})
    return list(read_file_chunks(landing_file(path), folder, chunk_rows=chunk_rows))


# -- landing folders ------------------------------------------------------------------------------
def test_landing_files_are_listed_in_arrival_order_skipping_writers_in_progress(
    tmp_path: Path,
) -> None:
    for name in ("b.parquet", "a.parquet", "_SUCCESS.parquet", ".c.parquet", "d.parquet.tmp"):
        FRAME.write_parquet(tmp_path / name)
    (tmp_path / "day=2").mkdir()
    FRAME.write_parquet(tmp_path / "day=2" / "e.parquet")
    os.utime(tmp_path / "b.parquet", ns=(1_000, 1_000))
    os.utime(tmp_path / "a.parquet", ns=(2_000, 2_000))
    os.utime(tmp_path / "day=2" / "e.parquet", ns=(2_000, 2_000))

    files = list_landing_files(tmp_path, FolderSource(kind="parquet_dir", path="x"))

    assert [f.name for f in files] == ["b.parquet", "a.parquet", "day=2/e.parquet"]


def test_a_missing_landing_folder_is_named(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"landing folder .*nowhere does not exist"):
        list_landing_files(tmp_path / "nowhere", FolderSource(kind="csv_dir", path="x"))


def test_the_fingerprint_is_the_sha256_of_the_bytes(tmp_path: Path) -> None:
    path = tmp_path / "a.parquet"
    FRAME.write_parquet(path)
    assert file_fingerprint(path) == hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize(
    ("kind", "file"), [("parquet_dir", "a.parquet"), ("csv_dir", "a.csv"), ("jsonl_dir", "a.jsonl")]
)
def test_files_stream_in_chunks_of_at_most_chunk_rows(tmp_path: Path, kind: str, file: str) -> None:
    path = tmp_path / file
    writers: dict[str, Callable[[Path], object]] = {
        "parquet_dir": FRAME.write_parquet,
        "csv_dir": FRAME.write_csv,
        "jsonl_dir": FRAME.write_ndjson,
    }
    writers[kind](path)

    chunks = read_all(path, kind, chunk_rows=10)

    assert [c.height for c in chunks] == [10, 10, 5]
    whole = pl.concat(chunks)
    assert whole["id"].to_list() == FRAME["id"].to_list()
    if kind == "csv_dir":  # CSV is text; the contract's types are applied by validation
        assert whole.schema["amount"] == pl.String


def test_a_csv_with_a_header_and_no_rows_is_one_empty_batch(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text("id,amount,channel\n")
    chunks = read_all(path, "csv_dir")
    assert len(chunks) == 1
    assert chunks[0].height == 0
    assert chunks[0].columns == ["id", "amount", "channel"]


def test_a_csv_delimiter_is_honoured(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text("id;amount\nk1;1.5\n")
    (chunk,) = read_all(path, "csv_dir", delimiter=";")
    assert chunk.rows() == [("k1", "1.5")]


def _truncated_parquet(path: Path) -> None:
    FRAME.write_parquet(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


BAD_FILES = {
    "truncated parquet": (
        "parquet_dir",
        "t.parquet",
        _truncated_parquet,
        "not a readable Parquet file: it is truncated or not Parquet",
    ),
    "not parquet": (
        "parquet_dir",
        "n.parquet",
        lambda p: p.write_text("id,amount\n1,2\n"),
        "not a readable Parquet file",
    ),
    "broken quote": (
        "csv_dir",
        "q.csv",
        lambda p: p.write_text('id,amount\nk1,1\nk2,"2\nk3,3\n'),
        "a quoted field opened on line 3 is never closed",
    ),
    "wrong encoding": (
        "csv_dir",
        "e.csv",
        lambda p: p.write_bytes("id,channel\nk1,web\nk2,caf\xe9\n".encode("latin-1")),
        r"not UTF-8 text: byte 0xe9 at offset 24 \(line 3\)",
    ),
    "empty csv": (
        "csv_dir",
        "z.csv",
        lambda p: p.write_bytes(b""),
        r"the file is empty \(0 bytes\)",
    ),
    "empty parquet": ("parquet_dir", "z.parquet", lambda p: p.write_bytes(b""), "empty"),
    "empty jsonl": ("jsonl_dir", "z.jsonl", lambda p: p.write_bytes(b""), "empty"),
    "bad json line": (
        "jsonl_dir",
        "j.jsonl",
        lambda p: p.write_text('{"id": "k1"}\n{"id": \n'),
        r"line 2 is not valid JSON \(Expecting value\)",
    ),
}


@pytest.mark.parametrize("case", BAD_FILES, ids=list(BAD_FILES))
def test_unreadable_files_raise_a_message_naming_the_file_and_the_problem(
    tmp_path: Path, case: str
) -> None:
    kind, file, make, message = BAD_FILES[case]
    path = tmp_path / file
    make(path)
    with pytest.raises(DataError, match=message) as raised:
        read_all(path, kind)
    assert str(path) in raised.value.message
    assert "Traceback" not in raised.value.message


def test_utf8_lossy_reads_a_latin1_csv(tmp_path: Path) -> None:
    path = tmp_path / "e.csv"
    path.write_bytes("id,channel\nk1,caf\xe9\n".encode("latin-1"))
    (chunk,) = read_all(path, "csv_dir", encoding="utf8-lossy")
    assert chunk["channel"][0].startswith("caf")


# -- SQL ------------------------------------------------------------------------------------------
@pytest.fixture
def sql_url(database_url: str) -> str:
    """A database holding an ``applications`` table: SQLite, or the test PostgreSQL server."""
    url = database_url
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(url)
    t0 = datetime(2024, 1, 1)
    with engine.begin() as conn:
        conn.execute(
            sa.text("CREATE TABLE applications (id INTEGER, seen_at TIMESTAMP, amount FLOAT)")
        )
        # Every 3 rows share a timestamp: a timestamp cursor with ties.
        conn.execute(
            sa.text("INSERT INTO applications VALUES (:id, :seen_at, :amount)"),
            [
                {"id": i, "seen_at": t0 + timedelta(minutes=i // 3), "amount": float(i)}
                for i in range(20)
            ],
        )
    engine.dispose()
    return url


def drain(reader: SqlReader, after: Any = None) -> list[pl.DataFrame]:
    frames = []
    while (batch := reader.next_batch(after)) is not None:
        frames.append(batch.frame)
        assert batch.cursor_from == after
        after = batch.cursor_to
    return frames


def test_a_sql_table_is_read_in_cursor_order_batch_rows_at_a_time(sql_url: str) -> None:
    reader = SqlReader(
        SqlSource(kind="sql", url=sql_url, table="applications", cursor="id", batch_rows=6)
    )
    frames = drain(reader)
    reader.close()
    assert [f.height for f in frames] == [6, 6, 6, 2]
    assert pl.concat(frames)["id"].to_list() == list(range(20))


def test_a_cursor_with_ties_never_splits_equal_values_between_batches(sql_url: str) -> None:
    reader = SqlReader(
        SqlSource(kind="sql", url=sql_url, table="applications", cursor="seen_at", batch_rows=4)
    )
    frames = drain(reader)
    reader.close()
    assert sorted(pl.concat(frames)["id"].to_list()) == list(range(20))
    for frame in frames:
        assert frame.height % 3 == 0 or frame is frames[-1]  # whole groups of three
    tops: list[Any] = [f["seen_at"].max() for f in frames]
    bottoms: list[Any] = [f["seen_at"].min() for f in frames]
    assert all(top < bottom for top, bottom in zip(tops, bottoms[1:], strict=False))


def test_a_sql_query_is_read_incrementally_from_a_high_water_mark(sql_url: str) -> None:
    source = SqlSource(
        kind="sql",
        url=sql_url,
        query="SELECT id, amount FROM applications WHERE amount >= 5",
        cursor="id",
        batch_rows=100,
    )
    reader = SqlReader(source)
    batch = reader.next_batch(11)
    assert batch is not None
    assert batch.frame["id"].to_list() == list(range(12, 20))
    assert reader.next_batch(19) is None
    reader.close()


def test_the_same_rows_have_the_same_fingerprint(sql_url: str) -> None:
    source = SqlSource(kind="sql", url=sql_url, table="applications", cursor="id", batch_rows=5)
    first, second = SqlReader(source), SqlReader(source)
    a, b = first.next_batch(None), second.next_batch(None)
    assert a is not None and b is not None
    assert a.fingerprint == b.fingerprint
    c = first.next_batch(a.cursor_to)
    assert c is not None and c.fingerprint != a.fingerprint
    first.close()
    second.close()


def test_an_unreachable_sql_source_is_a_data_error_without_the_password() -> None:
    source = SqlSource(
        kind="sql",
        url="postgresql+psycopg://reader:s3cret@127.0.0.1:1/nowhere?connect_timeout=2",
        table="applications",
        cursor="id",
    )
    with pytest.raises(DataError, match="SQL source postgresql") as raised:
        SqlReader(source).next_batch(None)
    assert "s3cret" not in str(raised.value)
    assert "s3cret" not in sql_identity(source)


def test_a_missing_table_is_a_data_error(tmp_path: Path) -> None:
    source = SqlSource(kind="sql", url=f"sqlite:///{tmp_path / 'x.db'}", table="nope", cursor="id")
    with pytest.raises(DataError, match="nope"):
        SqlReader(source).next_batch(None)


def test_environment_variables_in_the_url_are_expanded(
    sql_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHARTER_TEST_SOURCE_URL", sql_url)
    reader = SqlReader(
        SqlSource(kind="sql", url="${CHARTER_TEST_SOURCE_URL}", table="applications", cursor="id")
    )
    assert reader.next_batch(None) is not None
    reader.close()
    with pytest.raises(DataError, match="CHARTER_TEST_UNSET"):
        SqlReader(SqlSource(kind="sql", url="${CHARTER_TEST_UNSET}", table="t", cursor="id"))


@pytest.mark.parametrize(
    "value",
    [
        None,
        7,
        2.5,
        "abc",
        datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC),
        date(2024, 1, 2),
        Decimal("1.25"),
    ],
)
def test_cursor_values_round_trip_through_their_stored_form(value: Any) -> None:
    assert decode_cursor(encode_cursor(value)) == value
