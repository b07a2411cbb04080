"""Stalled decisions: no promotion waits forever in "one more validation round".

A decision open longer than the charter's ``decision_deadline`` raises one ``stalled_decision``
alert to the owner and the stewards; each ``escalation`` step then raises its own alert, once,
when the decision has been open for the step's ``after``. What was raised is remembered on the
decision (``stalled_at``, ``escalations``) and in the ledger, so later passes do not repeat it;
deciding (or withdrawing) the decision resolves its alerts
(:func:`charter.lifecycle.decisions.resolve_decision_alerts`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from charter.alerts.raising import AlertInfo, raise_alert
from charter.lifecycle.decisions import DecisionInfo, list_decisions
from charter.lifecycle.transitions import lock
from charter.spec.durations import format_duration
from charter.store import decisions as store
from charter.workspace import Workspace


def check_stalled(ws: Workspace, name: str, *, now: datetime | None = None) -> list[AlertInfo]:
    """Raise ``stalled_decision`` once per decision open longer than ``decision_deadline``, then
    each ``escalation`` step once, when the decision has been open for the step's ``after``.

    The alerts go to the charter's routes that listen for ``stalled_decision``, and also by email
    to the owner and stewards (an escalation: to the step's people) when SMTP is configured.
    """
    charter = ws.load(name).charter
    name, ops = charter.name, charter.operations
    moment = now or datetime.now(UTC)
    raised: list[AlertInfo] = []
    for info in list_decisions(ws, name):
        age = moment - info.opened_at
        if age <= ops.decision_deadline:
            continue
        stewards = [s.email for s in charter.stewards]
        open_for = format_duration(timedelta(minutes=int(age.total_seconds() // 60)))
        facts: dict[str, Any] = {
            "decision_id": info.id,
            "version": info.version,
            "opened_at": info.opened_at.isoformat(),
            "open_for": open_for,
            "deadline": format_duration(ops.decision_deadline),
            "deciders": charter.deciders(),
            "stewards": stewards,
        }
        pending = f"the decision on promoting {name} version {info.version} is open for {open_for}"
        if info.stalled_at is None:
            text = (
                f"{pending}, past its {facts['deadline']} deadline. {charter.owner.name} decides: "
                f"`charter approve|reject {name} {info.version} --as EMAIL`"
            )
            people = [charter.owner.email, *stewards]
            alert = _alert(ws, info, "decision.stalled", "warning", text, facts, people)
            raised.append(_mark(ws, info, alert, stalled_at=moment))
        steps = list(enumerate(ops.escalation, 1))[info.escalations :]
        for number, step in steps:
            if age < step.after:
                break
            text = f"escalation {number}: {pending}; {charter.owner.email} has not decided"
            details = {**facts, "step": number, "to": list(step.to)}
            rule = f"decision.escalation.{number}"
            alert = _alert(ws, info, rule, "critical", text, details, step.to)
            raised.append(_mark(ws, info, alert, escalations=number))
    return raised


def _alert(
    ws: Workspace,
    info: DecisionInfo,
    rule: str,
    severity: str,
    message: str,
    details: dict[str, Any],
    people: Sequence[str],
) -> AlertInfo:
    return raise_alert(
        ws,
        info.charter,
        event="stalled_decision",
        rule=rule,
        window=f"decision {info.id}",
        severity=severity,
        message=message,
        details=details,
        notify=list(people) if ws.settings.smtp.host else [],
    )


def _mark(
    ws: Workspace,
    info: DecisionInfo,
    alert: AlertInfo,
    *,
    stalled_at: datetime | None = None,
    escalations: int | None = None,
) -> AlertInfo:
    """Remember on the decision that ``alert`` was raised, so no later pass raises it again."""
    with ws.db.session() as session:
        lock(ws, session, info.charter)
        row = store.get(session, info.id)
        if row is None:
            return alert
        entry: dict[str, Any] = {
            "decision_id": row.id,
            "version": row.version,
            "alert_id": alert.id,
        }
        if stalled_at is not None and row.stalled_at is None:
            row.stalled_at, action = stalled_at, "decision.stalled"
        elif escalations is not None and row.escalations < escalations:
            row.escalations, action, entry["step"] = escalations, "decision.escalated", escalations
        else:
            return alert  # a concurrent pass recorded it first; the alert was folded into one
        row.alert_ids = [*row.alert_ids, alert.id]
        ws.ledger.append(session, action, entry, actor=ws.context.who, charter=info.charter)
    return alert
