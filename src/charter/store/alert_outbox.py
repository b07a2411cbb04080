"""The alert outbox (:mod:`charter.alerts.outbox`): queued deliveries, claimed by a conditional
``UPDATE`` so that of two workers only one holds a row."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session

from charter.store.tables import AlertOutboxEntry


def add(session: Session, row: AlertOutboxEntry) -> None:
    session.add(row)


def get_one(session: Session, entry_id: int) -> AlertOutboxEntry:
    return session.get_one(AlertOutboxEntry, entry_id)


def due(
    session: Session, moment: datetime, charter: str | None, limit: int | None
) -> list[tuple[int, int]]:
    """(id, attempts) of the pending deliveries due at ``moment``, soonest first."""
    query = sa.select(AlertOutboxEntry.id, AlertOutboxEntry.attempts).where(
        AlertOutboxEntry.state == "pending", AlertOutboxEntry.next_attempt_at <= moment
    )
    if charter is not None:
        query = query.where(AlertOutboxEntry.charter == charter)
    query = query.order_by(AlertOutboxEntry.next_attempt_at, AlertOutboxEntry.id).limit(limit)
    return [(int(r.id), int(r.attempts)) for r in session.execute(query)]


def pending(session: Session, charter: str | None) -> Sequence[AlertOutboxEntry]:
    """The deliveries still waiting, oldest first."""
    query = sa.select(AlertOutboxEntry).where(AlertOutboxEntry.state == "pending")
    if charter is not None:
        query = query.where(AlertOutboxEntry.charter == charter)
    return session.scalars(query.order_by(AlertOutboxEntry.id)).all()


def claim(session: Session, entry_id: int, seen: int, now: datetime, until: datetime) -> bool:
    """Bump the attempts of ``entry_id`` and hold it until ``until``, if it is still pending, due
    at ``now`` and at ``seen`` attempts; True when this update matched the row."""
    statement = (
        sa.update(AlertOutboxEntry)
        .where(
            AlertOutboxEntry.id == entry_id,
            AlertOutboxEntry.state == "pending",
            AlertOutboxEntry.attempts == seen,
            AlertOutboxEntry.next_attempt_at <= now,
        )
        .values(attempts=seen + 1, next_attempt_at=until, updated_at=now)
    )
    result = cast(CursorResult[Any], session.connection().execute(statement))
    return result.rowcount == 1


def record(session: Session, entry_id: int, number: int, values: dict[str, Any]) -> bool:
    """Write ``values`` into ``entry_id`` if it is still pending at ``number`` attempts (the
    caller's claim holds); True when it did."""
    statement = (
        sa.update(AlertOutboxEntry)
        .where(
            AlertOutboxEntry.id == entry_id,
            AlertOutboxEntry.state == "pending",
            AlertOutboxEntry.attempts == number,
        )
        .values(**values)
    )
    return cast(CursorResult[Any], session.connection().execute(statement)).rowcount == 1
