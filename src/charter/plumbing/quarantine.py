"""The quarantine: see which rows failed and why, and replay them once the contract is fixed.

Quarantined rows live in the committed batches' quarantine files, exactly as they arrived, with
``_violations`` (every rule each broke), ``_batch_id`` and ``_row`` (the row's index in its
batch). A row is *outstanding* until a committed replay batch has taken it.

A replay is a new batch through the very path of ingestion (:class:`~charter.plumbing.ingest_batch
.Batch`): validation against the *current* charter, cross-batch key uniqueness, late flags,
scoring by the live, standby and shadow versions, the prediction log, and one transaction for the batch
record and its ledger entries (the protocol of :mod:`.batch_commit`). Rows that pass are logged;
rows that fail again are quarantined under the replay batch with their new reasons, and are the
ones outstanding from then on.

Exactly once: the replay batch's id is derived from the set of ``(batch_id, _row)`` it replays,
and beside its outputs it writes a *replay map* (``replays/<batch_id>.parquet`` in the
quarantine folder: which origin row became which replay row). The map is trusted only when the
replay batch is committed, like every other output, so a crash before the commit is simply done
again under the same id, and a crash after it leaves the rows no longer outstanding.

A replay does nothing for rows that a replay already judged under the same data contract: they
would only fail the same way again. Fix the contract (or land corrected data as a new file).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import polars as pl
import sqlalchemy as sa
from sqlalchemy.orm import Session

from charter.engines.rules import VIOLATIONS
from charter.errors import CharterError
from charter.plumbing import predictions as log
from charter.plumbing.batch_commit import INGEST_LOG, one_run_at_a_time
from charter.plumbing.ingest_batch import ROW, Batch, KeyMemory, RunState, batch_id_for
from charter.plumbing.ingest_report import BatchSummary, IngestReport
from charter.plumbing.lake import lake_for
from charter.plumbing.lake_cleanup import REPLAY_KIND, replay_map_keys
from charter.plumbing.scoring import Scorer
from charter.schemas import data as schemas
from charter.spec.loader import LoadedCharter
from charter.store.tables import IngestBatch
from charter.workspace import Workspace

__all__ = [
    "REPLAY_KIND",
    "QuarantineSummary",
    "ReplayReport",
    "outstanding",
    "quarantine_summary",
    "quarantined_rows",
    "replay",
]

BATCH = "_batch_id"
_META = (VIOLATIONS, BATCH, "_ingested_at", ROW)
_SOURCE_SHOWN = 5


# -- reading ------------------------------------------------------------------------------------
def outstanding(ws: Workspace, name: str) -> pl.DataFrame:
    """The quarantined rows no committed replay has taken yet, oldest batch first."""
    rows = log.read_quarantine(ws, name).collect()
    if rows.height == 0 or BATCH not in rows.columns:
        return pl.DataFrame(
            schema={BATCH: pl.String, ROW: pl.Int64, VIOLATIONS: pl.List(pl.String)}
        )
    taken = _replayed(ws, name)
    if taken.height:
        rows = rows.join(taken, on=[BATCH, ROW], how="anti", maintain_order="left")
    return rows


def _replayed(ws: Workspace, name: str) -> pl.DataFrame:
    """Every ``(_batch_id, _row)`` a committed replay batch took, from the replay maps."""
    maps = [
        key
        for batch_id, details in _replay_batches(ws, name).items()
        for key in replay_map_keys(name, batch_id, REPLAY_KIND, details)
    ]
    if not maps:
        return pl.DataFrame(schema={BATCH: pl.String, ROW: pl.Int64})
    lake = lake_for(ws)
    return pl.concat([lake.read(key, columns=[BATCH, ROW]) for key in maps])


def _replay_batches(ws: Workspace, name: str) -> dict[str, dict[str, Any]]:
    with ws.db.read() as session:
        found = session.execute(
            sa.select(IngestBatch.batch_id, IngestBatch.details)
            .where(IngestBatch.charter == name, IngestBatch.source_kind == REPLAY_KIND)
            .order_by(IngestBatch.id)
        ).all()
    return {batch_id: details or {} for batch_id, details in found}


def _sources(ws: Workspace, name: str) -> dict[str, tuple[str, datetime]]:
    with ws.db.read() as session:
        found = session.execute(
            sa.select(IngestBatch.batch_id, IngestBatch.source, IngestBatch.ingested_at).where(
                IngestBatch.charter == name
            )
        ).all()
    return {batch_id: (source, at) for batch_id, source, at in found}


def _select(rows: pl.DataFrame, batch: str | None, rule: str | None) -> pl.DataFrame:
    """Rows of one batch (an id or its unique prefix, as ``list`` shows it) and/or one rule."""
    if batch:
        ids = rows.get_column(BATCH).unique().to_list()
        matches = [b for b in ids if b == batch] or [b for b in ids if b.startswith(batch)]
        if len(matches) > 1:
            raise CharterError(
                f"batch {batch!r} matches {len(matches)} batches with quarantined rows",
                hint="Give more characters of the batch id.",
            )
        rows = rows.filter(pl.col(BATCH).is_in(matches))
    if rule:
        rows = rows.filter(pl.col(VIOLATIONS).list.contains(rule))
    return rows


@dataclass
class QuarantineSummary:
    """What ``list`` shows: the outstanding rows counted by rule and by batch."""

    charter: str
    rows: int = 0
    by_rule: dict[str, int] = field(default_factory=dict)
    batches: list[dict[str, Any]] = field(default_factory=list)

    def to_schema(self) -> schemas.QuarantineSummary:
        return schemas.QuarantineSummary(
            charter=self.charter, rows=self.rows, by_rule=self.by_rule, batches=self.batches
        )

    def to_dict(self) -> dict[str, Any]:
        return self.to_schema().to_json_dict()


def _by_rule(rows: pl.DataFrame) -> dict[str, int]:
    if rows.height == 0:
        return {}
    counts = rows.select(pl.col(VIOLATIONS).explode().alias("rule")).get_column("rule")
    found = counts.drop_nulls().value_counts(sort=True)
    return {str(rule): int(n) for rule, n in found.iter_rows()}


def quarantine_summary(ws: Workspace, name: str) -> QuarantineSummary:
    """The outstanding quarantined rows of ``name``, by rule and by batch (oldest first)."""
    name = ws.load(name).charter.name
    rows = outstanding(ws, name)
    sources = _sources(ws, name)
    summary = QuarantineSummary(name, rows=rows.height, by_rule=_by_rule(rows))
    for (batch_id,), part in rows.group_by(BATCH, maintain_order=True):
        source, at = sources.get(str(batch_id), ("?", None))
        summary.batches.append(
            {
                "batch_id": batch_id,
                "source": source,
                "ingested_at": at,
                "rows": part.height,
                "by_rule": _by_rule(part),
            }
        )
    return summary


def quarantined_rows(
    ws: Workspace,
    name: str,
    *,
    batch: str | None = None,
    rule: str | None = None,
    limit: int | None = 20,
) -> list[dict[str, Any]]:
    """The outstanding rows themselves: their batch, index, every rule broken, and their values."""
    name = ws.load(name).charter.name
    rows = _select(outstanding(ws, name), batch, rule)
    if limit is not None:
        rows = rows.head(limit)
    sources = _sources(ws, name)
    values = [c for c in rows.columns if c not in _META]
    return [
        {
            "batch_id": row[BATCH],
            "source": sources.get(row[BATCH], ("?", None))[0],
            "row": row[ROW],
            "violations": list(row[VIOLATIONS] or []),
            "values": {c: row[c] for c in values},
        }
        for row in rows.iter_rows(named=True)
    ]


# -- replaying ----------------------------------------------------------------------------------
@dataclass
class ReplayReport:
    """What one replay did: the replay batch (if any), and what was left alone and why."""

    charter: str
    replayed_from: list[str] = field(default_factory=list)
    batch: BatchSummary | None = None
    unchanged: int = 0  # rows a replay already judged under this very contract
    note: str | None = None

    @property
    def rows_replayed(self) -> int:
        return self.batch.rows_in if self.batch else 0

    def to_schema(self) -> schemas.Replay:
        b = self.batch
        return schemas.Replay(
            charter=self.charter,
            rows_replayed=self.rows_replayed,
            rows_scored=b.rows_scored if b else 0,
            rows_quarantined=b.rows_quarantined if b else 0,
            rows_late=b.rows_late if b else 0,
            rows_unchanged=self.unchanged,
            replayed_from=self.replayed_from,
            batch=b.to_schema(with_source=True) if b else None,
            note=self.note,
        )

    def to_dict(self) -> dict[str, Any]:
        return self.to_schema().to_json_dict()


def contract_sha256(loaded: LoadedCharter) -> str:
    """The data contract's fingerprint: what a row's verdict depends on."""
    return hashlib.sha256(loaded.charter.data.model_dump_json().encode()).hexdigest()


def replay(
    ws: Workspace,
    name: str,
    *,
    batch: str | None = None,
    rule: str | None = None,
    wait: float = 0.0,
) -> ReplayReport:
    """Replay the outstanding quarantined rows (optionally one batch's, or one rule's) as a batch.

    Runs under the charter's ingest lock, waiting up to ``wait`` seconds for it (0: refuse at
    once): a replay and an ingest share the keys already logged, so they must not interleave.
    """
    loaded = ws.load(name)
    name = loaded.charter.name
    with one_run_at_a_time(
        ws,
        INGEST_LOG,
        name,
        wait=wait,
        busy=f"a `charter ingest {name}` or a replay is running in this workspace",
        hint="Wait for it to finish (or pass --wait SECONDS); runs of one charter never overlap.",
    ):
        log.remove_leftovers(ws, name)
        return _replay(ws, loaded, batch, rule)


def _replay(
    ws: Workspace, loaded: LoadedCharter, batch: str | None, rule: str | None
) -> ReplayReport:
    name, contract = loaded.charter.name, contract_sha256(loaded)
    report = ReplayReport(name)
    rows = _select(outstanding(ws, name), batch, rule)
    judged = [
        b for b, details in _replay_batches(ws, name).items() if details.get("contract") == contract
    ]
    todo = rows.filter(~pl.col(BATCH).is_in(judged))
    report.unchanged = rows.height - todo.height
    if todo.height == 0:
        if report.unchanged:
            report.note = (
                f"{report.unchanged} rows already failed a replay under this same data contract; "
                "fix the contract (or land corrected data as a new file) and replay again"
            )
        return report
    origins = todo.select(pl.col(BATCH), pl.col(ROW).cast(pl.Int64))
    report.replayed_from = origins.get_column(BATCH).unique(maintain_order=True).to_list()
    sources = _sources(ws, name)
    shown = [sources.get(b, (b, None))[0] for b in report.replayed_from[:_SOURCE_SHOWN]]
    more = len(report.replayed_from) - len(shown)
    label = "replay of " + ", ".join(shown) + (f" and {more} more batches" if more > 0 else "")
    taken = hashlib.sha256()
    for origin_batch, origin_row in sorted(origins.iter_rows()):
        taken.update(f"{origin_batch}:{origin_row}\n".encode())
    batch_id = batch_id_for(name, "quarantine-replay", taken.hexdigest())

    scorer = Scorer(ws, name, loaded.charter.data, loaded.charter.classes())
    state = RunState(
        ws=ws,
        loaded=loaded,
        report=IngestReport(name, scored_by=scorer.versions(), note=scorer.note()),
        scorer=scorer,
        keys=KeyMemory(ws, name),
        watermark=log.watermark(ws, name),
    )
    work = Batch(state, batch_id, kind=REPLAY_KIND, label=label, fingerprint=taken.hexdigest())
    replay_map = log.BatchFileWriter(lake_for(ws), f"{log.quarantine_dir(name)}/replays", batch_id)
    try:
        work.process([todo.drop([c for c in _META if c in todo.columns])])
        replay_map.write(origins.with_row_index("replay_row").cast({"replay_row": pl.Int64}))
        work.finish_outputs()
        placed = replay_map.finish()
    except BaseException:
        work.abort()
        replay_map.abort()
        raise
    assert placed is not None  # there was at least one row
    replay_map_entry = {"path": placed[0], "sha256": placed[1]}

    def replayed(session: Session) -> None:
        record = session.scalar(sa.select(IngestBatch).where(IngestBatch.batch_id == batch_id))
        assert record is not None
        record.details = {
            **(record.details or {}),
            "contract": contract,
            "replay_of": report.replayed_from,
            "replay_map": replay_map_entry,
        }
        ws.ledger.append(
            session,
            "quarantine.replayed",
            {
                "batch_id": batch_id,
                "replay_of": report.replayed_from,
                "rows": todo.height,
                "contract": contract,
                "replay_map": replay_map_entry,
            },
            actor=ws.context.who,
            charter=name,
        )

    fresh = work.commit(replayed)
    if fresh:
        work.committed()
        report.batch = work.summary
    else:
        report.note = f"replay batch {batch_id} was committed by another run"
    return report
