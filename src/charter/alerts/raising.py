"""Alerts: raised by rules, de-duplicated, delivered to the charter's routes, acked and resolved.

An alert is identified by (charter, rule, window). While one is unresolved (``open`` or
``acked``), raising it again only bumps its ``count`` and ``last_seen``: a monitor that re-checks
a breached window every hour must not page someone every hour. Once resolved, the next occurrence
opens a new alert and is delivered again.

:func:`raise_alert` records the alert, its ledger entry and one pending delivery per webhook or
email route (the outbox, :mod:`charter.alerts.outbox`) in one transaction, and makes no network
call: a delivery worker (``charter alerts deliver``, or the ``deliver`` step of ``charter run``)
sends them later with the retry policy. Routes of kind ``log`` are instant and local, so they are
still written right after the commit and recorded in a second transaction. A failing route never
raises out of :func:`raise_alert`.

Status changes::

    open ──ack──▶ acked ──resolve──▶ resolved
      └──────────────resolve──────────▲
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime
from typing import Any, Literal, cast, get_args

from pydantic import ValidationError

from charter.alerts.delivery import LOG_LEVELS, DeliveryResult, Notice, RetryPolicy, logger
from charter.alerts.delivery_log import (
    INSTANT_ROUTES,
    deliveries_of,
    enqueue,
    last_successful_test,
    record_deliveries,
    send,
)
from charter.errors import (
    AlertError,
    AlertNotFoundError,
    AlertStateError,
    CharterFileError,
    InvalidIdentityError,
)
from charter.identity import check_actor
from charter.schemas import alerts as schemas
from charter.spec.model import AlertEvent, AlertRoute, Charter
from charter.store import Session
from charter.store import alerts as store
from charter.store.tables import Alert
from charter.workspace import Workspace

__all__ = [
    "AlertError",
    "AlertInfo",
    "AlertNotFoundError",
    "AlertStateError",
    "DeliveryResult",
    "RetryPolicy",
    "ack_alert",
    "auto_resolve",
    "auto_resolved",
    "get_alert",
    "last_successful_test",
    "list_alerts",
    "raise_alert",
    "resolve_alert",
    "test_routes",
]

Severity = Literal["info", "warning", "critical"]
StatusFilter = Literal["open", "acked", "resolved", "active", "all"]
SEVERITIES: tuple[str, ...] = get_args(Severity)
EVENTS: tuple[str, ...] = get_args(AlertEvent)
STATUS_FILTERS: tuple[str, ...] = get_args(StatusFilter)
TEST_EVENT = "test"
AUTO_RESOLVER = "charter (auto-resolve)"


@dataclass(frozen=True)
class AlertInfo:
    """One alert as stored, with the deliveries made when it was raised."""

    id: int
    charter: str
    event: str
    rule: str
    window: str | None
    severity: str
    status: str
    message: str
    details: Mapping[str, Any]
    count: int
    first_seen: datetime
    last_seen: datetime
    acked_at: datetime | None
    acked_by: str | None
    ack_note: str | None
    resolved_at: datetime | None
    resolved_by: str | None
    resolve_note: str | None
    deliveries: tuple[DeliveryResult, ...] = ()
    repeated: bool = False  # True when raise_alert folded this occurrence into an open alert

    @classmethod
    def from_row(cls, row: Alert, deliveries: Iterable[DeliveryResult] = ()) -> AlertInfo:
        stored = {f.name: getattr(row, f.name) for f in fields(cls) if f.name not in _NOT_STORED}
        return cls(**(stored | {"details": dict(row.details), "deliveries": tuple(deliveries)}))

    def to_schema(self) -> schemas.Alert:
        """``id``, ``status``, ``severity``, ``rule`` and ``count`` are for scripts."""
        body = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "deliveries"}
        return schemas.Alert(
            **body | {"details": dict(self.details)},
            deliveries=[d.to_schema() for d in self.deliveries],
        )

    def to_dict(self) -> dict[str, Any]:
        return self.to_schema().to_json_dict()


_NOT_STORED = ("deliveries", "repeated")


# -- raising ------------------------------------------------------------------------------------
def raise_alert(
    ws: Workspace,
    name: str,
    *,
    event: str,
    rule: str,
    window: str | None,
    severity: str,
    message: str,
    details: Mapping[str, Any] | None = None,
    notify: Sequence[str] = (),
    policy: RetryPolicy | None = None,
) -> AlertInfo:
    """Record an alert and queue it for every route of the charter whose ``on`` has ``event``.

    Webhook and email routes get a pending delivery in the outbox, in the same transaction as the
    alert; ``log`` routes are written at once and are the only deliveries in the returned
    :class:`AlertInfo`. ``notify`` adds email recipients for this alert only (e.g. the owner and
    stewards of a stalled decision). A repeat of an unresolved alert is counted, not delivered
    again. ``policy`` applies to the instant routes; the outbox worker takes its own.
    """
    _check_arguments(event, rule, severity)
    extra_route = _notify_route(event, notify)
    ws.charter_path(name)  # an unknown charter is the caller's mistake: CharterNotFoundError
    charter, charter_problem = _load_for_routes(ws, name)
    now = datetime.now(UTC)
    payload = _jsonable(details or {})
    routes: list[tuple[int | None, AlertRoute]] = []
    if charter is not None:
        routes = [(i, r) for i, r in enumerate(charter.operations.alerts) if event in r.on]
        if extra_route is not None:
            routes.append((None, extra_route))
    instant = [route for _, route in routes if route.route in INSTANT_ROUTES]
    with ws.db.session() as session:
        ws.db.serialize(session, "alerts")
        key = _dedup_key(name, rule, window)
        row = store.by_dedup_key(session, key)
        if row is not None:
            store.repeat(session, row, now)
            _append(ws, session, "alert.repeated", row, count=row.count)
            earlier = deliveries_of(session, [row.id])[row.id]
            return replace(AlertInfo.from_row(row, earlier), repeated=True)
        row = Alert(
            charter=name,
            event=event,
            rule=rule,
            window=window,
            severity=severity,
            status="open",
            message=message,
            details=payload,
            count=1,
            dedup_key=key,
            first_seen=now,
            last_seen=now,
        )
        store.add(session, row)
        facts = {"event": event, "severity": severity, "message": message, "details": payload}
        _append(ws, session, "alert.raised", row, **facts)
        queued = [(i, r) for i, r in routes if r.route not in INSTANT_ROUTES]
        enqueue(session, row.id, name, queued, now)
    alert = AlertInfo.from_row(row)
    if charter is None:
        _undeliverable(ws, alert, charter_problem)
        return alert
    notice = notice_of(alert, charter)
    results = [send(ws, route, notice, policy) for route in instant]
    record_deliveries(ws, name, alert.id, results)
    return replace(alert, deliveries=tuple(results))


def _check_arguments(event: str, rule: str, severity: str) -> None:
    if event not in EVENTS:
        raise AlertError(f"unknown alert event {event!r}; expected one of {', '.join(EVENTS)}")
    if severity not in SEVERITIES:
        raise AlertError(f"unknown severity {severity!r}; expected one of {', '.join(SEVERITIES)}")
    if not rule.strip():
        raise AlertError("an alert needs a rule: the check that raised it, e.g. 'drift.income'")


def _notify_route(event: str, notify: Sequence[str]) -> AlertRoute | None:
    """An email route for ``notify``, checked before anything is recorded."""
    if not notify:
        return None
    try:
        return AlertRoute(route="email", to=list(notify), on=[cast(AlertEvent, event)])
    except ValidationError as exc:
        problems = "; ".join(str(e["msg"]) for e in exc.errors())
        raise AlertError(f"notify: {problems}") from None


def _load_for_routes(ws: Workspace, name: str) -> tuple[Charter | None, str]:
    """The charter, or why its routes are unknown: an invalid file must not swallow the alert."""
    try:
        return ws.load(name).charter, ""
    except CharterFileError as exc:
        return None, exc.message


def _undeliverable(ws: Workspace, alert: AlertInfo, problem: str) -> None:
    """Routes are unknown: log the alert at its level and say why in the ledger."""
    logger.log(
        LOG_LEVELS[alert.severity], "alert #%s for %s: %s", alert.id, alert.charter, alert.message
    )
    logger.error("alert #%s not delivered: cannot read the charter: %s", alert.id, problem)
    with ws.db.session() as session:
        ws.ledger.append(
            session,
            "alert.delivery_failed",
            {"alert_id": alert.id, "route": None, "error": f"charter file invalid: {problem}"},
            actor=ws.context.who,
            charter=alert.charter,
        )


def notice_of(alert: AlertInfo, charter: Charter) -> Notice:
    """What the routes send for ``alert``; the outbox worker builds it again when it sends."""
    return Notice(
        charter=alert.charter,
        event=alert.event,
        severity=alert.severity,
        rule=alert.rule,
        window=alert.window,
        message=alert.message,
        details=alert.details,
        alert_id=alert.id,
        owner=f"{charter.owner.name} <{charter.owner.email}>",
    )


# -- acknowledging and resolving ----------------------------------------------------------------
def ack_alert(
    ws: Workspace, name: str, alert_id: int, *, by: str, note: str | None = None
) -> AlertInfo:
    """Someone is on it: ``open`` → ``acked``. Refused for an acked or resolved alert."""
    with ws.db.session() as session:
        row = _get_for_change(ws, session, name, alert_id, by)
        if row.status != "open":
            raise AlertStateError(
                f"alert {alert_id} of {name} is already {row.status} "
                f"(by {_who(row)}); only an open alert can be acknowledged"
            )
        store.acknowledge(session, row, at=_now(), by=by, note=note)
        _append(ws, session, "alert.acked", row, by=by, note=note)
        return AlertInfo.from_row(row)


def resolve_alert(
    ws: Workspace, name: str, alert_id: int, *, by: str, note: str | None = None
) -> AlertInfo:
    """The cause is gone: ``open``/``acked`` → ``resolved``; the next occurrence is a new alert."""
    with ws.db.session() as session:
        row = _get_for_change(ws, session, name, alert_id, by)
        if row.status == "resolved":
            raise AlertStateError(
                f"alert {alert_id} of {name} is already resolved (by {row.resolved_by})"
            )
        store.resolve(session, row, at=_now(), by=by, note=note)
        _append(ws, session, "alert.resolved", row, by=by, note=note)
        return AlertInfo.from_row(row)


def auto_resolve(ws: Workspace, name: str, *, rule: str, passed: str) -> list[AlertInfo]:
    """``rule`` passed on window ``passed`` (``START/END``): resolve its unresolved alerts of
    earlier windows, recorded as resolved by :data:`AUTO_RESOLVER` with the window that passed."""
    passed_start = _window_start(passed)
    out = []
    with ws.db.session() as session:
        ws.db.serialize(session, "alerts")
        rows = store.unresolved_of_rule(session, name, rule)
        for row in rows:
            start = _window_start(row.window)
            if start is None or passed_start is None or start >= passed_start:
                continue
            note = f"{rule} passed on window {passed}"
            store.resolve(session, row, at=_now(), by=AUTO_RESOLVER, note=note)
            _append(ws, session, "alert.resolved", row, by=AUTO_RESOLVER, note=note, passed=passed)
            out.append(AlertInfo.from_row(row))
    return out


def auto_resolved(ws: Workspace, name: str) -> set[tuple[str, str]]:
    """The (rule, window) of every alert that resolved itself: monitoring, which re-judges old
    windows on every run, must not raise them again."""
    with ws.db.read() as session:
        return store.resolved_by(session, name, AUTO_RESOLVER)


def _window_start(window: str | None) -> datetime | None:
    if not window:
        return None
    try:
        start = datetime.fromisoformat(window.split("/")[0])
    except ValueError:
        return None
    return start if start.tzinfo else start.replace(tzinfo=UTC)


def _who(row: Alert) -> str:
    return (row.resolved_by if row.status == "resolved" else row.acked_by) or "unknown"


# -- reading ------------------------------------------------------------------------------------
def list_alerts(
    ws: Workspace, name: str, status: str = "open", *, limit: int | None = None
) -> list[AlertInfo]:
    """The charter's alerts, most recently seen first. ``active`` means open or acked."""
    if status not in STATUS_FILTERS:
        choices = ", ".join(STATUS_FILTERS)
        raise AlertError(f"unknown alert status {status!r}; expected one of {choices}")
    ws.charter_path(name)
    with ws.db.read() as session:
        rows = store.listing(session, name, status, limit)
        deliveries = deliveries_of(session, [r.id for r in rows])
        return [AlertInfo.from_row(r, deliveries[r.id]) for r in rows]


