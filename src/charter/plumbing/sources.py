"""Where live rows come from: landing folders of files, and SQL tables or queries read by a cursor.

A *batch* is one landing file, or one cursor range of a SQL source. Every batch has a fingerprint
(the SHA-256 of the file's bytes, or of the canonical rows for SQL) from which ingestion derives a
deterministic batch id, so a re-run after a crash recognises the work it already did.

Reading never loads a whole file: files are streamed in chunks of ``chunk_rows`` rows, so a landing
file larger than memory is processed in bounded memory (:mod:`charter.engines.polars.file_reading`: Parquet page
checksums, file names that are not UTF-8, reserved column names). Anything unreadable (a truncated
or corrupt Parquet file, a CSV quote that never closes, a ragged row, bytes that are not UTF-8, an
empty file, an unreachable database) raises :class:`~charter.errors.DataError` with a message
naming the file and what is wrong, in words rather than a reader's internals
(:mod:`.read_errors`). When a file is complete enough to read is :mod:`.landing`'s concern.
"""

from __future__ import annotations

import hashlib
import json
import stat as stat_mode
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl
import sqlalchemy as sa
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError

from charter import redaction
from charter.engines.base import Engine
from charter.engines.polars.file_reading import file_frames, readable, rename_reserved, utf8_path
from charter.errors import DataError
from charter.plumbing.delta_source import DELTA_KIND, delta_version_frames, list_delta_versions
from charter.plumbing.read_errors import explain_read_error, first_line
from charter.redaction import MissingEnvironmentError, redact_text, redact_url
from charter.spec.model import FolderSource, SqlSource

DEFAULT_CHUNK_ROWS = 1_000_000
DEFAULT_PATTERNS = {"parquet_dir": "**/*.parquet", "csv_dir": "**/*.csv", "jsonl_dir": "**/*.jsonl"}
_HASH_BLOCK = 1 << 20


# -- landing folders ----------------------------------------------------------------------------
@dataclass(frozen=True)
class LandingFile:
    """A file in a landing folder, as it was when the folder was listed."""

    path: Path
    name: str  # relative to the landing folder, with forward slashes: the checkpoint key
    size: int
    mtime_ns: int

    def changed(self) -> bool:
        """Has the file been modified since it was listed (a writer still at work)?"""
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            return True
        return (stat.st_size, stat.st_mtime_ns) != (self.size, self.mtime_ns)


def folder_identity(source: FolderSource) -> str:
    """The source part of a batch id: the folder as the charter names it, not the file name,
    so the same bytes delivered twice under two names are recognised as one batch."""
    return f"{source.kind}:{source.path}"


def list_landing_files(folder: Path, source: FolderSource) -> list[LandingFile]:
    """The folder's data files in arrival order (mtime, then name).

    Names starting with ``.`` or ``_`` (``_SUCCESS``, ``.part`` files of writers in progress) and
    names ending in ``.tmp`` (or ``.done``, with ``marker: done``) are skipped: landing writers
    should write elsewhere and rename. A file that vanishes while the folder is listed is left out.
    """
    if not folder.is_dir():
        raise DataError(
            f"landing folder {readable(folder)} does not exist",
            hint="Create it, or fix data.source.path in the charter.",
        )
    if source.kind == DELTA_KIND:  # each commit of the table's log is a batch (.delta_source)
        versions = []
        for path, name, _ in list_delta_versions(folder):
            stat = path.stat()
            versions.append(LandingFile(path, name, stat.st_size, stat.st_mtime_ns))
        return versions
    pattern = source.pattern or DEFAULT_PATTERNS[source.kind]
    skipped = (".tmp", ".done") if source.marker == "done" else (".tmp",)
    files = []
    for path in folder.glob(pattern):
        relative = path.relative_to(folder)
        if any(part.startswith((".", "_")) for part in relative.parts) or path.suffix in skipped:
            continue
        name = readable(relative.as_posix())
        try:
            stat = path.stat()
        except FileNotFoundError:
            continue
        except OSError:  # e.g. a symbolic link loop: listed, so that reading it fails it alone
            files.append(LandingFile(path, name, -1, 0))
            continue
        if not stat_mode.S_ISREG(stat.st_mode):
            continue
        files.append(LandingFile(path, name, stat.st_size, stat.st_mtime_ns))
    return sorted(files, key=lambda f: (f.mtime_ns, f.name))


