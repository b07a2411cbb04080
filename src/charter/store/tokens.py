"""API tokens (:mod:`charter.tokens`): the rows, by id and by digest."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from charter.store.rows import insert
from charter.store.tables import ApiToken


def add(session: Session, row: ApiToken) -> ApiToken:
    """Insert ``row`` and flush, so its id is known."""
    return insert(session, row)


def every(session: Session) -> Sequence[ApiToken]:
    """Every token, oldest first."""
    return session.scalars(sa.select(ApiToken).order_by(ApiToken.id)).all()


def by_id(session: Session, token_id: int) -> ApiToken | None:
    return session.get(ApiToken, token_id)


def by_digest(session: Session, digest: str) -> ApiToken | None:
    return session.scalar(sa.select(ApiToken).where(ApiToken.token_sha256 == digest))


def revoke(session: Session, row: ApiToken, *, at: datetime, by: str) -> None:
    row.revoked_at, row.revoked_by = at, by


def touch(session: Session, token_id: int, at: datetime) -> None:
    """Record ``at`` as the token's last use."""
    session.execute(sa.update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=at))
