"""One batch through ingestion: validate and score each chunk, write the outputs, commit.

:class:`Batch` follows the batch-commit protocol (:mod:`.batch_commit`): its two Parquet files
are written under the batch id and put in place (:meth:`Batch.finish_outputs`), then
:meth:`Batch.commit` re-checks under the ingest writer lock that the batch id is not committed
yet and inserts the batch record, the caller's checkpoint and the ledger entry in one transaction.
:class:`RunState` is what the batches of one run share: the clock, the scorer, the watermark
and the keys already logged.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import polars as pl
import sqlalchemy as sa
from sqlalchemy.orm import Session

from charter.engines.base import DEFAULT_ENGINE, Engine, Verdicts, engine_for
from charter.engines.polars.contract import ValidationResult
from charter.engines.rules import VIOLATIONS, BatchRuleResult, ContractRules, contract_rules
from charter.errors import CharterError
from charter.plumbing import predictions as log
from charter.plumbing.batch_commit import INGEST_LOG, commit
from charter.plumbing.ingest_report import BatchSummary, IngestReport, merge_batch_rules
from charter.plumbing.isolation import (
    FailureTally,
    alert_failures,
    log_scored,
    record_failures,
    score_chunk,
)
from charter.plumbing.key_index import KeyIndex, Run
from charter.plumbing.lake import lake_for
from charter.plumbing.scoring import Scorer
from charter.registry.charters import record_charter
from charter.spec.loader import LoadedCharter
from charter.store.tables import IngestBatch
from charter.workspace import Workspace

ROW = "_row"


def batch_id_for(charter: str, source_identity: str, fingerprint: str) -> str:
    """Deterministic: the same bytes from the same source always get the same id."""
    return hashlib.sha256(f"{charter}\0{source_identity}\0{fingerprint}".encode()).hexdigest()[:32]


class KeyMemory:
    """The keys already logged for a charter, for uniqueness across batches.

    Committed keys live in the key index (:mod:`.key_index`: sorted runs in the lake, listed in
    the store), read one run at a time, so memory does not grow with the charter's history. The
    keys of the batch being ingested (its earlier chunks) are the only ones held in memory.
    ``writable=False`` (a dry run) reads batches from before the index without indexing them.
    """

    def __init__(self, ws: Workspace, charter: str, *, writable: bool = True) -> None:
        self.ws, self.charter = ws, charter
        self.index = KeyIndex(ws, charter, writable=writable)

    def lookup(self, key: str, pending: list[pl.Series]) -> Any:
        """The ``seen_keys`` callable for validation: which of a column's values were seen."""

        def seen(column: str, values: pl.Series) -> pl.Series:
            if column != key or values.len() == 0:
                return values.clear()
            hit = pl.repeat(False, values.len(), dtype=pl.Boolean, eager=True)
            for part in pending:  # this batch's earlier chunks, compared in their own type
                hit = hit | values.is_in(part.cast(values.dtype, strict=False).implode())
            hit = hit | self.index.seen(values.cast(pl.String))
            return values.filter(hit)

        return seen

    def add(self, keys: Iterable[pl.Series]) -> None:
        """After a batch committed (its run is listed): merge small runs when enough wait."""
        del keys  # already in the index, with the batch's commit
        self.index.compact()

    def committed_count(self) -> int:
        """How many distinct keys the committed batches logged (an upper bound once a key was
        logged by two batches, as rescoring and shadow scores do)."""
        return self.index.count()


@dataclass
class RunState:
    """What every batch of one ingest run shares."""

    ws: Workspace
    loaded: LoadedCharter
    report: IngestReport
    scorer: Scorer
    keys: KeyMemory
    watermark: datetime | None
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    engine: Engine = field(default_factory=lambda: engine_for(DEFAULT_ENGINE))

    @functools.cached_property
    def rules(self) -> ContractRules:
        """The data contract's rules, built once per run for the engine to compile."""
        return contract_rules(self.loaded.charter.data)

    @property
    def name(self) -> str:
        return self.loaded.charter.name


