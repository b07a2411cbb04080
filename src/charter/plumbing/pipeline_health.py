"""How healthy a charter's input pipeline is, from what ingestion already records.

Everything here is read from the committed batch records (``ingest_batches``: counts, and in
``details`` the rows quarantined per rule and the schema changes each batch found) and the
landing-file checkpoints (``ingest_files``: files that failed to read, with their error). Nothing
is recomputed from the data.

**Freshness** is judged against the charter's own expectation: the data contract's
``freshness.max_age`` (how old the newest event may be) when it sets one, judged on the newest
event time, as the batch rule is; otherwise the scheduler's cadence, ``operations.monitor.every``,
judged on when the newest batch was ingested (``charter run`` ingests once per cadence, so an
older newest batch means a run found nothing, or did not run).

Volumes are per day of ingestion (UTC). Companion batches (the off-path shadow scores of an
online batch) hold no rows of their own and are left out, as in :mod:`.batch_history`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from charter.plumbing.batch_history import _COMPANION_KIND, _aware
from charter.spec.model import Charter
from charter.store.statuses import IngestFileStatus
from charter.store.tables import IngestBatch, IngestFile
from charter.workspace import Workspace

DAYS = 30  # days of history shown by default


@dataclass(frozen=True)
class DayVolume:
    """The batches ingested on one UTC day, added up."""

    day: date
    batches: int = 0
    rows_in: int = 0
    rows_scored: int = 0
    rows_quarantined: int = 0
    rows_late: int = 0


@dataclass(frozen=True)
class Freshness:
    """The age of the newest data against what the charter expects (see the module docstring)."""

    judged_on: str  # "newest event" or "newest batch"
    age: timedelta | None
    expected: timedelta
    rule: str  # the charter field the expectation comes from

    @property
    def status(self) -> str:
        """``fresh``, ``stale`` or ``no data``."""
        if self.age is None:
            return "no data"
        return "fresh" if self.age <= self.expected else "stale"


@dataclass(frozen=True)
class SchemaChange:
    batch_id: str
    source: str
    ingested_at: datetime
    kind: str
    column: str
    detail: str


@dataclass(frozen=True)
class FailedFile:
    path: str
    error: str
    attempts: int
    updated_at: datetime


@dataclass
class PipelineHealth:
    """A charter's pipeline over the last ``days`` days (failed files: every one still failed)."""

    charter: str
    since: date
    days: list[DayVolume]
    freshness: Freshness
    quarantine_by_rule: dict[str, int] = field(default_factory=dict)
    schema_changes: list[SchemaChange] = field(default_factory=list)
    failed_files: list[FailedFile] = field(default_factory=list)
    failed_batch_rules: dict[str, int] = field(default_factory=dict)


def _freshness(
    charter: Charter, now: datetime, event: datetime | None, batch: datetime | None
) -> Freshness:
    max_age = charter.data.freshness.max_age
    if max_age is not None and charter.data.event_time is not None:
        age = None if event is None else now - event
        return Freshness("newest event", age, max_age, "data.freshness.max_age")
    age = None if batch is None else now - batch
    every = charter.operations.monitor.every
    return Freshness("newest batch", age, every, "operations.monitor.every")


def pipeline_health(
    ws: Workspace, charter: Charter, *, days: int = DAYS, now: datetime | None = None
) -> PipelineHealth:
    """The pipeline of ``charter`` over the ``days`` UTC days up to ``now`` (default: the clock)."""
    moment = now or ws.context.clock()
    since = (moment - timedelta(days=days - 1)).date()
    start = datetime(since.year, since.month, since.day, tzinfo=UTC)
    ours = (IngestBatch.charter == charter.name, IngestBatch.source_kind != _COMPANION_KIND)
    with ws.db.read() as session:
        rows = session.execute(
            sa.select(
                IngestBatch.batch_id, IngestBatch.source, IngestBatch.ingested_at,
                IngestBatch.rows_in, IngestBatch.rows_scored, IngestBatch.rows_quarantined,
                IngestBatch.rows_late, IngestBatch.details,
            ).where(*ours, IngestBatch.ingested_at >= start).order_by(IngestBatch.id)
        ).all()  # fmt: skip
        newest_batch, newest_event = session.execute(
            sa.select(sa.func.max(IngestBatch.ingested_at), sa.func.max(IngestBatch.max_event_time))
            .where(*ours)
        ).one()  # fmt: skip
        failed = session.scalars(
            sa.select(IngestFile)
            .where(IngestFile.charter == charter.name, IngestFile.status == IngestFileStatus.FAILED)
            .order_by(IngestFile.updated_at.desc())
        ).all()
        failed_files = [
            FailedFile(f.path, f.error or "", f.attempts, _aware(f.updated_at) or f.updated_at)
            for f in failed
        ]
    totals: dict[date, Counter[str]] = {since + timedelta(days=i): Counter() for i in range(days)}
    by_rule: Counter[str] = Counter()
    batch_rules: Counter[str] = Counter()
    changes: list[SchemaChange] = []
    for r in rows:
        at = _aware(r.ingested_at) or r.ingested_at
        counts = totals.setdefault(at.date(), Counter())
        counts.update(
            batches=1, rows_in=r.rows_in, rows_scored=r.rows_scored,
            rows_quarantined=r.rows_quarantined, rows_late=r.rows_late,
        )  # fmt: skip
        details: dict[str, Any] = r.details or {}
        by_rule.update({str(k): int(v) for k, v in (details.get("violations") or {}).items()})
        batch_rules.update(str(b["rule"]) for b in details.get("batch_rules") or [] if not b["ok"])
        changes += [
            SchemaChange(
                r.batch_id, r.source, at, str(c.get("kind", "")), str(c.get("column", "")),
                str(c.get("detail") or ""),
            )
            for c in details.get("schema_changes") or []
        ]  # fmt: skip
    volumes = [DayVolume(d, **totals[d]) for d in sorted(totals) if d >= since]
    return PipelineHealth(
        charter.name,
        since,
        volumes,
        _freshness(charter, moment, _aware(newest_event), _aware(newest_batch)),
        dict(by_rule.most_common()),
        sorted(changes, key=lambda c: c.ingested_at, reverse=True),
        failed_files,
        dict(batch_rules.most_common()),
    )
