"""Charter records (:mod:`charter.registry.charters`): the stored text of each charter."""

from __future__ import annotations

from sqlalchemy.orm import Session

from charter.store.tables import CharterRecord


def get(session: Session, name: str) -> CharterRecord | None:
    return session.get(CharterRecord, name)


def add(session: Session, row: CharterRecord) -> None:
    session.add(row)
