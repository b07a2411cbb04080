"""Charter terms and changes (:mod:`charter.governance`): ``charter_terms``, the accepted text
of each charter, and ``charter_changes``, every difference of its file recorded."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from charter.store.rows import insert
from charter.store.tables import CharterChange, CharterTerms


def get(session: Session, charter: str) -> CharterTerms | None:
    return session.get(CharterTerms, charter)


def of_charters(session: Session, charters: Sequence[str]) -> list[CharterTerms]:
    return list(session.scalars(sa.select(CharterTerms).where(CharterTerms.charter.in_(charters))))


def add(session: Session, row: CharterTerms) -> None:
    session.add(row)


def set_accepted(
    session: Session,
    row: CharterTerms,
    *,
    sha256: str,
    text: str,
    by: str,
    at: datetime,
    change_id: int | None,
) -> None:
    row.sha256, row.content, row.accepted_by = sha256, text, by
    row.accepted_at, row.change_id = at, change_id


# -- changes ----------------------------------------------------------------------------------
def add_change(session: Session, row: CharterChange) -> CharterChange:
    """Insert ``row`` and flush, so its id is known."""
    return insert(session, row)


def get_change(session: Session, change_id: int) -> CharterChange | None:
    return session.get(CharterChange, change_id)


def changes(session: Session, charter: str, status: str | None) -> list[CharterChange]:
    """The changes of ``charter`` (of ``status``, or all), oldest first."""
    query = sa.select(CharterChange).where(CharterChange.charter == charter)
    if status is not None:
        query = query.where(CharterChange.status == status)
    return list(session.scalars(query.order_by(CharterChange.id)))


def pending_of_charters(session: Session, charters: Sequence[str]) -> list[CharterChange]:
    """The pending changes of every charter of ``charters``, oldest first."""
    return list(
        session.scalars(
            sa.select(CharterChange)
            .where(CharterChange.charter.in_(charters), CharterChange.status == "pending")
            .order_by(CharterChange.id)
        )
    )


def latest_open_change(
    session: Session, charter: str, from_sha256: str, to_sha256: str
) -> CharterChange | None:
    """The newest pending or rejected change of ``charter`` from one text to the other."""
    return session.scalar(
        sa.select(CharterChange)
        .where(
            CharterChange.charter == charter,
            CharterChange.from_sha256 == from_sha256,
            CharterChange.to_sha256 == to_sha256,
            CharterChange.status.in_(("pending", "rejected")),
        )
        .order_by(CharterChange.id.desc())
        .limit(1)
    )


def close_change(
    session: Session, row: CharterChange, status: str, *, by: str, at: datetime, reason: str | None
) -> None:
    row.status, row.decided_by, row.decided_at, row.reason = status, by, at, reason


def mark_decided(session: Session, row: CharterChange, *, by: str, at: datetime) -> None:
    row.decided_by, row.decided_at = by, at
