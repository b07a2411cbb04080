"""The alert outbox worker: send the deliveries that raising an alert queued, one attempt a pass.

:func:`~charter.alerts.raising.raise_alert` writes one ``alert_outbox`` row per webhook or email
route in the transaction that records the alert, and makes no network call. :func:`deliver_pending`
(run by ``charter alerts deliver`` for cron and by the ``deliver`` step of ``charter run``) sends
what is due:

1. **Claim.** A due row (``pending``, ``next_attempt_at`` reached) is claimed by a conditional
   ``UPDATE`` that bumps ``attempts`` and moves ``next_attempt_at`` forward by a lease, matching
   the ``attempts`` value it read. Of two workers at once (processes, SQLite or PostgreSQL) only
   one matches; the other skips the row.
2. **Send once**, outside any transaction, with the workspace's per-attempt timeout.
3. **Record**, in one transaction: ``sent``, or ``failed`` once the failure is permanent or the
   retry policy's attempts are spent (both also stored in ``alert_deliveries`` with every attempt
   and a ledger entry, as before, so ``charter alerts NAME list`` shows them), or back to
   ``pending`` with ``next_attempt_at`` set by the policy's backoff (1x, 2x, 4x ``backoff``).

**At least once.** A worker that dies after its claim and before recording leaves the row
``pending``; it is due again when the lease ends (the claim counts as an attempt). If it died
*after* the route accepted, the route receives the alert twice: charter never loses an alert, and
may in that rare case repeat one. A failing route never stops the others.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from charter.alerts.delivery import Attempt, DeliveryResult, RetryPolicy, describe_target, logger
from charter.alerts.delivery_log import attempts_of, send, store_delivery
from charter.alerts.raising import AlertInfo, notice_of
from charter.errors import CharterError
from charter.redaction import redact_text
from charter.schemas import operations as schemas
from charter.spec.model import AlertEvent, AlertRoute, Charter
from charter.store import alert_outbox as store
from charter.store import alerts as store_alerts
from charter.store.tables import AlertOutboxEntry
from charter.workspace import Workspace

__all__ = ["DeliveryPass", "OutboxDelivery", "claim", "deliver_pending", "lease", "pending"]


@dataclass(frozen=True)
class OutboxDelivery:
    """One queued delivery after a pass: ``sent``, ``failed`` or still ``pending`` (a retry)."""

    id: int
    alert_id: int
    charter: str
    route: str
    target: str
    state: str
    attempts: int
    next_attempt_at: datetime | None
    error: str | None

    def to_schema(self) -> schemas.OutboxDelivery:
        return schemas.OutboxDelivery(
            id=self.id,
            alert_id=self.alert_id,
            charter=self.charter,
            route=self.route,
            target=self.target,
            state=self.state,
            attempts=self.attempts,
            next_attempt_at=self.next_attempt_at,
            error=self.error,
        )

    def to_dict(self) -> dict[str, Any]:
        return self.to_schema().to_json_dict()


@dataclass(frozen=True)
class DeliveryPass:
    """What one pass sent, gave up on and put back for a retry, and how many wait after it."""

    charter: str | None
    deliveries: tuple[OutboxDelivery, ...]
    pending: int

    def count(self, state: str) -> int:
        return sum(d.state == state for d in self.deliveries)

    @property
    def summary(self) -> str:
        sent, failed, retry = self.count("sent"), self.count("failed"), self.count("pending")
        return f"{sent} sent, {failed} failed, {retry} to retry; {self.pending} pending"

    def to_schema(self) -> schemas.DeliveryPass:
        return schemas.DeliveryPass(
            charter=self.charter,
            sent=self.count("sent"),
            failed=self.count("failed"),
            retrying=self.count("pending"),
            pending=self.pending,
            deliveries=[d.to_schema() for d in self.deliveries],
        )

    def to_dict(self) -> dict[str, Any]:
        return self.to_schema().to_json_dict()


def lease(policy: RetryPolicy) -> timedelta:
    """How long a claim holds a delivery: longer than one attempt can take, with room to spare."""
    return timedelta(seconds=2 * policy.timeout + 60)


def deliver_pending(
    ws: Workspace,
    *,
    name: str | None = None,
    now: datetime | None = None,
    policy: RetryPolicy | None = None,
    limit: int | None = None,
) -> DeliveryPass:
    """Claim and send the deliveries due at ``now`` (default: the clock), of ``name`` or of all
    charters; each gets one attempt. Never raises for a route's failure."""
    if name is not None:
        ws.charter_path(name)
    moment = now or datetime.now(UTC)
    chosen = policy or RetryPolicy.from_settings(ws.settings.alerts)
    with ws.db.read() as session:
        due = store.due(session, moment, name, limit)
    done = []
    for entry_id, seen in due:
        if claim(ws, entry_id, seen, moment, chosen):
            done.append(_send(ws, entry_id, seen + 1, moment, chosen))
    return DeliveryPass(name, tuple(done), len(pending(ws, name=name)))


