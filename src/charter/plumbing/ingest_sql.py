"""Ingesting a SQL source by its cursor without losing a row: a look-back window, de-duplicated.

A cursor (a sequence, or a timestamp set by ``now()``) is assigned when a row is *inserted*,
but the row becomes visible when its transaction *commits*. A transaction that commits late
leaves a row below the high-water mark a run has already passed; so does a row inserted later
with the last-seen cursor value (a tie). Reading strictly after the mark loses both.

So each run starts ``data.source.lookback`` (10m by default) before the mark and reads the window
again. A row of the window whose key was already ingested (logged or quarantined) by a batch of
this source covering the window is skipped and counted (``rows_reread``); the others, the late
ones, are ingested as a batch of their own. Nothing is lost if a transaction commits within the
look-back of its cursor value, and nothing is ingested twice.

- **timestamp or date cursor**: the window is ``(mark - lookback, mark]`` (at least one day for
  a date cursor);
- **any other cursor** (a sequence): the window starts at the mark as it stood ``lookback``
  before the previous run began, from the committed batches' ``ingested_at`` and ``cursor_to``.

Rows whose cursor is NULL have no place in the cursor order: they are never read, and every run
counts them (``null_cursor_rows``) and warns.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import polars as pl
import sqlalchemy as sa
from sqlalchemy.orm import Session

from charter.errors import DataError
from charter.plumbing.batch_commit import INGEST_LOG, serialised
from charter.plumbing.ingest_batch import Batch, RunState, batch_id_for
from charter.plumbing.lake import joined_keys, lake_for
from charter.plumbing.sources import (
    SqlReader,
    decode_cursor,
    encode_cursor,
    frame_fingerprint,
    sql_identity,
)
from charter.spec.model import SqlSource
from charter.store.tables import IngestBatch, IngestCursor

RunBatch = Callable[[Batch, Iterable[pl.DataFrame], Callable[[Session], None]], str]


@dataclass
class _Mark:
    """Where the source stands: the high-water mark and when the previous run began."""

    value: Any
    previous_run: datetime | None


class SqlIngest:
    """One run over one SQL source."""

    def __init__(self, state: RunState, run_batch: RunBatch, source: SqlSource) -> None:
        self.state, self.run_batch, self.source = state, run_batch, source
        self.ws, self.name, self.report = state.ws, state.name, state.report
        self.identity = sql_identity(source)

    def run(self) -> None:
        try:
            reader = SqlReader(self.source, charter=self.name)
        except DataError as exc:
            self.failed(exc.message)
            return
        try:
            self._read(reader)
        finally:
            reader.close()

    def _read(self, reader: SqlReader) -> None:
        mark = self._stored_mark()
        try:
            nulls = reader.count_null_cursors()
        except DataError as exc:
            self.failed(exc.message)
            return
        self.report.null_cursor_rows = nulls
        if nulls:
            self.report.warn(
                self.identity,
                f"{nulls} rows have a NULL {self.source.cursor} and are not read (no place in "
                "the cursor order); give them a cursor value to have them ingested",
            )
        after = self._window_start(mark)
        ingested = _Ingested(self, after) if after != mark.value else None
        high = mark.value
        while True:
            try:
                found = reader.next_batch(after)
            except DataError as exc:
                self.failed(exc.message)
                return
            if found is None:
                break
            frame = found.frame
            if ingested is not None and mark.value is not None:
                frame = ingested.drop_reread(frame, mark.value)
            if frame.height:
                high = found.cursor_to if high is None else max(high, found.cursor_to)
                self._batch(frame, found.cursor_from, found.cursor_to, high)
            after = found.cursor_to
        self._touch()

    def _batch(self, frame: pl.DataFrame, cursor_from: Any, cursor_to: Any, high: Any) -> None:
        fingerprint = frame_fingerprint(frame)
        frm, to = encode_cursor(cursor_from), encode_cursor(cursor_to)
        batch_id = batch_id_for(self.name, self.identity, f"{frm}..{to}:{fingerprint}")
        label = f"{self.source.cursor} in ({_show(cursor_from)}, {_show(cursor_to)}]"
        batch = Batch(self.state, batch_id, kind="sql", label=label, fingerprint=fingerprint)
        batch.cursor_range = (frm, to)
        mark = encode_cursor(high)

        def checkpoint(session: Session) -> None:
            self._upsert(session, mark, batch_id, None)

        self.run_batch(batch, [frame], checkpoint)

    # -- the window ----------------------------------------------------------------------------
    def _stored_mark(self) -> _Mark:
        with self.ws.db.read() as session:
            row = session.scalar(
                sa.select(IngestCursor).where(
                    IngestCursor.charter == self.name, IngestCursor.source == self.identity
                )
            )
            if row is None:
                return _Mark(None, None)
            return _Mark(decode_cursor(row.high_water), row.updated_at)

    def _window_start(self, mark: _Mark) -> Any:
        lookback = self.source.lookback
        if mark.value is None or lookback <= timedelta(0):
            return mark.value
        if isinstance(mark.value, datetime):
            return mark.value - lookback
        if isinstance(mark.value, date):
            return mark.value - timedelta(days=max(1, math.ceil(lookback / timedelta(days=1))))
        if mark.previous_run is None:
            return mark.value
        cutoff = mark.previous_run - lookback
        marks = [
            value
            for value, at in self.committed_batches()
            if at <= cutoff and type(value) is type(mark.value)
        ]
        return max(marks) if marks else None

    def committed_batches(self) -> list[tuple[Any, datetime]]:
        """(cursor_to, ingested_at) of this source's committed batches."""
        with self.ws.db.read() as session:
            rows = session.execute(
                sa.select(IngestBatch.cursor_to, IngestBatch.ingested_at).where(
                    IngestBatch.charter == self.name,
                    IngestBatch.source_kind == "sql",
                    IngestBatch.source.startswith(f"{self.source.cursor} in ("),
                    IngestBatch.cursor_to.is_not(None),
                )
            ).all()
        return [(decode_cursor(to), at) for to, at in rows]

    # -- the checkpoint ------------------------------------------------------------------------
    def failed(self, error: str) -> None:
        self.report.fail(self.identity, error)
        with serialised(self.ws, INGEST_LOG, self.name) as session:
            self._upsert(session, None, None, error, keep_mark=True)
            self.ws.ledger.append(
                session,
                "ingest.source_failed",
                {"source": self.identity, "error": error},
                actor=self.ws.context.who,
                charter=self.name,
            )

    def _touch(self) -> None:
        """Record when this run began: the next run's look-back of a sequence starts from it."""
        with serialised(self.ws, INGEST_LOG, self.name) as session:
            self._upsert(session, None, None, None, keep_mark=True, at=self.state.now)

    def _upsert(
        self,
        session: Session,
        high_water: str | None,
        batch_id: str | None,
        error: str | None,
        *,
        keep_mark: bool = False,
        at: datetime | None = None,
    ) -> None:
        row = session.scalar(
            sa.select(IngestCursor).where(
                IngestCursor.charter == self.name, IngestCursor.source == self.identity
            )
        )
        if row is None:
            row = IngestCursor(charter=self.name, source=self.identity)
            session.add(row)
        if not keep_mark:
            row.high_water, row.batch_id = high_water, batch_id
        row.error, row.updated_at = error, at or datetime.now(UTC)


