"""The key index: every key a charter logged, on disk in sorted runs, for uniqueness across batches.

``unique_across_batches`` asks, for each batch, which of its keys an earlier batch logged. The
answer lives in the lake as *runs*: Parquet files of distinct keys (as text), sorted, each listed
in the store (:class:`~charter.store.tables.KeyRun`) with its row count and its smallest and
largest key. A lookup reads only the runs whose range meets the batch's, one at a time, and only
the part of each inside the batch's range (Parquet row-group statistics), so an ingest holds one
run and its batch in memory however long the charter lives. Keys that arrive in order (sequence
numbers, timestamps) meet no earlier run at all.

Exactly once: a batch's run is written with its other files, before the commit, and listed in
the batch's own transaction (:meth:`KeyIndex.record`). A batch whose commit fails or is killed
leaves at most a file that no run row names: none of its keys is seen, and the re-run writes
the run again.

Small runs (online group commits, small files) are merged once ``FAN_IN`` of them are waiting,
into one run of at most ``RUN_ROWS`` keys (:meth:`KeyIndex.compact`): the merged run is written,
then one transaction replaces the small runs' rows by its row; only then are their files
removed.

Batches committed before the index existed (``ingest_batches.key_run`` null) still count: their
keys are read from their prediction files and, unless the index is read-only (a dry run), written
into runs and the batches marked, once (:meth:`KeyIndex.absorb_legacy`).
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import polars as pl
import sqlalchemy as sa
from sqlalchemy.orm import Session

from charter.plumbing.lake import Lake, joined_keys, lake_for
from charter.store.tables import IngestBatch, KeyRun
from charter.workspace import Workspace

__all__ = ["FAN_IN", "RUN_ROWS", "KeyIndex", "keys_dir"]

RUN_ROWS = int(os.environ.get("CHARTER_KEY_RUN_ROWS", 4_000_000))  # a merged run's size
FAN_IN = 8  # small runs waiting before they are merged
_ROW_GROUP = 64_000  # small row groups: a lookup reads only those inside the batch's range
_CACHE_ROWS = 1_000_000  # keys of small runs kept in memory between lookups (online batches)
INDEXED = "indexed"  # key_run of a batch whose keys a later run took in


def keys_dir(charter: str) -> str:
    """The key prefix of a charter's key runs in the lake."""
    return f"keys/{charter}"


@dataclass(frozen=True)
class Run:
    """One written run, not yet listed: what its row in ``key_runs`` will say."""

    path: str
    rows: int
    low: str
    high: str


