"""Ingest batches, read by the domain above plumbing (the promotion gate's shadow evidence)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from charter.store.tables import IngestBatch


def scoring_of(session: Session, charter: str) -> list[tuple[dict[str, Any] | None, int]]:
    """(details, rows_scored) of every batch of ``charter``, in the database's order."""
    rows = session.execute(
        sa.select(IngestBatch.details, IngestBatch.rows_scored).where(
            IngestBatch.charter == charter
        )
    ).all()
    return [(r.details, r.rows_scored) for r in rows]


def get(session: Session, batch_id: str) -> IngestBatch | None:
    return session.scalar(sa.select(IngestBatch).where(IngestBatch.batch_id == batch_id))


def predictions_path(session: Session, batch_id: str) -> str | None:
    """Where batch ``batch_id`` logged its predictions (None: no such batch, or nothing)."""
    return session.scalar(
        sa.select(IngestBatch.predictions_path).where(IngestBatch.batch_id == batch_id)
    )
