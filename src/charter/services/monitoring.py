"""Monitoring a charter: evaluate its windows, then raise and resolve the alerts they call for.

The one place that composes the two (:mod:`charter.monitoring.service` evaluates and stores;
:mod:`charter.alerts.windows` decides which windows alert): ``charter monitor``, the scheduler's
monitor step, the demo and ``charter.monitor`` all call :func:`monitor`. Re-running it never
raises the same finding twice: an alert still open for the same (rule, window) is repeated, not
raised again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from charter.alerts.raising import AlertInfo
from charter.alerts.windows import react_to_windows
from charter.monitoring.service import MonitorReport
from charter.monitoring.service import monitor as evaluate_windows
from charter.progress import SILENT, Progress
from charter.schemas import monitoring as schemas
from charter.spec.windows import WindowValue
from charter.workspace import Workspace

__all__ = ["MonitorRun", "monitor"]


@dataclass(frozen=True)
class MonitorRun(MonitorReport):
    """A :class:`~charter.monitoring.service.MonitorReport` with the alerts its windows raised
    (or repeated) and those a passing window resolved."""

    raised: list[AlertInfo] = field(default_factory=list)
    resolved: list[AlertInfo] = field(default_factory=list)

    @property
    def new_alerts(self) -> list[AlertInfo]:
        """The alerts raised by this run (not repeats of one still open)."""
        return [a for a in self.raised if not a.repeated]

    def to_schema(self) -> schemas.MonitorResult:
        """What ``charter monitor --json`` prints: the report with its alerts."""
        return (
            super()
            .to_schema()
            .model_copy(
                update={
                    "alerts": [
                        schemas.RaisedAlert(
                            id=a.id, event=a.event, severity=a.severity, repeated=a.repeated
                        )
                        for a in self.raised
                    ],
                    "resolved_alerts": [
                        schemas.ResolvedAlert(id=a.id, event=a.event) for a in self.resolved
                    ],
                }
            )
        )

    def to_dict(self) -> dict[str, Any]:
        return self.to_schema().to_json_dict()


def monitor(
    ws: Workspace,
    name: str,
    *,
    since: datetime | str | None = None,
    until: datetime | str | None = None,
    window: WindowValue | str | None = None,
    progress: Progress = SILENT,
) -> MonitorRun:
    """Evaluate, store and return the windows of ``name`` whose start lies in [since, until)
    (``since`` is rounded down to its window's start), with the alerts they raised and resolved.
    Windows cut by an exploratory ``window`` other than the charter's raise and resolve nothing.
    """
    report = evaluate_windows(ws, name, since=since, until=until, window=window, progress=progress)
    reaction = react_to_windows(ws, report.charter, report.windows)
    return MonitorRun(
        report.charter,
        report.window,
        report.windows,
        report.verdicts_changed,
        report.exploratory,
        raised=reaction.raised,
        resolved=reaction.resolved,
    )
