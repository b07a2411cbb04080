"""Exactly-once ingestion: read a charter's live source, validate, score, log, checkpoint.

For each batch (a landing file, or a cursor range of a SQL source):

1. its fingerprint gives a deterministic ``batch_id``; a batch already committed is skipped;
2. it is read in chunks; each chunk is validated against the data contract
   (:func:`charter.plumbing.contract.validate`), its valid rows flagged late or not and scored by
   the live and every shadow version (or their own ``data.prediction.column``), and written to the
   prediction log; its failed rows are written to quarantine with their violations;
3. the two Parquet files are put in place under the batch id, *then* one database transaction
   inserts the batch record, the source checkpoint and the ledger entries.

A process killed anywhere before step 3 commits leaves at most files no committed batch names;
the re-run computes the same batch id and overwrites them. Killed after, the checkpoint says the
batch is done. Either way every row ends up logged exactly once, and a batch is never committed
unless ``rows_in == rows_scored + rows_quarantined``.

A file that cannot be read is recorded as failed (``ingest_files``, and the ledger) and retried
when it changes or with ``retry_failed``; the other files go on. A model that fails stops the run:
that is not the data's fault, so no file is marked failed for it.

``CHARTER_TEST_CRASH_AT=<point>[:<n>]`` makes the process exit abruptly (``os._exit(137)``) the
n-th time it reaches ``after_outputs`` (files in place, nothing committed), ``before_commit``
(rows inserted, transaction open) or ``after_commit``; the crash tests use it.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import filelock
import polars as pl
import sqlalchemy as sa

from charter.errors import CharterError, DataError
from charter.plumbing import predictions as log
from charter.plumbing.contract import VIOLATIONS, BatchRuleResult, ValidationResult, validate
from charter.plumbing.ingest_report import BatchSummary, IngestReport, merge_batch_rules
from charter.plumbing.predictions import Scorer
from charter.plumbing.sources import (
    DEFAULT_CHUNK_ROWS,
    LandingFile,
    SqlReader,
    decode_cursor,
    encode_cursor,
    file_fingerprint,
    folder_identity,
    list_landing_files,
    read_file_chunks,
    sql_identity,
)
from charter.registry.charters import record_charter
from charter.spec.loader import LoadedCharter
from charter.spec.model import FolderSource, SqlSource
from charter.store.tables import IngestBatch, IngestCursor, IngestFile
from charter.workspace import Workspace

ROW = "_row"
CRASH_ENV = "CHARTER_TEST_CRASH_AT"
_crash_counts: dict[str, int] = {}


def ingest(
    ws: Workspace,
    name: str,
    *,
    retry_failed: bool = False,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
) -> IngestReport:
    """Ingest everything new in the charter's source; return what was done, batch by batch."""
    loaded = ws.load(name)
    lock = filelock.FileLock(str(ws.state_dir / "locks" / f"ingest-{loaded.charter.name}.lock"))
    (ws.state_dir / "locks").mkdir(parents=True, exist_ok=True)
    try:
        lock.acquire(timeout=0)
    except filelock.Timeout:
        raise CharterError(
            f"another `charter ingest {name}` is running in this workspace",
            hint="Wait for it to finish; runs of one charter never overlap.",
        ) from None
    try:
        log.remove_leftovers(ws, loaded.charter.name)
        run = _Run(ws, loaded, chunk_rows)
        source = loaded.charter.data.source
        if isinstance(source, FolderSource):
            run.ingest_folder(source, retry_failed=retry_failed)
        else:
            run.ingest_sql(source)
        return run.report
    finally:
        lock.release()


def batch_id_for(charter: str, source_identity: str, fingerprint: str) -> str:
    """Deterministic: the same bytes from the same source always get the same id."""
    return hashlib.sha256(f"{charter}\0{source_identity}\0{fingerprint}".encode()).hexdigest()[:32]