class Batch:
    """One batch on its way through: counts, outputs, and the commit that makes it real."""

    def __init__(
        self, run: RunState, batch_id: str, *, kind: str, label: str, fingerprint: str
    ) -> None:
        self.run, self.batch_id, self.kind, self.label = run, batch_id, kind, label
        if kind != "online":  # the server re-reads it with the registry, not per group commit
            run.scorer.refresh_suspension()  # a suspension stops a long run at its next batch
        self.fingerprint = fingerprint
        self.cursor_range: tuple[str | None, str | None] = (None, None)
        self.ingested_at = datetime.now(UTC)
        self.summary = BatchSummary(batch_id=batch_id, source=label, kind=kind)
        self.rules: list[tuple[int, list[BatchRuleResult]]] = []
        self.changes: dict[tuple[str, str], dict[str, str]] = {}
        self.keys: list[pl.Series] = []
        self.max_event_time: datetime | None = None
        lake = lake_for(run.ws)
        self.predictions = log.PartWriter(lake, log.predictions_dir(run.name), batch_id)
        self.quarantine = log.PartWriter(lake, log.quarantine_dir(run.name), batch_id)
        self.outputs: dict[str, list[tuple[str, str]]] = {}
        self.key_run: Run | None = None
        self.failures = FailureTally()

    def process(self, chunks: Iterable[pl.DataFrame]) -> None:
        for chunk in chunks:
            self._chunk(chunk)

    def _chunk(self, chunk: pl.DataFrame) -> None:
        run, contract, s = self.run, self.run.loaded.charter.data, self.summary
        chunk = chunk.with_row_index(ROW, offset=s.rows_in).with_columns(pl.col(ROW).cast(pl.Int64))
        seen = run.keys.lookup(contract.key, self.keys)
        result: Verdicts[pl.DataFrame] = run.engine.validate(
            chunk, run.rules, seen_keys=seen, now=run.now
        )
        valid, failed = result.valid, repeats_within_batch(result.failed, contract.key, self.keys)
        if valid.height + failed.height != chunk.height:  # validation promises it; we check it
            raise CharterError(
                f"validation of {self.label} returned {valid.height} valid + {failed.height} "
                f"failed rows for {chunk.height} rows in; nothing was committed (a bug in charter)"
            )
        for change in result.schema_changes:
            if change.column != ROW:
                self.changes.setdefault((change.kind, change.column), change.to_dict())
        self.rules.append((chunk.height, result.batch_rules))
        event_time = log.utc_event_time(valid, contract.event_time)
        late = late_flags(event_time, run.watermark, contract.freshness.max_lateness)
        valid, event_time, late, scored, failed = score_chunk(
            lambda rows: run.scorer.score(rows, self.label),
            chunk,
            valid,
            failed,
            event_time,
            late,
            self.failures,
        )
        s.count_violations(ValidationResult(valid, failed).violation_counts())
        self.predictions.write(
            log_scored(
                valid,
                scored,
                batch_id=self.batch_id,
                key=contract.key,
                event_time=event_time,
                late=late,
                features=run.scorer.logged_inputs(valid),
                ingested_at=self.ingested_at,
                acting=run.scorer.acting,
            )
        )
        self.quarantine.write(
            failed.with_columns(
                pl.lit(self.batch_id).alias("_batch_id"),
                pl.lit(self.ingested_at, pl.Datetime("us", "UTC")).alias("_ingested_at"),
            )
        )
        self.keys.append(valid.get_column(contract.key))
        newest = event_time.max()
        if isinstance(newest, datetime):
            newest = newest.astimezone(UTC)
            if self.max_event_time is None or newest > self.max_event_time:
                self.max_event_time = newest
        s.rows_in += chunk.height
        s.rows_scored += valid.height
        s.rows_quarantined += failed.height
        s.rows_late += int(late.sum())

    def finish_outputs(self) -> None:
        """Put both files in place in the lake; nothing is committed yet."""
        for kind, writer in (("predictions", self.predictions), ("quarantine", self.quarantine)):
            self.outputs[kind] = writer.finish()
        self.key_run = self.run.keys.index.write_run(self.batch_id, self.keys)

    def abort(self) -> None:
        self.predictions.abort()
        self.quarantine.abort()
        self.run.keys.index.discard(self.key_run)
        self.key_run = None

    def commit(self, *steps: Callable[[Session], None]) -> bool:
        """Commit the batch (its files are in place): the batch record, its ledger entry and
        ``steps`` (the checkpoint, ...) in one transaction. False, with nothing written, when
        the re-check under the writer lock finds the batch id committed by another run.

        After True, the caller calls :meth:`committed`.
        """

        def record(session: Session) -> None:
            self._record(session)
            for step in steps:
                step(session)

        ws, name = self.run.ws, self.run.name
        done = commit(ws, INGEST_LOG, name, committed=self.is_committed, record=record)
        if not done:  # another run committed this batch, with its own key run
            self.run.keys.index.discard(self.key_run)
        return done

    def is_committed(self, session: Session) -> bool:
        """Whether a batch with this id is committed (by this run or another)."""
        found = session.scalar(
            sa.select(IngestBatch.id).where(IngestBatch.batch_id == self.batch_id)
        )
        return found is not None

    def _record(self, session: Session) -> None:
        run, s, ws = self.run, self.summary, self.run.ws
        if not s.balanced:
            raise CharterError(f"batch {self.batch_id} does not balance; nothing was committed")
        s.batch_rules = merge_batch_rules(self.rules)
        s.schema_changes = list(self.changes.values())
        s.scored_by = run.scorer.versions()
        s.scoring_failures = self.failures.as_list()
        preds, quar = self.outputs.get("predictions", []), self.outputs.get("quarantine", [])
        s.predictions, s.quarantine = [p for p, _ in preds], [p for p, _ in quar]
        s.cursor_from, s.cursor_to = self.cursor_range
        record_charter(ws, session, run.loaded)
        key_run = run.keys.index.record(session, self.key_run)
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
                predictions_path="\n".join(s.predictions) or None,
                predictions_sha256=_digest(preds),
                quarantine_path="\n".join(s.quarantine) or None,
                quarantine_sha256=_digest(quar),
                details=s.details(),
                ingested_at=self.ingested_at,
                key_run=key_run,
            )
        )
        record_failures(
            session, run.name, self.batch_id, self.label, s.scoring_failures, self.ingested_at
        )
        session.flush()
        payload = s.ledger_payload(preds, quar)
        if not run.scorer.acting:  # suspended: scored and logged, none of it acted on
            payload["acted_on"] = False
            payload["suspension_id"] = run.scorer.suspension_id
        ws.ledger.append(session, "batch.ingested", payload, actor=ws.context.who, charter=run.name)

    def committed(self) -> None:
        """After the transaction: the run now counts this batch's keys and event times."""
        self.run.report.add(self.summary)
        alert_failures(self.run.ws, self.run.name, self.label, self.summary.scoring_failures)
        self.run.keys.add(self.keys)
        newest, mark = self.max_event_time, self.run.watermark
        if newest is not None and (mark is None or newest > mark):
            self.run.watermark = newest


