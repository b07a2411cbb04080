"""Alerts from monitoring: a window whose verdict or drift breaches (or warns) raises an alert.

Called after every monitoring run — ``charter monitor`` and the scheduler's monitor step — so the
conversation about a breach starts with an alert, not with someone opening a dashboard. Which
windows count: those of the live version; while no version is live, those of the shadow versions
(a pilot failing its contract is news for the owner too). Re-running monitoring never re-alerts the
same finding: :func:`raise_alert` de-duplicates by (charter, rule, window) while an alert is open.
"""

from __future__ import annotations

from collections.abc import Iterable

from charter.monitoring.service import WindowResult
from charter.operations.alerts import AlertInfo, raise_alert
from charter.workspace import Workspace

# verdict -> (event, severity)
_VERDICTS = {"breach": ("breach", "critical"), "warn": ("warn", "warning")}


def alert_on_windows(ws: Workspace, name: str, windows: Iterable[WindowResult]) -> list[AlertInfo]:
    """Raise the alerts the given evaluated windows call for; return those raised or repeated."""
    windows = list(windows)
    live = [w for w in windows if w.data.get("status") == "live"]
    watched = live or [w for w in windows if w.data.get("status") == "shadow"]
    raised = []
    for window in watched:
        span = f"{window.start.isoformat()}/{window.end.isoformat()}"
        where = f"version {window.version} ({window.data.get('status')}), window {span}"
        if window.verdict in _VERDICTS:
            event, severity = _VERDICTS[window.verdict]
            failing = [
                f"{r['metric']}{' in ' + r['segment'] if r.get('segment') else ''} = {_shown(r.get('value'))}"
                for r in window.data.get("rules", [])
                if r.get("status") == window.verdict
            ]
            raised.append(
                raise_alert(
                    ws,
                    name,
                    event=event,
                    rule=f"sufficiency.v{window.version}",
                    window=span,
                    severity=severity,
                    message=f"{name}: sufficiency {window.verdict} on {where}: {', '.join(failing)}",
                    details={"version": window.version, "rules": window.data.get("rules", [])},
                )
            )
        if window.data.get("drift_status") == "breach":
            drifted = list(window.data.get("drifted") or [])
            raised.append(
                raise_alert(
                    ws,
                    name,
                    event="drift_breach",
                    rule=f"drift.v{window.version}",
                    window=span,
                    severity="warning",
                    message=f"{name}: inputs drifted past the breach level on {where}: "
                    + (", ".join(drifted) or "the model's score"),
                    details={"version": window.version, "drifted": drifted},
                )
            )
    return raised


def _shown(value: object) -> str:
    return f"{value:.3f}" if isinstance(value, int | float) else str(value)