class _Run:
    """One ingest run of one charter: the shared state its batches need."""

    def __init__(self, ws: Workspace, loaded: LoadedCharter, chunk_rows: int) -> None:
        self.ws, self.loaded, self.chunk_rows = ws, loaded, chunk_rows
        self.name = loaded.charter.name
        self.contract = loaded.charter.data
        self.now = datetime.now(UTC)
        self.scorer = Scorer(ws, self.name, self.contract)
        self.report = IngestReport(
            charter=self.name, scored_by=self.scorer.versions(), note=self.scorer.note()
        )
        self.watermark = log.watermark(ws, self.name)
        self._seen: list[pl.Series] | None = None

    # -- landing folders ------------------------------------------------------------------------
    def ingest_folder(self, source: FolderSource, *, retry_failed: bool) -> None:
        folder = self.ws.resolve(source.path)
        try:
            files = list_landing_files(folder, source)
        except DataError as exc:
            self.report.fail(str(folder), exc.message)
            return
        with self.ws.db.read() as session:
            checkpoints = {
                row.path: row
                for row in session.scalars(
                    sa.select(IngestFile).where(IngestFile.charter == self.name)
                )
            }
        identity = folder_identity(source)
        for file in files:
            seen = checkpoints.get(file.name)
            if seen is not None and (seen.size, seen.mtime_ns) == (file.size, file.mtime_ns):
                if seen.status == "ingested":
                    continue
                if not retry_failed:
                    self.report.skip(file.name, f"failed before and unchanged: {seen.error}")
                    continue
            fingerprint = file_fingerprint(file.path)
            if seen is not None and seen.fingerprint == fingerprint and seen.status == "ingested":
                self._checkpoint_file(file, fingerprint, "ingested", seen.batch_id, None)
                continue
            if seen is not None and seen.fingerprint == fingerprint and not retry_failed:
                self._checkpoint_file(file, fingerprint, "failed", None, seen.error)
                self.report.skip(file.name, f"failed before and unchanged: {seen.error}")
                continue
            batch_id = batch_id_for(self.name, identity, fingerprint)
            if self._committed(batch_id):
                self._checkpoint_file(file, fingerprint, "ingested", batch_id, None)
                self.report.skip(file.name, f"same bytes as batch {batch_id}, already ingested")
                continue
            try:
                self._ingest_file(file, source, fingerprint, batch_id)
            except DataError as exc:
                self._checkpoint_file(file, fingerprint, "failed", None, exc.message)
                self.report.fail(file.name, exc.message)

    def _ingest_file(
        self, file: LandingFile, source: FolderSource, fingerprint: str, batch_id: str
    ) -> None:
        batch = _Batch(self, batch_id, source="file", label=file.name, fingerprint=fingerprint)
        try:
            batch.run(read_file_chunks(file, source, chunk_rows=self.chunk_rows))
            if file.changed():
                batch.abort()
                self.report.skip(file.name, "changed while being read; it is read again next run")
                return
            batch.finish_outputs()
        except BaseException:
            batch.abort()
            raise
        with self.ws.db.session() as session:
            if batch.commit(session):
                self._upsert_file(session, file, fingerprint, "ingested", batch_id, None)
        batch.committed()

    def _checkpoint_file(
        self,
        file: LandingFile,
        fingerprint: str | None,
        status: str,
        batch_id: str | None,
        error: str | None,
    ) -> None:
        with self.ws.db.session() as session:
            self._upsert_file(session, file, fingerprint, status, batch_id, error)
            if status == "failed":
                payload = {"file": file.name, "fingerprint": fingerprint, "error": error}
                self.ws.ledger.append(
                    session, "ingest.file_failed", payload, actor=self.ws.actor, charter=self.name
                )

    def _upsert_file(
        self,
        session: Any,
        file: LandingFile,
        fingerprint: str | None,
        status: str,
        batch_id: str | None,
        error: str | None,
    ) -> None:
        row = session.scalar(
            sa.select(IngestFile).where(
                IngestFile.charter == self.name, IngestFile.path == file.name
            )
        )
        if row is None:
            row = IngestFile(charter=self.name, path=file.name, attempts=0)
            session.add(row)
        row.size, row.mtime_ns, row.fingerprint = file.size, file.mtime_ns, fingerprint
        row.attempts = (row.attempts or 0) + (1 if status == "failed" else 0)
        row.status, row.batch_id, row.error = status, batch_id, error
        row.updated_at = datetime.now(UTC)

    # -- SQL --------------------------------------------------------------------------------------
    def ingest_sql(self, source: SqlSource) -> None:
        identity = sql_identity(source)
        try:
            reader = SqlReader(source)
        except DataError as exc:
            self._sql_failed(identity, exc.message)
            return
        try:
            with self.ws.db.read() as session:
                after = decode_cursor(
                    session.scalar(
                        sa.select(IngestCursor.high_water).where(
                            IngestCursor.charter == self.name, IngestCursor.source == identity
                        )
                    )
                )
            while True:
                try:
                    found = reader.next_batch(after)
                except DataError as exc:
                    self._sql_failed(identity, exc.message)
                    return
                if found is None:
                    return
                frm, to = encode_cursor(found.cursor_from), encode_cursor(found.cursor_to)
                batch_id = batch_id_for(self.name, identity, f"{frm}..{to}:{found.fingerprint}")
                label = f"{source.cursor} in ({_show(found.cursor_from)}, {_show(found.cursor_to)}]"
                batch = _Batch(
                    self, batch_id, source="sql", label=label, fingerprint=found.fingerprint
                )
                batch.cursor_range = (frm, to)
                try:
                    batch.run(iter([found.frame]))
                    batch.finish_outputs()
                except BaseException:
                    batch.abort()
                    raise
                with self.ws.db.session() as session:
                    if batch.commit(session):
                        self._upsert_cursor(session, identity, to, batch_id, None)
                batch.committed()
                after = found.cursor_to
        finally:
            reader.close()

    def _sql_failed(self, identity: str, error: str) -> None:
        self.report.fail(identity, error)
        with self.ws.db.session() as session:
            self._upsert_cursor(session, identity, None, None, error, keep_mark=True)
            self.ws.ledger.append(
                session,
                "ingest.source_failed",
                {"source": identity, "error": error},
                actor=self.ws.actor,
                charter=self.name,
            )

    def _upsert_cursor(
        self,
        session: Any,
        identity: str,
        high_water: str | None,
        batch_id: str | None,
        error: str | None,
        *,
        keep_mark: bool = False,
    ) -> None:
        row = session.scalar(
            sa.select(IngestCursor).where(
                IngestCursor.charter == self.name, IngestCursor.source == identity
            )
        )
        if row is None:
            row = IngestCursor(charter=self.name, source=identity)
            session.add(row)
        if not keep_mark:
            row.high_water, row.batch_id = high_water, batch_id
        row.error, row.updated_at = error, datetime.now(UTC)

    # -- shared -----------------------------------------------------------------------------------
    def _committed(self, batch_id: str) -> bool:
        with self.ws.db.read() as session:
            found = session.scalar(
                sa.select(IngestBatch.id).where(IngestBatch.batch_id == batch_id)
            )
        return found is not None

    def seen_keys(self, extra: list[pl.Series]) -> pl.Series:
        """Keys logged by committed batches plus ``extra`` (this batch's earlier chunks)."""
        if self._seen is None:
            self._seen = [log.seen_keys(self.ws, self.name)]
        parts = [s for s in (*self._seen, *extra) if s.len()]
        if not parts:
            return pl.Series("key", [], dtype=pl.String)
        return pl.concat(parts) if len(parts) > 1 else parts[0]

    def remember(self, keys: list[pl.Series], max_event_time: datetime | None) -> None:
        if self._seen is not None:
            self._seen.extend(keys)
        if max_event_time is not None and (
            self.watermark is None or max_event_time > self.watermark
        ):
            self.watermark = max_event_time