def open_alert_counts(ws: Workspace, names: Sequence[str]) -> dict[str, dict[str, int]]:
    """How many open alerts of each severity every charter of ``names`` has, in one query."""
    out: dict[str, dict[str, int]] = {n: {} for n in names}
    with ws.db.read() as session:
        for name, severity, count in store.open_counts(session, names):
            out[name][severity] = count
    return out


def get_alert(ws: Workspace, name: str, alert_id: int) -> AlertInfo:
    with ws.db.read() as session:
        row = _get(ws, session, name, alert_id)
        return AlertInfo.from_row(row, deliveries_of(session, [row.id])[row.id])


def _get(ws: Workspace, session: Session, name: str, alert_id: int) -> Alert:
    ws.charter_path(name)
    row = store.get(session, alert_id)
    if row is None or row.charter != name:
        raise AlertNotFoundError(
            f"charter {name!r} has no alert {alert_id}",
            hint=f"List them with `charter alerts {name} list --status all`.",
        )
    return row


def _get_for_change(ws: Workspace, session: Session, name: str, alert_id: int, by: str) -> Alert:
    """The alert, with alert writers serialised so that two people cannot both change it."""
    if not by.strip():
        raise AlertError("say who is acting: `by` (--as) is empty")
    try:
        check_actor(by, what="--as")
    except InvalidIdentityError as exc:
        raise AlertError(exc.message) from None
    ws.db.serialize(session, "alerts")
    return _get(ws, session, name, alert_id)


