"""Monitoring findings become alerts: breach, warn and drift breach, de-duplicated per window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from charter.monitoring.service import WindowResult
from charter.operations.alerts import list_alerts
from charter.operations.window_alerts import alert_on_windows
from charter.workspace import Workspace

START = datetime(2026, 10, 1, tzinfo=UTC)


def window(
    version: str, status: str, verdict: str, week: int = 0, drift: str = "pass"
) -> WindowResult:
    start = START + timedelta(days=7 * week)
    rules = [{"metric": "roc_auc", "segment": None, "status": verdict, "value": 0.61}]
    data: dict[str, Any] = {
        "status": status,
        "verdict": verdict,
        "rules": rules,
        "drift_status": drift,
        "drifted": ["income"] if drift == "breach" else [],
    }
    return WindowResult(version, start, start + timedelta(days=7), verdict, data)


def test_breach_warn_and_drift_raise_alerts_once_per_window(ws: Workspace) -> None:
    windows = [
        window("2", "live", "pass", 0),
        window("2", "live", "warn", 1),
        window("2", "live", "breach", 2, drift="breach"),
    ]
    raised = alert_on_windows(ws, "credit-default", windows)
    assert sorted(a.event for a in raised) == ["breach", "drift_breach", "warn"]
    breach = next(a for a in raised if a.event == "breach")
    assert breach.severity == "critical" and "roc_auc = 0.610" in breach.message
    again = alert_on_windows(ws, "credit-default", windows)
    assert all(a.repeated for a in again)
    assert len(list_alerts(ws, "credit-default", status="open")) == 3
    assert ws.ledger.verify().ok


def test_shadow_windows_alert_only_while_nothing_is_live(ws: Workspace) -> None:
    pilot = [window("1", "shadow", "breach", 0)]
    assert [a.event for a in alert_on_windows(ws, "credit-default", pilot)] == ["breach"]
    mixed = [window("1", "shadow", "breach", 1), window("2", "live", "pass", 1)]
    assert alert_on_windows(ws, "credit-default", mixed) == []


def test_monitor_cli_reports_the_alerts_it_raised(cli: Any) -> None:
    result = cli("monitor", "credit-default", "--json")
    assert result.code == 0
    assert result.json()["alerts"] == []  # nothing logged yet: no windows, no alerts
