"""Alerts from monitoring: a window whose verdict, quality or drift breaches (or warns) raises one.

Called by every monitoring run (:func:`charter.services.monitoring.monitor`: ``charter monitor``,
the scheduler's monitor step, the demo, ``charter.monitor``), so the
conversation about a breach starts with an alert, not with someone opening a dashboard. Which
windows count: those of the live version and of external predictions (``data.prediction``: the
model runs elsewhere, its predictions are what is decided on); while neither has windows, those of
the shadow versions (a pilot failing its contract is news for the owner too). Windows cut by an
exploratory ``--window`` other than the charter's own never raise or resolve anything.

Each check is a *rule* per version, and a window either fails it (an alert for that window),
passes it, or says nothing about it:

=======================  ==========================================  ==========================
rule                     fails (event)                               passes
=======================  ==========================================  ==========================
``sufficiency.vN``       contract verdict breach / warn               contract verdict pass
``quality.vN``           quality verdict breach (quality_breach)      quality verdict pass
``drift.vN``             judged drift breach (drift_breach)           drift pass or warn
``estimate.vN``          an estimate past its rule while its labels   no such estimate
                         are too few to judge it (estimated_drop)
``evidence.vN``          too few labels (insufficient_evidence), only a verdict other than
                         when a route of the charter asks for it      insufficient
=======================  ==========================================  ==========================

Re-running monitoring never re-alerts the same finding: :func:`raise_alert` de-duplicates by
(charter, rule, window) while an alert is open. When a rule passes on a later window, its open
alerts of earlier windows resolve themselves (:func:`.alerts.auto_resolve`) unless the charter sets
``operations.alerts.auto_resolve: false``; a self-resolved alert is not raised again when its old
window is re-judged.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from charter.alerts.raising import (
    AlertInfo,
    auto_resolve,
    auto_resolved,
    list_alerts,
    raise_alert,
)
from charter.errors import CharterFileError
from charter.spec.model import Charter
from charter.spec.windows import window_text
from charter.workspace import Workspace


class JudgedWindow(Protocol):
    """What alerting reads of an evaluated window (``charter.monitoring.JudgedWindow`` is one):
    alerts stand below monitoring, so they name the shape, not the class."""

    @property
    def version(self) -> str: ...
    @property
    def start(self) -> datetime: ...
    @property
    def end(self) -> datetime: ...
    @property
    def verdict(self) -> str: ...
    @property
    def data(self) -> Mapping[str, Any]: ...


# verdict -> (event, severity)
_VERDICTS = {"breach": ("breach", "critical"), "warn": ("warn", "warning")}
DECIDING = ("live", "external")


@dataclass(frozen=True)
class WindowAlerts:
    """What one pass over evaluated windows raised (or repeated) and resolved."""

    raised: list[AlertInfo] = field(default_factory=list)
    resolved: list[AlertInfo] = field(default_factory=list)


@dataclass(frozen=True)
class _Finding:
    event: str
    severity: str
    message: str
    details: Mapping[str, Any]


def alert_on_windows(ws: Workspace, name: str, windows: Iterable[JudgedWindow]) -> list[AlertInfo]:
    """Raise the alerts the given evaluated windows call for; return those raised or repeated."""
    return react_to_windows(ws, name, windows).raised


def react_to_windows(ws: Workspace, name: str, windows: Iterable[JudgedWindow]) -> WindowAlerts:
    """Raise what the windows call for and resolve what later windows passed (module docstring)."""
    charter = _charter(ws, name)
    own = window_text(charter.sufficiency) if charter is not None else None
    windows = [w for w in windows if own is None or w.data.get("window", own) == own]
    deciding = [w for w in windows if w.data.get("status") in DECIDING]
    watched = deciding or [w for w in windows if w.data.get("status") == "shadow"]
    watched.sort(key=lambda w: w.start)
    keep_open = charter is not None and not charter.operations.auto_resolve
    routes = charter.operations.alerts if charter is not None else []
    routed = {str(event) for route in routes for event in route.on}
    done = auto_resolved(ws, name)
    pending = {a.rule for a in list_alerts(ws, name, "active")}  # rules a pass could resolve
    out = WindowAlerts()
    for window in watched:
        span = f"{window.start.isoformat()}/{window.end.isoformat()}"
        for rule, finding in _judge(name, window, routed).items():
            if finding is None:
                if not keep_open and rule in pending:
                    out.resolved.extend(auto_resolve(ws, name, rule=rule, passed=span))
            elif (rule, span) not in done:
                pending.add(rule)
                out.raised.append(
                    raise_alert(
                        ws,
                        name,
                        event=finding.event,
                        rule=rule,
                        window=span,
                        severity=finding.severity,
                        message=finding.message,
                        details=finding.details,
                    )
                )
    return out


def _charter(ws: Workspace, name: str) -> Charter | None:
    try:
        return ws.load(name).charter
    except CharterFileError:
        return None


def _judge(name: str, window: JudgedWindow, routed: set[str]) -> dict[str, _Finding | None]:
    """Each rule this window fails (its finding) or passes (``None``); silent rules are absent."""
    data, version = window.data, window.version
    span = f"{window.start.isoformat()}/{window.end.isoformat()}"
    where = f"version {version} ({data.get('status')}), window {span}"
    out: dict[str, _Finding | None] = {}
    contract = str(data.get("contract_verdict", window.verdict))
    rules = list(data.get("rules", []))
    if contract in _VERDICTS:
        event, severity = _VERDICTS[contract]
        failing = [_rule_shown(r) for r in rules if r.get("status") == contract]
        message = f"{name}: sufficiency {contract} on {where}: {', '.join(failing)}"
        details = {"version": version, "rules": rules}
        out[f"sufficiency.v{version}"] = _Finding(event, severity, message, details)
    elif contract == "pass":
        out[f"sufficiency.v{version}"] = None
    if contract == "insufficient_evidence":
        if "insufficient_evidence" in routed:
            reason = data.get("verdict_reason") or "too few labels"
            message = f"{name}: not enough evidence to judge {where}: {reason}"
            details = {"version": version, "labels": data.get("labels", {}), "reason": reason}
            finding = _Finding("insufficient_evidence", "info", message, details)
            out[f"evidence.v{version}"] = finding
    elif contract in ("pass", "warn", "breach"):
        out[f"evidence.v{version}"] = None
    quality = data.get("quality_verdict")
    if isinstance(quality, Mapping):
        status = quality.get("status")
        if status == "breach":
            problems = [p["message"] for p in quality.get("problems", []) if p["level"] == "breach"]
            message = f"{name}: data quality breach on {where}: {'; '.join(problems)}"
            details = {"version": version, "problems": quality.get("problems", [])}
            out[f"quality.v{version}"] = _Finding("quality_breach", "critical", message, details)
        elif status == "pass":
            out[f"quality.v{version}"] = None
    drift = data.get("drift_status")
    if drift == "breach":
        drifted = list(data.get("drifted") or [])
        joint = data.get("multivariate_drift")
        moved = list(drifted)
        if isinstance(joint, Mapping) and joint.get("status") == "breach":
            moved.append(
                f"the inputs' joint distribution (reconstruction error {joint['value']:.4g} "
                f"outside {joint['lower']:.4g}..{joint['upper']:.4g})"
            )
        message = f"{name}: inputs drifted past the breach level on {where}: " + (
            ", ".join(moved) or "the model's score"
        )
        details = {"version": version, "drifted": drifted}
        out[f"drift.v{version}"] = _Finding("drift_breach", "warning", message, details)
    elif drift in ("pass", "warn"):
        out[f"drift.v{version}"] = None
    dropped = [_estimate_shown(r) for r in rules if _estimate_at_risk(r)]
    if dropped:
        message = f"{name}: estimated performance dropped past the contract on {where}: " + (
            ", ".join(dropped)
        )
        details = {"version": version, "rules": rules}
        out[f"estimate.v{version}"] = _Finding("estimated_drop", "warning", message, details)
    elif data.get("estimated_status") is not None or contract != "insufficient_evidence":
        out[f"estimate.v{version}"] = None
    return out


def _estimate_at_risk(rule: Mapping[str, Any]) -> bool:
    """An estimate past its rule where the labels cannot judge it yet."""
    estimate = rule.get("estimate")
    waiting = rule.get("status") == "insufficient_evidence"
    return waiting and isinstance(estimate, Mapping) and estimate.get("status") == "at_risk"


def _estimate_shown(rule: Mapping[str, Any]) -> str:
    segment = f" in {rule['segment']}" if rule.get("segment") else ""
    bound = rule.get("threshold", rule.get("at_least", rule.get("at_most")))
    return (
        f"{rule['metric']}{segment} est {_shown(rule['estimate'].get('value'))} vs {_shown(bound)}"
    )


def _rule_shown(rule: Mapping[str, Any]) -> str:
    segment = f" in {rule['segment']}" if rule.get("segment") else ""
    return f"{rule['metric']}{segment} = {_shown(rule.get('value'))}"


def _shown(value: object) -> str:
    return f"{value:.3f}" if isinstance(value, int | float) else str(value)
