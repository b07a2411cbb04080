"""Reading one landing file safely: Parquet with page checksums, odd file names, reserved columns.

- **Parquet** is read with pyarrow, verifying each data page's CRC where the writer stored one
  (``page_checksum_verification``), and the rows decoded are counted against the row count in the
  file's footer: a file whose pages were damaged after it was written fails instead of feeding
  wrong values to the model. (Polars' reader checks neither.)
- **File names that are not UTF-8** (bytes from another system's encoding) are kept as the bytes
  they are for opening the file (``os.fsencode``) and shown with ``\\xNN`` escapes
  (:func:`readable`), which is also the name the checkpoint records.
- **Reserved column names**: charter adds ``_row``, ``_violations``, ``_batch_id`` and
  ``_ingested_at`` to the quarantine. A file's own column of that name is renamed on read to
  ``<name>_in_file`` (``_in_file_2``, ... if that is taken too) and the batch says so.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from charter.errors import DataError
from charter.spec.model import FolderSource

RESERVED_COLUMNS = ("_row", "_violations", "_batch_id", "_ingested_at")


def readable(path: Path | str) -> str:
    """The path as text fit to print and store: bytes that are not UTF-8 become ``\\xNN``."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


@contextlib.contextmanager
def utf8_path(path: Path) -> Iterator[Path]:
    """A path the readers can take: the file itself, or a UTF-8-named link to it.

    Polars takes only UTF-8 paths; a name in another encoding is reached through a symbolic link
    in a private temporary folder, so the file is still streamed rather than loaded whole.
    """
    if readable(path) == str(path):
        yield path
        return
    with tempfile.TemporaryDirectory(prefix="charter-read-") as folder:
        link = Path(folder) / f"file{''.join(s for s in path.suffixes if s.isascii())}"
        os.symlink(os.fsencode(path.resolve()), os.fsencode(link))
        yield link


def rename_reserved(frame: pl.DataFrame) -> tuple[pl.DataFrame, dict[str, str]]:
    """The frame with its reserved column names renamed, and the renames made."""
    taken = set(frame.columns)
    renames: dict[str, str] = {}
    for name in RESERVED_COLUMNS:
        if name not in taken:
            continue
        new, n = f"{name}_in_file", 1
        while new in taken:
            n += 1
            new = f"{name}_in_file_{n}"
        renames[name] = new
        taken.add(new)
    return (frame.rename(renames) if renames else frame), renames


def parquet_chunks(path: Path, chunk_rows: int) -> Iterator[pl.DataFrame]:
    """Stream a Parquet file in frames of ``chunk_rows`` rows, checking page CRCs and row count.

    Row groups smaller than ``chunk_rows`` are gathered into full chunks, so a file of many small
    row groups does not become many tiny batch parts.
    """
    with pq.ParquetFile(path, page_checksum_verification=True) as parquet:
        expected = parquet.metadata.num_rows
        schema = parquet.schema_arrow
        pending: list[pa.RecordBatch] = []
        held = decoded = 0
        for batch in parquet.iter_batches(batch_size=chunk_rows):
            decoded += batch.num_rows
            pending.append(batch)
            held += batch.num_rows
            while held >= chunk_rows:
                table = pa.Table.from_batches(pending, schema=batch.schema)
                yield _frame(table.slice(0, chunk_rows))
                rest = table.slice(chunk_rows)
                pending, held = rest.to_batches(), rest.num_rows
        if held or decoded == 0:
            table = pa.Table.from_batches(pending, schema=schema if not pending else None)
            yield _frame(table)
        if decoded != expected:
            raise DataError(
                f"{readable(path)}: corrupt: {decoded} rows were decoded but the file's "
                f"metadata says {expected}; ask the producer to send the file again"
            )


def _frame(table: pa.Table) -> pl.DataFrame:
    frame = pl.from_arrow(table, rechunk=False)
    assert isinstance(frame, pl.DataFrame)
    return frame


def file_frames(path: Path, source: FolderSource, chunk_rows: int) -> Iterator[pl.DataFrame]:
    """A landing file in ``source``'s format as frames of at most ``chunk_rows`` rows (CSV as text).

    A file with a header and no rows yields one empty frame."""
    if source.kind == "parquet_dir":
        yield from parquet_chunks(path, chunk_rows)
        return
    scan = _scan(path, source)
    empty = True
    for chunk in scan.collect_batches(chunk_size=chunk_rows):
        if chunk.height:
            empty = False
            yield chunk
    if empty:  # a header and no rows: still one (empty) batch, so its rules are judged
        yield scan.head(0).collect()


def _scan(path: Path, source: FolderSource) -> pl.LazyFrame:
    if source.kind == "csv_dir":
        return pl.scan_csv(
            path, separator=source.delimiter, infer_schema=False, encoding=source.encoding
        )
    # JSON Lines: infer over every line so that a type change deep in the file widens the
    # column to text (validation then judges each value) instead of failing the whole file.
    return pl.scan_ndjson(path, infer_schema_length=None)
