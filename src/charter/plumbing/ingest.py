"""Exactly-once ingestion: read a charter's live source, validate, score, log, checkpoint.

For each batch (a landing file, or a cursor range of a SQL source):

1. its fingerprint gives a deterministic ``batch_id``; a batch already committed is skipped;
2. it is read in chunks; each chunk is validated against the data contract
   (:func:`charter.engines.polars.contract.validate`), its valid rows flagged late or not and scored by
   the live, the standby and every shadow version (or their own ``data.prediction.column``), and
   written to the prediction log; its failed rows are written to quarantine with their violations;
3. the two Parquet files are put in place under the batch id, *then* one database transaction
   re-checks under the ingest writer lock that the batch is not committed yet and inserts the
   batch record, the source checkpoint and the ledger entries (:mod:`.batch_commit`, the
   protocol replay, rescore and labels follow too).

A process killed anywhere before step 3 commits leaves at most files no committed batch names;
the re-run computes the same batch id and overwrites them. Killed after, the checkpoint says the
batch is done. Either way every row ends up logged exactly once, and a batch is never committed
unless ``rows_in == rows_scored + rows_quarantined``.

A landing file is read only once complete (:mod:`.landing`: settle period or marker; the others
are reported as waiting). A file that cannot be read, for whatever reason, is recorded as failed
(``ingest_files``, and the ledger) and retried when it changes or with ``retry_failed``; the other
files go on. SQL sources are read by :mod:`.ingest_sql`, with a look-back window. A model version
that fails fails alone (:mod:`.isolation`): that is not the data's fault, so no file is marked
failed for it.

Runs of one charter take turns (:func:`.batch_commit.one_run_at_a_time`): a run refuses at once
when another is in progress, or waits ``wait`` seconds for it and then finds what it committed.
The crash and barrier test hooks are described in :mod:`.batch_commit`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from typing import Literal

import polars as pl
import sqlalchemy as sa
from sqlalchemy.orm import Session

from charter.engines.base import Engine, chosen_engine, engine_for
from charter.engines.polars.file_reading import readable
from charter.errors import DataError
from charter.plumbing import predictions as log
from charter.plumbing.batch_commit import INGEST_LOG, one_run_at_a_time, serialised
from charter.plumbing.ingest_batch import Batch, KeyMemory, RunState, batch_id_for
from charter.plumbing.ingest_report import IngestReport
from charter.plumbing.ingest_sql import SqlIngest
from charter.plumbing.landing import settle_period, waiting_reason
from charter.plumbing.scoring import Scorer
from charter.plumbing.sources import (
    DEFAULT_CHUNK_ROWS,
    LandingFile,
    file_fingerprint,
    folder_identity,
    list_landing_files,
    read_file_chunks,
)
from charter.plumbing.spark_ingest import SparkFileBatch, native
from charter.progress import SILENT, Progress
from charter.spec.loader import LoadedCharter
from charter.spec.model import FolderSource, SqlSource
from charter.store.tables import IngestBatch, IngestFile
from charter.workspace import Workspace

__all__ = ["IngestReport", "batch_id_for", "ingest"]

Outcome = Literal["committed", "taken", "changed"]


def ingest(
    ws: Workspace,
    name: str,
    *,
    retry_failed: bool = False,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    wait: float = 0.0,
    progress: Progress = SILENT,
    engine: str | None = None,
) -> IngestReport:
    """Ingest everything new in the charter's source; return what was done, batch by batch.

    Waits up to ``wait`` seconds for an ingest, replay or rescore of the charter in progress in
    this workspace (0: refuse at once). ``progress`` hears of each landing file and the rows
    read so far. ``engine`` (``polars`` or ``spark``) wins over ``CHARTER_ENGINE`` and the
    charter's ``data.engine`` (:func:`~charter.engines.base.chosen_engine`).
    """
    loaded = ws.load(name)
    chosen = engine_for(chosen_engine(engine, ws.settings, loaded.charter.data.engine), ws.settings)
    with one_run_at_a_time(
        ws,
        INGEST_LOG,
        loaded.charter.name,
        wait=wait,
        busy=f"another `charter ingest {name}` is running in this workspace",
        hint="Wait for it to finish (or pass --wait SECONDS); runs of one charter never overlap.",
    ):
        log.remove_leftovers(ws, loaded.charter.name)
        run = _Run(ws, loaded, chunk_rows, progress, chosen)
        source = loaded.charter.data.source
        try:
            if isinstance(source, FolderSource):
                run.ingest_folder(source, retry_failed=retry_failed)
            else:
                progress.begin(f"ingest {loaded.charter.name}", None)
                run.ingest_sql(source)
        finally:
            progress.end()
        return run.report


class _Run:
    """One ingest run of one charter: the shared state its batches need."""

    def __init__(
        self,
        ws: Workspace,
        loaded: LoadedCharter,
        chunk_rows: int,
        progress: Progress,
        engine: Engine,
    ) -> None:
        self.ws, self.chunk_rows, self.progress = ws, chunk_rows, progress
        self.name = loaded.charter.name
        scorer = Scorer(ws, self.name, loaded.charter.data, loaded.charter.classes(), engine)
        self.report = IngestReport(self.name, scored_by=scorer.versions(), note=scorer.note())
        self.state = RunState(
            ws=ws,
            loaded=loaded,
            report=self.report,
            scorer=scorer,
            keys=KeyMemory(ws, self.name),
            watermark=log.watermark(ws, self.name),
            engine=engine,
        )

    # -- landing folders ------------------------------------------------------------------------
    def ingest_folder(self, source: FolderSource, *, retry_failed: bool) -> None:
        folder = self.ws.resolve(source.path)
        try:
            files = list_landing_files(folder, source)
        except DataError as exc:
            self.report.fail(readable(folder), exc.message)
            return
        with self.ws.db.read() as session:
            checkpoints = {
                row.path: row
                for row in session.scalars(
                    sa.select(IngestFile).where(IngestFile.charter == self.name)
                )
            }
        settle = settle_period(source, self.ws.settings.ingest.settle)
        now = datetime.now(UTC)
        self.progress.begin(f"ingest {self.name}", len(files))
        for file in files:
            self.progress.advance(note=file.name)
            seen = checkpoints.get(file.name)
            if seen is not None and (seen.size, seen.mtime_ns) == (file.size, file.mtime_ns):
                if seen.status == "ingested":
                    continue
                if not retry_failed:
                    self.report.skip(file.name, f"failed before and unchanged: {seen.error}")
                    continue
            reason = waiting_reason(file, source, settle=settle, now=now)
            if reason is not None:
                self.report.wait(file.name, reason)
                continue
            self._ingest_landing_file(file, source, seen, retry_failed=retry_failed)

    def _ingest_landing_file(
        self,
        file: LandingFile,
        source: FolderSource,
        seen: IngestFile | None,
        *,
        retry_failed: bool,
    ) -> None:
        """One file, on its own: whatever goes wrong reading it fails this file only."""
        try:
            fingerprint = file_fingerprint(file.path)
        except FileNotFoundError:
            where = readable(file.path)
            self._file_vanished(file, f"{where}: the file was removed before it was read")
            return
        except OSError as exc:
            error = f"{readable(file.path)}: cannot be read: {exc.strerror or exc}"
            self._checkpoint_file(file, None, "failed", None, error)
            self.report.fail(file.name, error)
            return
        if seen is not None and seen.fingerprint == fingerprint and seen.status == "ingested":
            self._checkpoint_file(file, fingerprint, "ingested", seen.batch_id, None)
            return
        if seen is not None and seen.fingerprint == fingerprint and not retry_failed:
            self._checkpoint_file(file, fingerprint, "failed", None, seen.error)
            self.report.skip(file.name, f"failed before and unchanged: {seen.error}")
            return
        batch_id = batch_id_for(self.name, folder_identity(source), fingerprint)
        if self._committed(batch_id):
            self._checkpoint_file(file, fingerprint, "ingested", batch_id, None)
            self.report.skip(file.name, f"same bytes as batch {batch_id}, already ingested")
            return
        try:
            self._ingest_file(file, source, fingerprint, batch_id)
        except (DataError, pl.exceptions.PolarsError, pl.exceptions.PanicException) as exc:
            message = exc.message if isinstance(exc, DataError) else _unexpected(file, exc)
            if not file.path.exists():
                self._file_vanished(file, message)
                return
            self._checkpoint_file(file, fingerprint, "failed", None, message)
            self.report.fail(file.name, message)

    def _watched(self, chunks: Iterable[pl.DataFrame], label: str) -> Iterator[pl.DataFrame]:
        """``chunks``, telling the progress reporter how many rows have been read."""
        rows = 0
        for chunk in chunks:
            rows += chunk.height
            self.progress.advance(0, note=f"{label}, {rows:,} rows")
            yield chunk

    def _file_vanished(self, file: LandingFile, error: str) -> None:
        """Removed by another job: reported and in the ledger, but not checkpointed as failed,
        so that the file is read if it comes back."""
        self.report.fail(file.name, error)
        with serialised(self.ws, INGEST_LOG, self.name) as session:
            payload = {"file": file.name, "fingerprint": None, "error": error}
            self.ws.ledger.append(
                session, "ingest.file_failed", payload, actor=self.ws.context.who, charter=self.name
            )

    def _ingest_file(
        self, file: LandingFile, source: FolderSource, fingerprint: str, batch_id: str
    ) -> None:
        renamed: dict[str, str] = {}
        if native(self.state.engine) and source.kind != "delta_table":  # Spark reads the file
            batch: Batch = SparkFileBatch(
                self.state,
                batch_id,
                file=file,
                source=source,
                fingerprint=fingerprint,
                renamed=renamed,
                chunk_rows=self.chunk_rows,
            )
            self._ingest_batch(file, batch, fingerprint, iter(()), renamed)
            return
        batch = Batch(self.state, batch_id, kind="file", label=file.name, fingerprint=fingerprint)
        chunks = self._watched(
            read_file_chunks(
                file,
                source,
                chunk_rows=self.chunk_rows,
                renamed=renamed,
                engine=self.state.engine,
            ),
            file.name,
        )
        self._ingest_batch(file, batch, fingerprint, chunks, renamed)

    def _ingest_batch(
        self,
        file: LandingFile,
        batch: Batch,
        fingerprint: str,
        chunks: Iterable[pl.DataFrame],
        renamed: dict[str, str],
    ) -> None:
        batch_id = batch.batch_id

        def checkpoint(session: Session) -> None:
            self._upsert_file(session, file, fingerprint, "ingested", batch_id, None)

        def unchanged() -> bool:
            if not file.path.exists():
                raise DataError(
                    f"{readable(file.path)}: the file was removed while it was being read "
                    "(by another job?); nothing of it was committed"
                )
            return not file.changed()

        outcome = self._run_batch(batch, chunks, checkpoint, unchanged=unchanged)
        if outcome == "changed":
            self.report.skip(file.name, "changed while being read; it is read again next run")
        if outcome != "committed":
            return
        for name, new in renamed.items():
            self.report.warn(
                file.name, f"column {name} is reserved by charter; it was read as {new}"
            )

    def _checkpoint_file(
        self,
        file: LandingFile,
        fingerprint: str | None,
        status: str,
        batch_id: str | None,
        error: str | None,
    ) -> None:
        with serialised(self.ws, INGEST_LOG, self.name) as session:
            self._upsert_file(session, file, fingerprint, status, batch_id, error)
            if status == "failed":
                payload = {"file": file.name, "fingerprint": fingerprint, "error": error}
                self.ws.ledger.append(
                    session,
                    "ingest.file_failed",
                    payload,
                    actor=self.ws.context.who,
                    charter=self.name,
                )

    def _upsert_file(
        self,
        session: Session,
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
        SqlIngest(self.state, self._run_batch, source).run()

    # -- shared -----------------------------------------------------------------------------------
    def _run_batch(
        self,
        batch: Batch,
        chunks: Iterable[pl.DataFrame],
        checkpoint: Callable[[Session], None],
        *,
        unchanged: Callable[[], bool] = lambda: True,
    ) -> Outcome:
        """Outputs first, then one transaction: batch record + checkpoint + ledger.

        ``changed`` when the source changed while it was read (nothing is kept); ``taken`` when
        another run committed the same batch first (reported as skipped).
        """
        try:
            batch.process(chunks)
            if not unchanged():
                batch.abort()
                return "changed"
            batch.finish_outputs()
        except BaseException:
            batch.abort()
            raise
        if not batch.commit(checkpoint):
            self.report.skip(batch.label, f"batch {batch.batch_id} was committed by another run")
            return "taken"
        batch.committed()
        return "committed"

    def _committed(self, batch_id: str) -> bool:
        with self.ws.db.read() as session:
            found = session.scalar(
                sa.select(IngestBatch.id).where(IngestBatch.batch_id == batch_id)
            )
        return found is not None


def _unexpected(file: LandingFile, exc: BaseException) -> str:
    """An error the readers did not foresee, still said about the file (and never a traceback)."""
    text = str(exc).strip().splitlines()
    return f"{readable(file.path)}: cannot be processed: {text[0] if text else type(exc).__name__}"