# -- test fires ---------------------------------------------------------------------------------
def test_routes(
    ws: Workspace, name: str, *, policy: RetryPolicy | None = None
) -> list[DeliveryResult]:
    """Send a clearly marked test alert through every route of the charter; record each outcome.

    The promotion gate asks whether a route was test-fired successfully: see
    :func:`last_successful_test`. A test alert is not an alert: it is not listed or de-duplicated.
    """
    charter = ws.load(name).charter
    if not charter.operations.alerts:
        raise AlertError(
            f"charter {name!r} has no alert routes to test",
            hint="Add one under operations.alerts, e.g. {route: log, on: [breach]}.",
        )
    notice = Notice(
        charter=name,
        event=TEST_EVENT,
        severity="info",
        rule="alerts.test",
        window=None,
        message=f"Test alert from charter for {name}: this route works. No action is needed.",
        owner=f"{charter.owner.name} <{charter.owner.email}>",
        test=True,
    )
    results = [send(ws, route, notice, policy) for route in charter.operations.alerts]
    record_deliveries(ws, name, None, results)
    return results


test_routes.__test__ = False  # type: ignore[attr-defined]  # not a pytest test, despite its name


def _append(ws: Workspace, session: Session, action: str, row: Alert, **extra: Any) -> None:
    payload = {"alert_id": row.id, "rule": row.rule, "window": row.window, **extra}
    ws.ledger.append(session, action, payload, actor=ws.context.who, charter=row.charter)


def _dedup_key(name: str, rule: str, window: str | None) -> str:
    return hashlib.sha256(json.dumps([name, rule, window]).encode()).hexdigest()


def _jsonable(details: Mapping[str, Any]) -> dict[str, Any]:
    """Details as plain JSON (dates, numpy numbers and the like become strings or numbers)."""
    converted: dict[str, Any] = json.loads(json.dumps(dict(details), default=str))
    return converted


def _now() -> datetime:
    return datetime.now(UTC)