def file_fingerprint(path: Path) -> str:
    """SHA-256 of the file's bytes, read in blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(_HASH_BLOCK):
            digest.update(block)
    return digest.hexdigest()


def read_file_chunks(
    file: LandingFile,
    source: FolderSource,
    *,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    renamed: dict[str, str] | None = None,
    engine: Engine | None = None,
) -> Iterator[pl.DataFrame]:
    """Stream the file as frames of at most ``chunk_rows`` rows.

    The local engine (``engine`` None or ``polars``) streams it; another engine reads it whole
    with its own readers (:meth:`~charter.engines.base.Engine.read`), then it is cut the same way.

    CSV values are read as text: turning text into the contract's types is validation's job, so a
    bad value quarantines its row instead of failing the file. A file with a header and no rows
    yields one empty frame. Reserved column names are renamed (recorded in ``renamed``). Any
    error while reading is a :class:`~charter.errors.DataError` naming the file.
    """
    where = readable(file.path)
    if file.size == 0:
        raise DataError(f"{where}: the file is empty (0 bytes)")
    try:
        with utf8_path(file.path) as path:
            for chunk in _frames(engine, path, source, chunk_rows):
                frame, renames = rename_reserved(chunk)
                if renamed is not None:
                    renamed.update(renames)
                yield frame
    except DataError:
        raise
    except FileNotFoundError as exc:
        raise DataError(
            f"{where}: the file was removed while it was being read (by another job?); "
            "nothing of it was committed"
        ) from exc
    except (Exception, pl.exceptions.PanicException) as exc:
        with utf8_path(file.path) as path:
            problem = explain_read_error(exc, path, source)
        raise DataError(f"{where}: {problem}") from exc


def _frames(
    engine: Engine | None, path: Path, source: FolderSource, chunk_rows: int
) -> Iterator[pl.DataFrame]:
    if source.kind == DELTA_KIND:  # the log and files read here, whichever the engine
        yield from delta_version_frames(path, chunk_rows)
        return
    if engine is None or engine.name == "polars":
        yield from file_frames(path, source, chunk_rows)
        return
    whole = pl.from_arrow(engine.read(path, source), rechunk=False)
    assert isinstance(whole, pl.DataFrame)
    yield from whole.iter_slices(chunk_rows) if whole.height else iter([whole])


# -- SQL ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SqlBatch:
    """Rows of a SQL source with ``cursor_from < cursor <= cursor_to``."""

    frame: pl.DataFrame
    cursor_from: Any
    cursor_to: Any
    fingerprint: str


def sql_identity(source: SqlSource) -> str:
    """The source part of a batch id and the cursor checkpoint key (never holds a password)."""
    what = (
        f"table={source.table}"
        if source.table
        else f"query={hashlib.sha256((source.query or '').encode()).hexdigest()[:16]}"
    )
    return f"sql:{redact_url(source.url)}:{what}:cursor={source.cursor}"


def expand_env(url: str, *, strict: bool = True, charter: str = "") -> str:
    """Replace ``${NAME}`` with the environment variable, so passwords stay out of charter files.

    Called only where the URL is used to connect; what is shown or stored keeps the reference.
    """
    try:
        return redaction.expand_env(url, what="the SQL source URL", strict=strict, charter=charter)
    except MissingEnvironmentError as exc:
        raise DataError(exc.message, hint=exc.hint) from None


class SqlReader:
    """Reads a table or query in cursor order, ``batch_rows`` rows at a time.

    A batch always holds whole groups of equal cursor values, so a cursor that is not unique (a
    timestamp) never splits rows between a committed batch and the next one. Rows that become
    visible later below the high-water mark are found by ingestion's look-back window
    (:mod:`.ingest_sql`), not here.
    """

    def __init__(self, source: SqlSource, *, charter: str = "") -> None:
        self.source = source
        self.where = redact_url(source.url)
        try:
            self.engine = sa.create_engine(expand_env(source.url, charter=charter))
        except (ArgumentError, NoSuchModuleError, ImportError) as exc:
            raise DataError(
                f"SQL source {self.where}: not a usable SQLAlchemy URL: {redact_text(str(exc))}"
            ) from exc
        if source.table:
            schema, _, name = source.table.rpartition(".")
            self.relation: sa.FromClause = sa.table(
                name, sa.column(source.cursor), schema=schema or None
            )
        else:
            text = sa.text(source.query or "").columns(sa.column(source.cursor))
            self.relation = text.subquery("charter_source")
        self.cursor_col: sa.ColumnElement[Any] = self.relation.c[source.cursor]

    def next_batch(self, after: Any | None) -> SqlBatch | None:
        """The next batch after high-water mark ``after`` (None: from the start), or None."""
        try:
            with self.engine.connect() as conn:
                since = (
                    self.cursor_col > after if after is not None else self.cursor_col.is_not(None)
                )
                edge = conn.execute(
                    sa.select(self.cursor_col)
                    .select_from(self.relation)
                    .where(since)
                    .order_by(self.cursor_col)
                    .offset(self.source.batch_rows - 1)
                    .limit(1)
                ).scalar()
                upto = self.cursor_col <= edge if edge is not None else sa.true()
                query: sa.Select[Any] = (
                    sa.select(sa.literal_column("*"))
                    .select_from(self.relation)
                    .where(since, upto)
                    .order_by(self.cursor_col)
                )
                frame = pl.read_database(query, conn, infer_schema_length=None)
        except SQLAlchemyError as exc:
            raise DataError(f"SQL source {self.where}: {redact_text(first_line(exc))}") from exc
        if frame.height == 0:
            return None
        if self.source.cursor not in frame.columns:
            raise DataError(
                f"SQL source {self.where}: no column {self.source.cursor!r} to use as the cursor"
            )
        cursor_to = frame[self.source.cursor].max()
        return SqlBatch(frame, after, cursor_to, frame_fingerprint(frame))

    def count_null_cursors(self) -> int:
        """Rows whose cursor is NULL: no cursor range reaches them."""
        query = sa.select(sa.func.count()).select_from(self.relation)
        try:
            with self.engine.connect() as conn:
                return int(conn.execute(query.where(self.cursor_col.is_(None))).scalar() or 0)
        except SQLAlchemyError as exc:
            raise DataError(f"SQL source {self.where}: {first_line(exc)}") from exc

    def close(self) -> None:
        self.engine.dispose()


def frame_fingerprint(frame: pl.DataFrame) -> str:
    """SHA-256 of the rows in a canonical text form (column names, types, then CSV rows)."""
    digest = hashlib.sha256(repr(list(frame.schema.items())).encode())
    digest.update(frame.write_csv(null_value="\\N").encode())
    return digest.hexdigest()


def encode_cursor(value: Any) -> str | None:
    """A cursor value as JSON text tagged with its type, to store as the high-water mark."""
    if value is None:
        return None
    if isinstance(value, bool | int | float | str):
        return json.dumps({"type": type(value).__name__, "value": value})
    if isinstance(value, datetime | date):
        return json.dumps({"type": type(value).__name__, "value": value.isoformat()})
    if isinstance(value, Decimal):
        return json.dumps({"type": "decimal", "value": str(value)})
    raise DataError(f"cursor values of type {type(value).__name__} are not supported")


def decode_cursor(text: str | None) -> Any:
    if text is None:
        return None
    tagged = json.loads(text)
    kind, value = tagged["type"], tagged["value"]
    if kind == "datetime":
        return datetime.fromisoformat(value)
    if kind == "date":
        return date.fromisoformat(value)
    if kind == "decimal":
        return Decimal(value)
    return value