class KeyIndex:
    """The key index of one charter (see the module's docstring)."""

    def __init__(self, ws: Workspace, charter: str, *, writable: bool = True) -> None:
        self.ws, self.charter, self.writable = ws, charter, writable
        self.lake: Lake = lake_for(ws)
        self._legacy: pl.Series | None = None  # old batches' keys, when they cannot be absorbed
        self._cache: OrderedDict[str, pl.Series] = OrderedDict()  # small runs, oldest first
        self._cached = 0

    # -- reading ------------------------------------------------------------------------------
    def seen(self, values: pl.Series) -> pl.Series:
        """Which of ``values`` (distinct keys, as text) committed batches logged, as a mask."""
        hit = pl.repeat(False, values.len(), dtype=pl.Boolean, eager=True)
        if values.len() == 0:
            return hit
        self.absorb_legacy()
        if self._legacy is not None and self._legacy.len():
            hit = hit | _held_by(self._legacy, values)
        low, high = str(values.min()), str(values.max())
        for attempt in range(2):
            found = hit
            try:
                for run in self._runs(low, high):
                    part = self._read(run, low, high)
                    if part.len():
                        found = found | _held_by(part, values)
            except FileNotFoundError:  # merged away by another process since it was listed
                if attempt:
                    raise
                continue
            return found
        return hit  # not reached

    def count(self) -> int:
        """How many keys the runs hold (a key in two runs counts twice: an upper bound)."""
        self.absorb_legacy()
        with self.ws.db.read() as session:
            listed = session.scalar(
                sa.select(sa.func.coalesce(sa.func.sum(KeyRun.rows), 0)).where(
                    KeyRun.charter == self.charter
                )
            )
        legacy = self._legacy.len() if self._legacy is not None else 0
        return int(listed or 0) + legacy

    def _runs(self, low: str, high: str) -> list[Run]:
        """The runs whose range meets ``[low, high]``, compared here in Polars' (byte) order:
        a database's text collation may order differently."""
        with self.ws.db.read() as session:
            rows = session.execute(
                sa.select(KeyRun.path, KeyRun.rows, KeyRun.min_key, KeyRun.max_key)
                .where(KeyRun.charter == self.charter)
                .order_by(KeyRun.id)
            ).all()
        low_b, high_b = low.encode(), high.encode()
        return [Run(*row) for row in rows if row[2].encode() <= high_b and row[3].encode() >= low_b]

    def _read(self, run: Run, low: str, high: str) -> pl.Series:
        """The run's keys within ``[low, high]``: a small run from the cache (read whole once),
        a large one from the lake (only its row groups inside the range)."""
        if run.rows <= _CACHE_ROWS // 8:
            cached = self._cache.get(run.path)
            if cached is None:
                cached = self.lake.read(run.path, ["key"]).get_column("key")
                self._keep(run.path, cached)
            return cached.filter((cached >= low) & (cached <= high))
        key = pl.col("key")
        rows = self.lake.scan(run.path).filter((key >= low) & (key <= high)).collect()
        return rows.get_column("key")

    def _keep(self, path: str, keys: pl.Series) -> None:
        """Cache a small run (runs never change under their name), within ``_CACHE_ROWS``."""
        while self._cache and self._cached + keys.len() > _CACHE_ROWS:
            _, dropped = self._cache.popitem(last=False)
            self._cached -= dropped.len()
        self._cache[path] = keys
        self._cached += keys.len()

    # -- writing a batch's run ----------------------------------------------------------------
    def write_run(self, stem: str, keys: Iterable[pl.Series]) -> Run | None:
        """Write ``keys`` (a batch's valid keys: distinct) as one run named after ``stem``; None
        if there are none.

        Nothing is listed yet: :meth:`record` does, in the batch's transaction."""
        parts = [part.cast(pl.String) for part in keys if part.len()]
        if not parts:
            return None
        # A batch's valid keys are distinct already (validation failed every repeat), and a
        # sequence often arrives sorted: sort only when it is not.
        distinct = pl.concat(parts).drop_nulls()
        if distinct.len() == 0:
            return None
        if not distinct.is_sorted():
            distinct = distinct.sort()
        return self._write(stem, distinct)

    def _write(self, stem: str, distinct: pl.Series) -> Run:
        lake = self.lake
        name = lake.attempt_name(stem)  # racing attempts of one batch never share a run file
        key = f"{keys_dir(self.charter)}/{name}"
        spooled = lake.spool_file(keys_dir(self.charter), name)
        pl.DataFrame({"key": distinct}).write_parquet(
            spooled, row_group_size=_ROW_GROUP, statistics=True
        )
        lake.upload(spooled, key)
        return Run(key, distinct.len(), str(distinct[0]), str(distinct[-1]))

    def record(self, session: Session, run: Run | None) -> str:
        """List ``run`` in the caller's transaction; the value for the batch's ``key_run``."""
        if run is None:
            return ""
        session.add(
            KeyRun(
                charter=self.charter,
                path=run.path,
                rows=run.rows,
                min_key=run.low,
                max_key=run.high,
                created_at=datetime.now(UTC),
            )
        )
        return run.path

    def discard(self, run: Run | None) -> None:
        """Remove a run that was written but not committed (its name is this attempt's own)."""
        if run is not None:
            self.lake.remove(run.path)

    # -- merging small runs -------------------------------------------------------------------
    def compact(self) -> bool:
        """Merge small runs into one once ``FAN_IN`` wait; True if it merged (needs the run lock)."""
        if not self.writable:
            return False
        with self.ws.db.read() as session:
            small = session.execute(
                sa.select(KeyRun.id, KeyRun.path, KeyRun.rows)
                .where(KeyRun.charter == self.charter, KeyRun.rows < RUN_ROWS // FAN_IN)
                .order_by(KeyRun.id)
            ).all()
        if len(small) < FAN_IN:
            return False
        chosen: list[sa.Row[int, str, int]] = []
        total = 0
        for row in small:
            if chosen and total + row.rows > RUN_ROWS:
                break
            chosen.append(row)
            total += row.rows
        merged = pl.concat([self.lake.read(row.path, ["key"]).get_column("key") for row in chosen])
        run = self._write(f"merged-{chosen[0].id}-{chosen[-1].id}", merged.unique().sort())
        ids = [row.id for row in chosen]
        with self.ws.db.session() as session:
            gone = session.execute(
                sa.delete(KeyRun).where(KeyRun.id.in_(ids), KeyRun.charter == self.charter)
            )
            if getattr(gone, "rowcount", len(ids)) != len(ids):  # merged by someone else
                session.rollback()
                self.lake.remove(run.path)
                return False
            self.record(session, run)
        for row in chosen:
            if row.path != run.path:
                self.lake.remove(row.path)
        return True

    # -- batches from before the index --------------------------------------------------------
    def absorb_legacy(self) -> None:
        """Take in the keys of committed batches the index does not hold yet (once)."""
        if self._legacy is not None:
            return
        batches = self._unindexed()
        if not batches:
            self._legacy = pl.Series("key", [], dtype=pl.String)
            return
        files = [key for _, joined in batches for key in joined_keys([joined])]
        keys = self._legacy_keys(files)
        if not self.writable:
            self._legacy = keys.sort()
            return
        runs = [self._write(f"legacy-{batches[0][0]}-{i}", part) for i, part in _slices(keys)]
        with self.ws.db.session() as session:
            for run in runs:
                self.record(session, run)
            session.execute(
                sa.update(IngestBatch)
                .where(IngestBatch.id.in_([batch for batch, _ in batches]))
                .where(IngestBatch.key_run.is_(None))
                .values(key_run=INDEXED)
            )
        self._legacy = pl.Series("key", [], dtype=pl.String)

    def _unindexed(self) -> list[tuple[int, str]]:
        with self.ws.db.read() as session:
            rows = session.execute(
                sa.select(IngestBatch.id, IngestBatch.predictions_path)
                .where(IngestBatch.charter == self.charter)
                .where(IngestBatch.key_run.is_(None), IngestBatch.predictions_path.is_not(None))
                .order_by(IngestBatch.id)
            ).all()
        return [(int(row[0]), str(row[1])) for row in rows]

    def _legacy_keys(self, files: list[str]) -> pl.Series:
        if not files:
            return pl.Series("key", [], dtype=pl.String)
        scans = [self.lake.scan(key).select(pl.col("key").cast(pl.String)) for key in files]
        keys: pl.Series = pl.concat(scans).drop_nulls().unique().collect().to_series()
        return keys


def _slices(keys: pl.Series) -> Iterator[tuple[int, pl.Series]]:
    """``keys`` sorted, in runs of at most ``RUN_ROWS``."""
    ordered = keys.sort()
    for i, start in enumerate(range(0, ordered.len(), RUN_ROWS)):
        yield i, ordered.slice(start, RUN_ROWS)


def _held_by(base: pl.Series, values: pl.Series) -> pl.Series:
    """For each of ``values``, whether ``base`` (one run's keys) holds it: hashed, which on text
    keys in random order is several times faster than a binary search per value."""
    if base.len() == 0:
        return pl.repeat(False, values.len(), dtype=pl.Boolean, eager=True)
    return values.is_in(base.implode()).fill_null(False)
