"""Landing files: none read half-written, a bad or vanishing file fails alone, odd names and columns.

On SQLite and PostgreSQL. The settle period is judged from the file's modification time, so the
tests move time by setting a file's mtime back (``os.utime``), never by waiting.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa

from charter.plumbing import ingest as ingest_module
from charter.plumbing.ingest import ingest
from charter.settings import Settings
from charter.store.tables import AuditEntry, IngestFile

pytestmark = pytest.mark.postgres
CSV_SOURCE = "{kind: csv_dir, path: landing/credit-default/}"


def age(path: Path, seconds: float) -> None:
    """Make the file look last modified ``seconds`` ago."""
    then = time.time_ns() - int(seconds * 1e9)
    os.utime(path, ns=(then, then))


def csv_text(frame: pl.DataFrame) -> str:
    return frame.write_csv()


# -- no partial file ---------------------------------------------------------------------------
def test_a_csv_whose_writer_paused_mid_line_is_not_read_until_it_has_settled(
    kit: Any, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CHARTER_INGEST_SETTLE")  # the charter's default: 30s
    kit.set_source(CSV_SOURCE)
    whole = csv_text(kit.rows(0, 6))
    cut = whole.index("k4") + 1  # the writer stopped inside row k4
    path = kit.landing / "a.csv"
    path.write_text(whole[:cut])
    age(path, 5)

    waiting = cli("ingest", kit.name, "--json")

    assert waiting.code == 0
    body = waiting.json()
    assert body["batches"] == [] and body["files_failed"] == []
    (entry,) = body["files_waiting"]
    assert entry["file"] == "a.csv"
    assert "data.source.settle" in entry["reason"]
    assert not list((kit.ws.state_dir / "predictions").rglob("*.parquet"))

    with path.open("a") as handle:  # the writer resumes and finishes
        handle.write(whole[cut:])
    age(path, 31)

    done = cli("ingest", kit.name, "--json").json()

    assert done["files_waiting"] == []
    assert [(b["file"], b["rows_in"], b["rows_scored"]) for b in done["batches"]] == [
        ("a.csv", 6, 6)
    ]
    assert sorted(kit.predictions()["key"].to_list()) == [f"k{i}" for i in range(6)]


def test_the_environment_overrides_the_charters_settle_period(
    kit: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    kit.set_source("{kind: csv_dir, path: landing/credit-default/, settle: 0s}")
    monkeypatch.setenv("CHARTER_INGEST_SETTLE", "2m")
    kit.ws.settings = Settings()
    age(kit.write("a.csv", kit.rows(0, 2)), 90)

    assert ingest(kit.ws, kit.name).files_waiting[0]["file"] == "a.csv"

    monkeypatch.delenv("CHARTER_INGEST_SETTLE")
    kit.ws.settings = Settings()  # unset: the charter's 0s
    assert [b.source for b in ingest(kit.ws, kit.name).batches] == ["a.csv"]


def test_with_marker_success_only_folders_holding_a_success_file_are_read(kit: Any) -> None:
    kit.set_source("{kind: parquet_dir, path: landing/credit-default/, marker: success}")
    kit.write("day=1/part-0.parquet", kit.rows(0, 3))
    kit.write("day=2/part-0.parquet", kit.rows(3, 3, hours=1))
    (kit.landing / "day=1" / "_SUCCESS").touch()

    report = ingest(kit.ws, kit.name).to_dict()

    assert [b["file"] for b in report["batches"]] == ["day=1/part-0.parquet"]
    assert [w["file"] for w in report["files_waiting"]] == ["day=2/part-0.parquet"]
    assert "_SUCCESS" in report["files_waiting"][0]["reason"]

    (kit.landing / "day=2" / "_SUCCESS").touch()
    assert [b.source for b in ingest(kit.ws, kit.name).batches] == ["day=2/part-0.parquet"]


def test_with_marker_done_a_file_is_read_once_its_done_file_is_beside_it(kit: Any) -> None:
    kit.set_source("{kind: csv_dir, path: landing/credit-default/, marker: done, pattern: '*'}")
    kit.write("a.csv", kit.rows(0, 2))
    kit.write("b.csv", kit.rows(2, 2))
    (kit.landing / "a.csv.done").touch()

    report = ingest(kit.ws, kit.name).to_dict()

    assert [b["file"] for b in report["batches"]] == ["a.csv"]  # the .done file is no data
    assert report["files_waiting"] == [
        {"file": "b.csv", "reason": "no b.csv.done marker beside it yet (data.source.marker: done)"}
    ]


# -- a corrupt Parquet file fails alone ---------------------------------------------------------
def test_a_parquet_file_with_flipped_bytes_fails_alone_by_its_page_checksum(kit: Any) -> None:
    kit.write("a.parquet", kit.rows(0, 5))
    table = kit.rows(5, 2000).to_arrow()
    bad = kit.landing / "b.parquet"
    pq.write_table(table, bad, compression="none", write_page_checksum=True)
    column = pq.ParquetFile(bad).metadata.row_group(0).column(2)  # amount: plain doubles
    middle = column.data_page_offset + column.total_compressed_size // 2
    data = bytearray(bad.read_bytes())
    for i in range(middle, middle + 8):
        data[i] ^= 0xFF
    bad.write_bytes(bytes(data))
    os.utime(bad, ns=(bad.stat().st_mtime_ns + 10**9,) * 2)
    kit.write("c.parquet", kit.rows(3000, 5, hours=1))
    os.utime(kit.landing / "c.parquet", ns=(bad.stat().st_mtime_ns + 10**9,) * 2)

    report = ingest(kit.ws, kit.name).to_dict()

    assert [b["file"] for b in report["batches"]] == ["a.parquet", "c.parquet"]
    (failed,) = report["files_failed"]
    assert failed["file"] == "b.parquet"
    assert "corrupt: a data page fails its checksum (CRC)" in failed["error"]
    assert kit.predictions().height == 10  # not one value of the damaged file was logged
    with kit.ws.db.read() as session:
        row = session.scalar(sa.select(IngestFile).where(IngestFile.path == "b.parquet"))
    assert row is not None and row.status == "failed"


def test_a_corrupted_zstd_parquet_file_is_reported_corrupt_not_truncated(kit: Any) -> None:
    frame = pl.DataFrame({"id": [f"k{i}" for i in range(5000)], "note": ["web branch"] * 5000})
    path = kit.landing / "z.parquet"
    pq.write_table(frame.to_arrow(), path, compression="zstd", use_dictionary=False)
    column = pq.ParquetFile(path).metadata.row_group(0).column(1)
    middle = column.data_page_offset + column.total_compressed_size // 2
    data = bytearray(path.read_bytes())
    for i in range(middle, middle + 16):
        data[i] ^= 0xFF
    path.write_bytes(bytes(data))

    (failed,) = ingest(kit.ws, kit.name).files_failed

    assert "corrupt:" in failed["error"]
    assert "no valid footer" not in failed["error"]


# -- one file never stops the run ---------------------------------------------------------------
def test_a_ragged_csv_row_names_the_file_and_line_and_fails_alone(kit: Any) -> None:
    kit.set_source(CSV_SOURCE)
    (kit.landing / "a.csv").write_text(
        "id,event_at,amount,channel\nk1,2024-03-01T08:00,1,web\nk2,2024-03-01T08:01,2,web,x\n"
    )
    kit.write("b.csv", kit.rows(10, 2))

    report = ingest(kit.ws, kit.name).to_dict()

    assert [b["file"] for b in report["batches"]] == ["b.csv"]
    error = report["files_failed"][0]["error"]
    assert error == (
        f"{kit.landing / 'a.csv'}: line 3 has 5 fields but the header has 4: quote values "
        "that contain the delimiter ',', or fix that line"
    )


def test_nan_in_json_lines_names_the_line_and_what_to_write_instead(kit: Any) -> None:
    kit.set_source("{kind: jsonl_dir, path: landing/credit-default/}")
    (kit.landing / "a.jsonl").write_text(
        '{"id": "k1", "amount": 1.0, "channel": "web"}\n'
        '{"id": "k2", "amount": NaN, "channel": "web"}\n'
    )

    (failed,) = ingest(kit.ws, kit.name).files_failed

    assert "line 2 holds NaN, which is not valid JSON: write null" in failed["error"]
    assert "TapeError" not in failed["error"]


def test_a_column_named_row_is_renamed_on_read_and_the_run_says_so(kit: Any) -> None:
    frame = kit.rows(0, 3).with_columns(
        _row=pl.Series([7, 8, 9]), amount=pl.Series([1.0, -1.0, 2.0])
    )
    kit.write("a.parquet", frame)

    report = ingest(kit.ws, kit.name).to_dict()

    (batch,) = report["batches"]
    assert (batch["rows_scored"], batch["rows_quarantined"]) == (2, 1)
    assert report["warnings"] == [
        {
            "source": "a.parquet",
            "warning": "column _row is reserved by charter; it was read as _row_in_file",
        }
    ]
    quarantined = kit.quarantine()
    assert quarantined["_row"].to_list() == [1]  # charter's row index in the batch
    assert quarantined["_row_in_file"].to_list() == [8]  # the file's own column, kept


def test_a_file_name_that_is_not_utf8_is_read_and_shown_readably(kit: Any, cli: Any) -> None:
    kit.set_source(CSV_SOURCE)
    raw = os.fsencode(kit.landing) + b"/caf\xe9.csv"
    with open(raw, "wb") as handle:
        handle.write(csv_text(kit.rows(0, 3)).encode())
    with open(os.fsencode(kit.landing) + b"/bad\xff.csv", "wb") as handle:
        handle.write(b'id,amount\nk9,"open\n')

    result = cli("ingest", kit.name)
    again = cli("ingest", kit.name, "--json").json()

    assert result.code == 5  # ran, but a file failed: needs attention
    assert "caf\\xe9.csv: 3 in = 3 scored + 0 quarantined" in result.stdout
    assert "FAILED bad\\xff.csv:" in result.stdout
    assert again["batches"] == []  # checkpointed under its readable name
    assert again["files_skipped"][0]["file"] == "bad\\xff.csv"
    assert kit.predictions().height == 3


def test_a_file_removed_during_the_run_fails_alone_and_committed_batches_are_reported(
    kit: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    for n, name in enumerate(("a", "b", "c", "d")):
        path = kit.write(f"{name}.parquet", kit.rows(n * 10, 5, hours=n))
        os.utime(path, ns=(10**18 + n * 10**9,) * 2)
    real_read, real_fingerprint = ingest_module.read_file_chunks, ingest_module.file_fingerprint  # type: ignore[attr-defined]

    def read_then_vanish(file: Any, *args: Any, **kwargs: Any) -> Any:
        for chunk in real_read(file, *args, **kwargs):
            if file.name == "b.parquet":
                file.path.unlink()  # another job moves it away while it is being read
            yield chunk

    def vanish_before_reading(path: Path) -> str:
        if path.name == "c.parquet":
            path.unlink()
        return real_fingerprint(path)

    monkeypatch.setattr(ingest_module, "read_file_chunks", read_then_vanish)
    monkeypatch.setattr(ingest_module, "file_fingerprint", vanish_before_reading)

    report = ingest(kit.ws, kit.name).to_dict()

    assert [b["file"] for b in report["batches"]] == ["a.parquet", "d.parquet"]
    assert report["rows_in"] == 10
    failed = {f["file"]: f["error"] for f in report["files_failed"]}
    assert "removed while it was being read" in failed["b.parquet"]
    assert "nothing of it was committed" in failed["b.parquet"]
    assert "removed before it was read" in failed["c.parquet"]
    assert sorted(set(kit.predictions()["batch_id"])) == sorted(
        b["batch_id"] for b in report["batches"]
    )
    with kit.ws.db.read() as session:
        actions = session.scalars(sa.select(AuditEntry.action)).all()
    assert actions.count("ingest.file_failed") == 2


def test_a_file_that_cannot_be_opened_fails_alone(kit: Any) -> None:
    kit.write("a.parquet", kit.rows(0, 2))
    (kit.landing / "b.parquet").symlink_to("b.parquet")  # a link to itself: no file behind it

    report = ingest(kit.ws, kit.name).to_dict()
    again = ingest(kit.ws, kit.name).to_dict()

    assert [b["file"] for b in report["batches"]] == ["a.parquet"]
    (failed,) = report["files_failed"]
    assert failed["file"] == "b.parquet"
    assert "cannot be read: Too many levels of symbolic links" in failed["error"]
    assert again["files_failed"] == [] and again["files_skipped"][0]["file"] == "b.parquet"


def test_an_arrow_table_written_with_many_small_row_groups_is_still_read_in_full_chunks(
    kit: Any,
) -> None:
    path = kit.landing / "a.parquet"
    pq.write_table(kit.rows(0, 95).to_arrow(), path, row_group_size=7)

    (batch,) = ingest(kit.ws, kit.name, chunk_rows=40).to_dict()["batches"]

    assert batch["rows_in"] == 95
    assert len(batch["predictions"]) == 3  # 40 + 40 + 15, not one part per row group


def test_the_demo_charter_reads_the_files_it_writes_without_waiting() -> None:
    """`make demo` runs without CHARTER_INGEST_SETTLE: its charter must not wait 30s per file."""
    import importlib.resources

    from charter.spec.loader import parse_charter
    from charter.spec.model import FolderSource

    text = (importlib.resources.files("charter.demo") / "charter.yaml").read_text()
    source = parse_charter(text).charter.data.source
    assert isinstance(source, FolderSource)
    assert source.settle.total_seconds() == 0


def test_a_parquet_file_decoding_fewer_rows_than_its_metadata_says_fails_alone(
    kit: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A reader that silently drops data, as a bug might (charter.engines.polars.file_reading uses pq).
    class LosesARowGroup(pq.ParquetFile):  # type: ignore[misc]
        def iter_batches(self, *args: Any, **kwargs: Any) -> Any:
            batches = super().iter_batches(*args, **kwargs)
            next(batches)
            yield from batches

    monkeypatch.setattr(pq, "ParquetFile", LosesARowGroup)
    pq.write_table(kit.rows(0, 30).to_arrow(), kit.landing / "a.parquet", row_group_size=10)

    report = ingest(kit.ws, kit.name, chunk_rows=10).to_dict()

    assert report["batches"] == []
    assert (
        "corrupt: 20 rows were decoded but the file's metadata says 30"
        in (report["files_failed"][0]["error"])
    )
    assert kit.predictions().height == 0
