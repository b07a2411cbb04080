"""The committed input batches of a charter, newest first: what the dashboard's pipeline view reads.

Companion batches (``online_shadow``: the off-path shadow scores of an online batch) count no rows
of their own, so they are left out of both the list and the totals.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from charter.store.tables import IngestBatch
from charter.workspace import Workspace

_COMPANION_KIND = "online_shadow"


@dataclass(frozen=True)
class BatchInfo:
    """One committed batch: where it came from and what became of its rows."""

    batch_id: str
    source_kind: str
    source: str
    rows_in: int
    rows_scored: int
    rows_quarantined: int
    rows_late: int
    max_event_time: datetime | None
    ingested_at: datetime

    def to_dict(self) -> dict[str, Any]:
        body = dict(self.__dict__)
        for name in ("max_event_time", "ingested_at"):
            body[name] = body[name].isoformat() if body[name] else None
        return body


@dataclass(frozen=True)
class BatchTotals:
    """Every batch of a charter together: how many, how many rows, and the newest one's time."""

    batches: int
    rows_in: int
    rows_quarantined: int
    newest_ingested_at: datetime | None
    newest_event_time: datetime | None

    @property
    def quarantined_share(self) -> float | None:
        return self.rows_quarantined / self.rows_in if self.rows_in else None


def _aware(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def batch_totals_of(ws: Workspace, names: Sequence[str]) -> dict[str, BatchTotals]:
    """:func:`batch_totals` of every charter of ``names``, in one query (the overview)."""
    query = (
        sa.select(
            IngestBatch.charter,
            sa.func.count(IngestBatch.id),
            sa.func.coalesce(sa.func.sum(IngestBatch.rows_in), 0),
            sa.func.coalesce(sa.func.sum(IngestBatch.rows_quarantined), 0),
            sa.func.max(IngestBatch.ingested_at),
            sa.func.max(IngestBatch.max_event_time),
        )
        .where(IngestBatch.charter.in_(list(names)), IngestBatch.source_kind != _COMPANION_KIND)
        .group_by(IngestBatch.charter)
    )
    out = {n: BatchTotals(0, 0, 0, None, None) for n in names}
    with ws.db.read() as session:
        for name, count, rows_in, quarantined, newest, event in session.execute(query):
            out[name] = BatchTotals(
                int(count), int(rows_in), int(quarantined), _aware(newest), _aware(event)
            )
    return out


def recent_batches(ws: Workspace, name: str, *, limit: int = 20) -> list[BatchInfo]:
    """The ``limit`` most recently committed batches of ``name``, newest first."""
    query = (
        sa.select(IngestBatch)
        .where(IngestBatch.charter == name, IngestBatch.source_kind != _COMPANION_KIND)
        .order_by(IngestBatch.id.desc())
        .limit(limit)
    )
    with ws.db.read() as session:
        rows = session.scalars(query).all()
        return [
            BatchInfo(
                batch_id=r.batch_id,
                source_kind=r.source_kind,
                source=r.source,
                rows_in=r.rows_in,
                rows_scored=r.rows_scored,
                rows_quarantined=r.rows_quarantined,
                rows_late=r.rows_late,
                max_event_time=_aware(r.max_event_time),
                ingested_at=_aware(r.ingested_at) or r.ingested_at,
            )
            for r in rows
        ]


def batch_totals(ws: Workspace, name: str) -> BatchTotals:
    """Counts over every batch of ``name`` (the quarantined share is of rows ever received)."""
    query = sa.select(
        sa.func.count(IngestBatch.id),
        sa.func.coalesce(sa.func.sum(IngestBatch.rows_in), 0),
        sa.func.coalesce(sa.func.sum(IngestBatch.rows_quarantined), 0),
        sa.func.max(IngestBatch.ingested_at),
        sa.func.max(IngestBatch.max_event_time),
    ).where(IngestBatch.charter == name, IngestBatch.source_kind != _COMPANION_KIND)
    with ws.db.read() as session:
        count, rows_in, quarantined, newest, event = session.execute(query).one()
    return BatchTotals(int(count), int(rows_in), int(quarantined), _aware(newest), _aware(event))
