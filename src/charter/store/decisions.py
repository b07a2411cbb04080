"""Promotion decisions and pre-authorisations (:mod:`charter.lifecycle`): ``decisions`` and
``promotion_authorizations``."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.orm import Session

from charter.store.rows import insert
from charter.store.tables import Decision, PromotionAuthorization


def add(session: Session, row: Decision) -> Decision:
    """Insert ``row`` and flush, so its id is known."""
    return insert(session, row)


def get(session: Session, decision_id: int) -> Decision | None:
    return session.get(Decision, decision_id)


def by_open_key(session: Session, key: str) -> Decision | None:
    """The open decision holding ``key`` (``NAME:VERSION``)."""
    return session.scalar(sa.select(Decision).where(Decision.open_key == key))


def of_charter(session: Session, charter: str, status: str | None) -> Sequence[Decision]:
    """The charter's decisions (of ``status``, or all), oldest first."""
    query = sa.select(Decision).where(Decision.charter == charter).order_by(Decision.id)
    if status is not None:
        query = query.where(Decision.status == status)
    return session.scalars(query).all()


def open_of_charters(session: Session, charters: Sequence[str]) -> Sequence[Decision]:
    """The open decisions of every charter of ``charters``, oldest first."""
    query = (
        sa.select(Decision)
        .where(Decision.charter.in_(list(charters)), Decision.status == "open")
        .order_by(Decision.id)
    )
    return session.scalars(query).all()


def open_of(session: Session, charter: str) -> Sequence[Decision]:
    """The charter's open decisions, in the database's order."""
    return session.scalars(
        sa.select(Decision).where(Decision.charter == charter, Decision.status == "open")
    ).all()


def open_waiver(
    session: Session, charter: str, version: int
) -> tuple[str | None, str | None] | None:
    """(waiver, waiver_by) of the version's open decision; None when it has none."""
    row = session.execute(
        sa.select(Decision.waiver, Decision.waiver_by).where(
            Decision.charter == charter, Decision.version == version, Decision.status == "open"
        )
    ).first()
    return None if row is None else (row.waiver, row.waiver_by)


# -- pre-authorisations ------------------------------------------------------------------------
def add_authorization(session: Session, row: PromotionAuthorization) -> PromotionAuthorization:
    """Insert ``row`` and flush, so its id is known."""
    return insert(session, row)


def active_authorizations(session: Session, charter: str) -> Sequence[PromotionAuthorization]:
    """The charter's unrevoked pre-authorisations, in the database's order."""
    return session.scalars(
        sa.select(PromotionAuthorization).where(
            PromotionAuthorization.charter == charter, PromotionAuthorization.revoked_at.is_(None)
        )
    ).all()


def latest_active_authorization(session: Session, charter: str) -> PromotionAuthorization | None:
    """The charter's newest unrevoked pre-authorisation."""
    return session.scalar(
        sa.select(PromotionAuthorization)
        .where(
            PromotionAuthorization.charter == charter,
            PromotionAuthorization.revoked_at.is_(None),
        )
        .order_by(PromotionAuthorization.id.desc())
        .limit(1)
    )