def _digest(files: list[tuple[str, str]]) -> str | None:
    """The file's SHA-256; for a batch in parts, the SHA-256 of the parts' digests, one a line."""
    if not files:
        return None
    if len(files) == 1:
        return files[0][1]
    return hashlib.sha256("\n".join(digest for _, digest in files).encode()).hexdigest()


def late_flags(event_time: pl.Series, watermark: datetime | None, lateness: timedelta) -> pl.Series:
    """Older than the committed batches' watermark minus the allowed lateness; unknown: not late.

    The watermark is that of *earlier* batches: judged against its own newest row, most of a
    file that covers a day would be late.
    """
    if watermark is None:
        return pl.Series("late", [False] * event_time.len(), dtype=pl.Boolean)
    late: pl.Series = (event_time < (watermark - lateness)).fill_null(False)
    return late.alias("late")


def repeats_within_batch(failed: pl.DataFrame, key: str, earlier: list[pl.Series]) -> pl.DataFrame:
    """Name a repeat of a key from an earlier chunk of the *same* batch ``<key>.unique``.

    Validation sees earlier chunks' keys among the seen keys and calls the repeat
    ``unique_across_batches``; the reason must not depend on where a file was cut into chunks.
    """
    across = f"{key}.unique_across_batches"
    if not earlier or failed.height == 0:
        return failed
    suspects = failed.filter(pl.col(VIOLATIONS).list.contains(across)).get_column(key)
    if suspects.len() == 0:  # the usual case: nothing to rename, nothing to compare
        return failed
    wanted = suspects.cast(pl.String).implode()  # failed keys are raw, earlier ones typed
    ours = pl.concat(
        [part.cast(pl.String).filter(part.cast(pl.String).is_in(wanted)) for part in earlier]
    )
    repeat = pl.col(VIOLATIONS).list.contains(across) & pl.col(key).cast(pl.String).is_in(
        ours.implode()
    )
    renamed = pl.col(VIOLATIONS).list.eval(
        pl.when(pl.element() == across).then(pl.lit(f"{key}.unique")).otherwise(pl.element())
    )
    return failed.with_columns(
        pl.when(repeat).then(renamed).otherwise(pl.col(VIOLATIONS)).alias(VIOLATIONS)
    )
