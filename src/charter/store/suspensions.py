"""Charter suspensions (:mod:`charter.registry.suspension`): the open rows, and the ledger's
latest suspend/resume entry of a charter."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from charter.store.rows import insert
from charter.store.tables import AuditEntry, CharterSuspension


def open_of(session: Session, charter: str) -> Sequence[CharterSuspension]:
    """The charter's open suspensions (not resumed), oldest first."""
    return session.scalars(
        sa.select(CharterSuspension)
        .where(CharterSuspension.charter == charter, CharterSuspension.resumed_at.is_(None))
        .order_by(CharterSuspension.id)
    ).all()


def open_of_charters(session: Session, charters: Sequence[str]) -> Sequence[CharterSuspension]:
    """The open suspensions of every charter of ``charters``, oldest first."""
    return session.scalars(
        sa.select(CharterSuspension)
        .where(
            CharterSuspension.charter.in_(list(charters)), CharterSuspension.resumed_at.is_(None)
        )
        .order_by(CharterSuspension.id)
    ).all()


def get(session: Session, suspension_id: int) -> CharterSuspension | None:
    return session.get(CharterSuspension, suspension_id)


def latest_entry(session: Session, charter: str, actions: Sequence[str]) -> AuditEntry | None:
    """The charter's newest ledger entry of one of ``actions``."""
    return session.scalar(
        sa.select(AuditEntry)
        .where(AuditEntry.charter == charter, AuditEntry.action.in_(list(actions)))
        .order_by(AuditEntry.seq.desc())
        .limit(1)
    )


def latest_entries(
    session: Session, charters: Sequence[str], actions: Sequence[str]
) -> Sequence[AuditEntry]:
    """Each charter's newest ledger entry of one of ``actions`` (one per charter that has one)."""
    newest = (
        sa.select(sa.func.max(AuditEntry.seq))
        .where(AuditEntry.charter.in_(list(charters)), AuditEntry.action.in_(list(actions)))
        .group_by(AuditEntry.charter)
    )
    return session.scalars(sa.select(AuditEntry).where(AuditEntry.seq.in_(newest))).all()


def detach(session: Session, row: CharterSuspension) -> None:
    """Detach ``row`` from ``session`` so it stays readable after the session closes."""
    session.expunge(row)


def detach_all(session: Session) -> None:
    session.expunge_all()


def add(session: Session, row: CharterSuspension) -> CharterSuspension:
    """Insert ``row`` and flush, so its id is known."""
    return insert(session, row)


def close(
    session: Session, row: CharterSuspension, *, by: str, at: datetime, note: str | None
) -> None:
    """Resume: close ``row`` and flush, so the binding sealed next reads it as stored."""
    row.resumed_by, row.resumed_at, row.resume_note = by, at, note
    session.flush()
