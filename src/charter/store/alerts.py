"""Alerts and their deliveries (:mod:`charter.alerts`): ``alerts`` and ``alert_deliveries``."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from charter.store.rows import insert
from charter.store.tables import Alert, AlertDelivery


def add(session: Session, row: Alert) -> Alert:
    """Insert ``row`` and flush, so its id is known."""
    return insert(session, row)


def get(session: Session, alert_id: int) -> Alert | None:
    return session.get(Alert, alert_id)


def get_one(session: Session, alert_id: int) -> Alert:
    return session.get_one(Alert, alert_id)


def by_dedup_key(session: Session, key: str) -> Alert | None:
    """The unresolved alert holding ``key`` (resolved alerts give their key up)."""
    return session.execute(sa.select(Alert).where(Alert.dedup_key == key)).scalar_one_or_none()


def unresolved_of_rule(session: Session, charter: str, rule: str) -> Sequence[Alert]:
    return session.scalars(
        sa.select(Alert).where(
            Alert.charter == charter, Alert.rule == rule, Alert.status != "resolved"
        )
    ).all()


def resolved_by(session: Session, charter: str, resolver: str) -> set[tuple[str, str]]:
    """The (rule, window) of every alert of ``charter`` that ``resolver`` resolved."""
    rows = session.execute(
        sa.select(Alert.rule, Alert.window).where(
            Alert.charter == charter, Alert.resolved_by == resolver
        )
    ).all()
    return {(str(r.rule), str(r.window)) for r in rows}


def listing(session: Session, charter: str, status: str, limit: int | None) -> Sequence[Alert]:
    """The charter's alerts, most recently seen first; ``status`` ``active`` (open or acked),
    ``all``, or one status."""
    query = sa.select(Alert).where(Alert.charter == charter)
    if status == "active":
        query = query.where(Alert.status != "resolved")
    elif status != "all":
        query = query.where(Alert.status == status)
    query = query.order_by(Alert.last_seen.desc(), Alert.id.desc()).limit(limit)
    return session.execute(query).scalars().all()


def open_counts(session: Session, charters: Sequence[str]) -> Iterator[tuple[str, str, int]]:
    """(charter, severity, how many open) of every charter of ``charters`` that has any."""
    query = (
        sa.select(Alert.charter, Alert.severity, sa.func.count(Alert.id))
        .where(Alert.charter.in_(list(charters)), Alert.status == "open")
        .group_by(Alert.charter, Alert.severity)
    )
    for charter, severity, count in session.execute(query):
        yield str(charter), str(severity), int(count)


# -- deliveries -------------------------------------------------------------------------------
def add_delivery(session: Session, row: AlertDelivery) -> None:
    session.add(row)


def deliveries_of(session: Session, alert_ids: Sequence[int]) -> Sequence[AlertDelivery]:
    """The deliveries of the alerts ``alert_ids``, oldest first."""
    query = (
        sa.select(AlertDelivery)
        .where(AlertDelivery.alert_id.in_(alert_ids))
        .order_by(AlertDelivery.id)
    )
    return session.execute(query).scalars().all()


def last_successful_test(session: Session, charter: str) -> datetime | None:
    """When a route of ``charter`` last delivered a test alert successfully, if ever."""
    query = sa.select(sa.func.max(AlertDelivery.finished_at)).where(
        AlertDelivery.charter == charter, AlertDelivery.test.is_(True), AlertDelivery.ok.is_(True)
    )
    return session.execute(query).scalar_one_or_none()


def repeat(session: Session, row: Alert, at: datetime) -> None:
    """One more occurrence of the unresolved ``row``."""
    row.count += 1
    row.last_seen = at


def acknowledge(session: Session, row: Alert, *, at: datetime, by: str, note: str | None) -> None:
    row.status, row.acked_at, row.acked_by, row.ack_note = "acked", at, by, note


def resolve(session: Session, row: Alert, *, at: datetime, by: str, note: str | None) -> None:
    """Resolve ``row``; it gives up its de-duplication key, so the next occurrence is new."""
    row.status, row.resolved_at, row.resolved_by = "resolved", at, by
    row.resolve_note, row.dedup_key = note, None