class _Ingested:
    """The keys already ingested (logged or quarantined) by this source's batches in the window,
    and the quarantined rows that had no key, to match whole."""

    def __init__(self, run: SqlIngest, start: Any) -> None:
        key = run.state.loaded.charter.data.key
        self.key, self.cursor = key, run.source.cursor
        lake = lake_for(run.ws)
        predictions: list[str] = []
        quarantine: list[str] = []
        with run.ws.db.read() as session:
            rows = session.execute(
                sa.select(
                    IngestBatch.cursor_to, IngestBatch.predictions_path, IngestBatch.quarantine_path
                ).where(
                    IngestBatch.charter == run.name,
                    IngestBatch.source_kind == "sql",
                    IngestBatch.cursor_to.is_not(None),
                )
            ).all()
        for cursor_to, logged, failed in rows:
            top = decode_cursor(cursor_to)
            if start is not None and (type(top) is not type(start) or top <= start):
                continue
            predictions += joined_keys([logged])
            quarantine += joined_keys([failed])
        keys = [lake.scan_all(predictions).select("key").collect()] if predictions else []
        nulls: list[pl.DataFrame] = []
        for path in quarantine:  # one at a time: a schema change makes the files differ
            failed_rows = lake.read(path)
            if key not in failed_rows.columns:  # the batch had no key column at all
                nulls.append(failed_rows)
                continue
            keys.append(failed_rows.select(pl.col(key).cast(pl.String).alias("key")))
            nulls.append(failed_rows.filter(pl.col(key).is_null()))
        self.keys = (
            pl.concat(keys).get_column("key").drop_nulls().unique()
            if keys
            else pl.Series("key", [], pl.String)
        )
        self.null_key_rows = pl.concat(nulls, how="diagonal_relaxed") if nulls else None
        self.report = run.report

    def drop_reread(self, frame: pl.DataFrame, mark: Any) -> pl.DataFrame:
        """``frame`` without the rows at or below ``mark`` that were ingested already."""
        below = pl.col(self.cursor) <= mark
        if self.key not in frame.columns:  # quarantined whole as <key>.missing: match rows
            seen = below & self._same_rows(frame)
        else:
            seen = below & pl.col(self.key).cast(pl.String).is_in(self.keys.implode())
            if self.null_key_rows is not None and frame.get_column(self.key).has_nulls():
                seen = seen | (below & pl.col(self.key).is_null() & self._same_rows(frame))
        kept = frame.filter(~seen.fill_null(False))
        self.report.rows_reread += frame.height - kept.height
        return kept

    def _same_rows(self, frame: pl.DataFrame) -> pl.Expr:
        """Rows without a key, matched whole against the rows the window's batches quarantined
        (quarantine keeps rows exactly as they arrived)."""
        if self.null_key_rows is None:
            return pl.lit(False)
        columns = [c for c in frame.columns if c in self.null_key_rows.columns]
        earlier = self.null_key_rows.select(
            [pl.col(c).cast(frame.schema[c], strict=False) for c in columns]
        )
        if earlier.height == 0 or len(columns) < len(frame.columns):
            return pl.lit(False)
        return pl.struct(columns).is_in(earlier.select(pl.struct(columns)).to_series().implode())


def _show(value: Any) -> str:
    return "start" if value is None else str(value)
