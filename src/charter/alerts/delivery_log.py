"""The record of alert deliveries: sending through a route for a workspace, storing the outcome.

Kept apart from :mod:`charter.alerts.raising` because alerts, the outbox worker and test fires
share it: they send through :func:`send` and store with :func:`record_deliveries` (or, inside
the worker's own transaction, :func:`store_delivery`), which writes one
``alert_deliveries`` row (with every attempt) and one ledger entry per route, in one transaction:
``alert.delivered``, ``alert.delivery_failed`` or, for a test fire, ``alert.route_tested``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from charter.alerts.delivery import (
    Attempt,
    DeliveryResult,
    Notice,
    RetryPolicy,
    deliver,
    describe_target,
    logger,
)
from charter.spec.model import AlertRoute
from charter.store import Session, alert_outbox
from charter.store import alerts as store
from charter.store.tables import AlertDelivery, AlertOutboxEntry
from charter.workspace import Workspace

INSTANT_ROUTES = frozenset({"log"})  # local and instant: written right after the alert commits


def send(
    ws: Workspace, route: AlertRoute, notice: Notice, policy: RetryPolicy | None = None
) -> DeliveryResult:
    """Deliver with the workspace's SMTP and retry settings; a failure is logged, not raised."""
    chosen = policy or RetryPolicy.from_settings(ws.settings.alerts)
    result = deliver(route, notice, policy=chosen, smtp=ws.settings.smtp)
    if not result.ok:
        what = f"alert #{notice.alert_id}" if notice.alert_id is not None else "test alert"
        logger.warning(
            "%s for %s: %s delivery to %s failed: %s",
            *(what, notice.charter, result.route, result.target, result.error),
        )
    return result


def record_deliveries(
    ws: Workspace, name: str, alert_id: int | None, results: Sequence[DeliveryResult]
) -> None:
    """Store each result with its attempts, and its ledger entry, in one transaction."""
    if not results:
        return
    with ws.db.session() as session:
        for result in results:
            store_delivery(ws, session, name, alert_id, result)


def store_delivery(
    ws: Workspace, session: Session, name: str, alert_id: int | None, result: DeliveryResult
) -> None:
    """One ``alert_deliveries`` row and its ledger entry, in the caller's transaction."""
    store.add_delivery(session, _row(name, alert_id, result))
    action = "alert.delivered" if result.ok else "alert.delivery_failed"
    if result.test:
        action = "alert.route_tested"
    entry = {"alert_id": alert_id, **result.to_dict()}
    del entry["attempt_log"]  # kept in the row; the ledger keeps the outcome
    ws.ledger.append(session, action, entry, actor=ws.context.who, charter=name)


def enqueue(
    session: Session,
    alert_id: int,
    name: str,
    routes: Sequence[tuple[int | None, AlertRoute]],
    now: datetime,
) -> None:
    """Queue one pending delivery per (position in the charter's routes, route), due ``now``.

    Called inside the transaction that records the alert, so an alert is never stored without
    its deliveries, nor a delivery without its alert. A route without a position (``notify``)
    keeps its recipients; every other route is read from the charter again when sent.
    """
    for index, route in routes:
        alert_outbox.add(
            session,
            AlertOutboxEntry(
                alert_id=alert_id,
                charter=name,
                route=route.route,
                target=describe_target(route),
                route_index=index,
                recipients=list(route.to) if index is None else None,
                state="pending",
                attempts=0,
                attempt_log=[],
                last_error=None,
                next_attempt_at=now,
                created_at=now,
                updated_at=now,
            ),
        )


def deliveries_of(session: Session, alert_ids: Sequence[int]) -> dict[int, list[DeliveryResult]]:
    """The deliveries of each alert, oldest first, in one query."""
    found: dict[int, list[DeliveryResult]] = {i: [] for i in alert_ids}
    if not alert_ids:
        return found
    for row in store.deliveries_of(session, alert_ids):
        assert row.alert_id is not None
        found[row.alert_id].append(_result(row))
    return found


def last_successful_test(ws: Workspace, name: str) -> datetime | None:
    """When a route of the charter last delivered a test alert successfully, if ever."""
    ws.charter_path(name)
    with ws.db.read() as session:
        return store.last_successful_test(session, name)


def _row(name: str, alert_id: int | None, result: DeliveryResult) -> AlertDelivery:
    return AlertDelivery(
        alert_id=alert_id,
        charter=name,
        test=result.test,
        route=result.route,
        target=result.target,
        ok=result.ok,
        status=result.status,
        error=result.error,
        attempts=len(result.attempts),
        attempt_log=[a.to_dict() for a in result.attempts],
        started_at=result.started_at,
        finished_at=result.finished_at,
    )


def attempts_of(log: Sequence[dict[str, Any]]) -> tuple[Attempt, ...]:
    """Attempts as stored in an ``attempt_log`` column."""
    return tuple(
        Attempt(
            number=a["number"],
            at=datetime.fromisoformat(a["at"]),
            seconds=a["seconds"],
            ok=a["ok"],
            status=a["status"],
            error=a["error"],
        )
        for a in log
    )


def _result(row: AlertDelivery) -> DeliveryResult:
    attempts = attempts_of(row.attempt_log)
    return DeliveryResult(
        route=row.route,
        target=row.target,
        ok=row.ok,
        status=row.status,
        error=row.error,
        attempts=attempts,
        started_at=row.started_at,
        finished_at=row.finished_at,
        test=row.test,
    )