def pending(ws: Workspace, *, name: str | None = None) -> list[OutboxDelivery]:
    """The deliveries still waiting, oldest first."""
    with ws.db.read() as session:
        rows = store.pending(session, name)
        return [_delivery(row) for row in rows]


def claim(ws: Workspace, entry_id: int, seen: int, now: datetime, policy: RetryPolicy) -> bool:
    """Take delivery ``entry_id`` for one attempt if it is still due and nobody took it since it
    was read with ``seen`` attempts; True when this caller holds it."""
    with ws.db.session() as session:
        return store.claim(session, entry_id, seen, now, now + lease(policy))


def _send(
    ws: Workspace, entry_id: int, number: int, now: datetime, policy: RetryPolicy
) -> OutboxDelivery:
    with ws.db.read() as session:
        entry = store.get_one(session, entry_id)
        alert = AlertInfo.from_row(store_alerts.get_one(session, entry.alert_id))
        earlier = attempts_of(entry.attempt_log)
        route_kind, target = entry.route, entry.target
        index, recipients = entry.route_index, entry.recipients
    charter, problem, retry = _charter(ws, alert.charter)
    route = None
    if charter is not None:
        route, problem = _route(charter, index, recipients, route_kind, target, alert.event)
    if charter is not None and route is not None:
        once = replace(policy, attempts=1, max_seconds=max(policy.max_seconds, policy.timeout))
        sent = send(ws, route, notice_of(alert, charter), once)
        attempt = replace(sent.attempts[-1], number=number) if sent.attempts else None
    else:
        logger.warning("alert #%s: %s delivery not sent: %s", alert.id, route_kind, problem)
        attempt = Attempt(number, datetime.now(UTC), 0.0, False, None, problem, retry)
    attempts = (*earlier, attempt) if attempt is not None else earlier
    return _record(ws, entry_id, number, now, policy, attempts)


def _charter(ws: Workspace, name: str) -> tuple[Charter | None, str, bool]:
    """The charter to send for, or why not; an unreadable file may be fixed, so it is retried."""
    try:
        return ws.load(name).charter, "", False
    except CharterError as exc:
        return None, redact_text(f"cannot read the charter: {exc.message}"), True


def _route(
    charter: Charter,
    index: int | None,
    recipients: Sequence[str] | None,
    kind: str,
    target: str,
    event: str,
) -> tuple[AlertRoute | None, str]:
    """The route the delivery was queued for, if the charter still has it unchanged."""
    if index is None:
        return AlertRoute(
            route="email", to=list(recipients or ()), on=[cast(AlertEvent, event)]
        ), ""
    routes = charter.operations.alerts
    found = routes[index] if index < len(routes) else None
    if found is not None and found.route == kind and describe_target(found) == target:
        return found, ""
    return None, f"the charter no longer has this {kind} route ({target}); not sent"


def _record(
    ws: Workspace,
    entry_id: int,
    number: int,
    now: datetime,
    policy: RetryPolicy,
    attempts: tuple[Attempt, ...],
) -> OutboxDelivery:
    last = attempts[-1] if attempts else None
    ok = last is not None and last.ok
    again = last is not None and not ok and last.retry and number < policy.attempts
    state = "sent" if ok else "pending" if again else "failed"
    error = None if last is None or ok else last.error
    if error is not None and state == "failed" and len(attempts) > 1:
        error = redact_text(f"{error} (gave up after {len(attempts)} attempts)")
    elif last is None:
        error = "no attempt made"
    next_at = now + timedelta(seconds=policy.delay(number)) if again else None
    values: dict[str, Any] = {
        "state": state,
        "attempt_log": [a.to_dict() for a in attempts],
        "last_error": error,
        "updated_at": datetime.now(UTC),
    }
    if next_at is not None:
        values["next_attempt_at"] = next_at
    with ws.db.session() as session:
        mine = store.record(session, entry_id, number, values)
        entry = store.get_one(session, entry_id)
        if not mine:  # the lease ran out and another worker holds it now: its outcome counts
            logger.warning(
                "alert #%s: delivery %s was taken over by another worker", entry.alert_id, entry_id
            )
        elif state != "pending":
            result = DeliveryResult(
                route=entry.route,
                target=entry.target,
                ok=ok,
                status=None if last is None else last.status,
                error=error,
                attempts=attempts,
                started_at=attempts[0].at if attempts else datetime.now(UTC),
                finished_at=datetime.now(UTC),
            )
            store_delivery(ws, session, entry.charter, entry.alert_id, result)
        return _delivery(entry)


def _delivery(row: AlertOutboxEntry) -> OutboxDelivery:
    return OutboxDelivery(
        id=row.id,
        alert_id=row.alert_id,
        charter=row.charter,
        route=row.route,
        target=row.target,
        state=row.state,
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at if row.state == "pending" else None,
        error=row.last_error,
    )