class _Batch:
    """One batch on its way through: counts, outputs, and the commit that makes it real."""

    def __init__(
        self, run: _Run, batch_id: str, *, source: str, label: str, fingerprint: str
    ) -> None:
        self.run_, self.batch_id, self.kind, self.label = run, batch_id, source, label
        self.fingerprint = fingerprint
        self.cursor_range: tuple[str | None, str | None] = (None, None)
        self.ingested_at = datetime.now(UTC)
        self.summary = BatchSummary(batch_id=batch_id, source=label, kind=source)
        self.rules: list[tuple[int, list[BatchRuleResult]]] = []
        self.changes: dict[tuple[str, str], dict[str, str]] = {}
        self.keys: list[pl.Series] = []
        self.max_event_time: datetime | None = None
        ws, name = run.ws, run.name
        self.predictions = log.BatchFileWriter(log.predictions_dir(ws, name), batch_id)
        self.quarantine = log.BatchFileWriter(log.quarantine_dir(ws, name), batch_id)
        self.outputs: dict[str, tuple[str, str] | None] = {}

    def run(self, chunks: Iterator[pl.DataFrame]) -> None:
        for chunk in chunks:
            self._chunk(chunk)

    def _chunk(self, chunk: pl.DataFrame) -> None:
        run, contract, s = self.run_, self.run_.contract, self.summary
        chunk = chunk.with_row_index(ROW, offset=s.rows_in).with_columns(pl.col(ROW).cast(pl.Int64))
        result = validate(chunk, contract, seen_keys=run.seen_keys(self.keys), now=run.now)
        valid, failed = result.valid, _within_batch(result.failed, contract.key, self.keys)
        if valid.height + failed.height != chunk.height:  # validation promises it; we check it
            raise CharterError(
                f"validation of {self.label} returned {valid.height} valid + {failed.height} "
                f"failed rows for {chunk.height} rows in; nothing was committed (a bug in charter)"
            )
        for change in result.schema_changes:
            if change.column != ROW:
                self.changes.setdefault((change.kind, change.column), change.to_dict())
        self.rules.append((chunk.height, result.batch_rules))
        s.count_violations(ValidationResult(valid, failed).violation_counts())
        event_time = log.utc_event_time(valid, contract.event_time)
        late = _late(event_time, run.watermark, contract.freshness.max_lateness)
        scores = run.scorer.score(valid, self.label)
        self.predictions.write(
            log.log_rows(
                valid,
                batch_id=self.batch_id,
                key=contract.key,
                event_time=event_time,
                late=late,
                features=run.scorer.logged_inputs(valid),
                scores=scores,
                ingested_at=self.ingested_at,
            )
        )
        self.quarantine.write(
            failed.with_columns(
                pl.lit(self.batch_id).alias("_batch_id"),
                pl.lit(self.ingested_at, pl.Datetime("us", "UTC")).alias("_ingested_at"),
            )
        )
        self.keys.append(valid.get_column(contract.key).cast(pl.String))
        newest = event_time.max()
        if isinstance(newest, datetime):
            newest = newest.astimezone(UTC)
        if isinstance(newest, datetime) and (
            self.max_event_time is None or newest > self.max_event_time
        ):
            self.max_event_time = newest
        s.rows_in += chunk.height
        s.rows_scored += valid.height
        s.rows_quarantined += failed.height
        s.rows_late += int(late.sum())

    def finish_outputs(self) -> None:
        for kind, writer in (("predictions", self.predictions), ("quarantine", self.quarantine)):
            done = writer.finish()
            self.outputs[kind] = (
                None
                if done is None
                else (done[0].relative_to(self.run_.ws.state_dir).as_posix(), done[1])
            )
        crash_point("after_outputs")

    def abort(self) -> None:
        self.predictions.abort()
        self.quarantine.abort()

    def commit(self, session: Any) -> bool:
        """Insert the batch record and ledger entries; False if another run committed it first."""
        run, s = self.run_, self.summary
        ws = run.ws
        ws.db.serialize(session, f"ingest:{run.name}")
        exists = session.scalar(
            sa.select(IngestBatch.id).where(IngestBatch.batch_id == self.batch_id)
        )
        if exists is not None:
            return False
        if s.rows_in != s.rows_scored + s.rows_quarantined:
            raise CharterError(f"batch {self.batch_id} does not balance; nothing was committed")
        s.batch_rules = merge_batch_rules(self.rules)
        s.schema_changes = list(self.changes.values())
        s.scored_by = run.scorer.versions()
        preds, quar = self.outputs.get("predictions"), self.outputs.get("quarantine")
        s.predictions, s.quarantine = (preds[0] if preds else None), (quar[0] if quar else None)
        s.cursor_from, s.cursor_to = self.cursor_range
        record_charter(ws, session, run.loaded)
        session.add(
            IngestBatch(
                batch_id=self.batch_id,
                charter=run.name,
                source_kind=self.kind,
                source=self.label,
                fingerprint=self.fingerprint,
                cursor_from=self.cursor_range[0],
                cursor_to=self.cursor_range[1],
                rows_in=s.rows_in,
                rows_scored=s.rows_scored,
                rows_quarantined=s.rows_quarantined,
                rows_late=s.rows_late,
                max_event_time=self.max_event_time,
                predictions_path=s.predictions,
                predictions_sha256=preds[1] if preds else None,
                quarantine_path=s.quarantine,
                quarantine_sha256=quar[1] if quar else None,
                details=s.details(),
                ingested_at=self.ingested_at,
            )
        )
        session.flush()
        ws.ledger.append(
            session,
            "batch.ingested",
            s.ledger_payload(preds, quar),
            actor=ws.actor,
            charter=run.name,
        )
        crash_point("before_commit")
        return True

    def committed(self) -> None:
        crash_point("after_commit")
        self.run_.report.add(self.summary)
        self.run_.remember(self.keys, self.max_event_time)


