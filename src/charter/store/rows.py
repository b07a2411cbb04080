"""What every repository module of the store does alike."""

from __future__ import annotations

from typing import TypeVar

from sqlalchemy.orm import Session

from charter.store.tables import Base

RowT = TypeVar("RowT", bound=Base)


def insert(session: Session, row: RowT) -> RowT:
    """Insert ``row`` in the caller's transaction and flush, so its generated id is known."""
    session.add(row)
    session.flush()
    return row