def _late(event_time: pl.Series, watermark: datetime | None, lateness: timedelta) -> pl.Series:
    """Older than the watermark of committed batches minus the allowed lateness; unknown is not late."""
    if watermark is None:
        return pl.Series("late", [False] * event_time.len(), dtype=pl.Boolean)
    late: pl.Series = (event_time < (watermark - lateness)).fill_null(False)
    return late.alias("late")


def _within_batch(failed: pl.DataFrame, key: str, earlier: list[pl.Series]) -> pl.DataFrame:
    """Name a duplicate of a key from an earlier chunk of the *same* batch ``<key>.unique``.

    Validation sees earlier chunks' keys among the ``seen_keys`` and calls the repeat
    ``unique_across_batches``; the reason must not depend on where a file was cut into chunks.
    """
    across = f"{key}.unique_across_batches"
    if not earlier or failed.height == 0:
        return failed
    repeat = pl.col(VIOLATIONS).list.contains(across) & pl.col(key).cast(pl.String).is_in(
        pl.concat(earlier).implode()
    )
    renamed = pl.col(VIOLATIONS).list.eval(
        pl.when(pl.element() == across).then(pl.lit(f"{key}.unique")).otherwise(pl.element())
    )
    return failed.with_columns(
        pl.when(repeat).then(renamed).otherwise(pl.col(VIOLATIONS)).alias(VIOLATIONS)
    )


def _show(value: Any) -> str:
    return "start" if value is None else str(value)


def crash_point(point: str) -> None:
    """Die like ``kill -9`` at ``point`` when the test hook asks for it."""
    wanted = os.environ.get(CRASH_ENV)
    if not wanted:
        return
    name, _, nth = wanted.partition(":")
    if name != point:
        return
    _crash_counts[point] = _crash_counts.get(point, 0) + 1
    if _crash_counts[point] == int(nth or 1):
        os._exit(137)
