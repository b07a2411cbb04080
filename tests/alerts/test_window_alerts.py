"""Monitoring findings become alerts (breach, warn, drift, quality, estimated drop, too little
evidence), de-duplicated per window, resolved by a later passing window."""

from __future__ import annotations

import ast
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, get_args

import pytest

from charter.alerts.raising import list_alerts
from charter.alerts.windows import alert_on_windows, react_to_windows
from charter.monitoring.service import WindowResult
from charter.spec.model import AlertEvent
from charter.workspace import Workspace

START = datetime(2026, 10, 1, tzinfo=UTC)


def window(
    version: str,
    status: str,
    verdict: str,
    week: int = 0,
    drift: str = "pass",
    **extra: Any,
) -> WindowResult:
    start = START + timedelta(days=7 * week)
    rules = [{"metric": "roc_auc", "segment": None, "status": verdict, "value": 0.61}]
    data: dict[str, Any] = {
        **extra,
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


def _charter(ws: Workspace, old: str, new: str) -> None:
    path = ws.charters_dir / "credit-default.yaml"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def test_an_alert_resolves_itself_when_its_rule_passes_on_a_later_window(ws: Workspace) -> None:
    raised = alert_on_windows(ws, "credit-default", [window("2", "live", "breach", 0)])
    assert [a.event for a in raised] == ["breach"]

    reaction = react_to_windows(ws, "credit-default", [window("2", "live", "pass", 1)])

    (resolved,) = reaction.resolved
    assert resolved.id == raised[0].id and resolved.status == "resolved"
    assert resolved.resolved_by == "charter (auto-resolve)"
    passed = f"{(START + timedelta(days=7)).isoformat()}/{(START + timedelta(days=14)).isoformat()}"
    assert resolved.resolve_note == f"sufficiency.v2 passed on window {passed}"
    assert list_alerts(ws, "credit-default", status="open") == []
    entries = [e for e in ws.ledger.entries() if e.action == "alert.resolved"]
    assert json.loads(entries[-1].payload)["passed"] == passed
    # the old window, judged again by the next run, is not alerted again
    again = react_to_windows(
        ws, "credit-default", [window("2", "live", "breach", 0), window("2", "live", "pass", 1)]
    )
    assert again.raised == [] and again.resolved == []
    assert len(list_alerts(ws, "credit-default", status="all")) == 1


def test_a_pass_resolves_only_earlier_windows_of_the_same_rule(ws: Workspace) -> None:
    alert_on_windows(ws, "credit-default", [window("2", "live", "breach", 3, drift="breach")])
    reaction = react_to_windows(ws, "credit-default", [window("2", "live", "pass", 2)])
    assert reaction.resolved == []  # an earlier window passing says nothing about week 3
    reaction = react_to_windows(ws, "credit-default", [window("2", "live", "breach", 4)])
    assert [a.rule for a in reaction.resolved] == ["drift.v2"]  # drift passed, the contract not
    assert {a.rule for a in list_alerts(ws, "credit-default")} == {"sufficiency.v2"}


def test_auto_resolve_false_keeps_alerts_open(ws: Workspace) -> None:
    _charter(ws, "  alerts:\n", "  auto_resolve: false\n  alerts:\n")
    alert_on_windows(ws, "credit-default", [window("2", "live", "breach", 0)])
    reaction = react_to_windows(ws, "credit-default", [window("2", "live", "pass", 1)])
    assert reaction.resolved == []
    assert [a.event for a in list_alerts(ws, "credit-default")] == ["breach"]


def test_auto_resolve_false_under_alerts_keeps_alerts_open(ws: Workspace) -> None:
    _charter(
        ws,
        "  alerts:\n    - {route: log, on: [breach, drift_breach, stalled_decision]}\n",
        "  alerts:\n    auto_resolve: false\n    routes:\n"
        "      - {route: log, on: [breach, drift_breach, stalled_decision]}\n",
    )
    charter = ws.load("credit-default").charter
    assert charter.operations.auto_resolve is False and len(charter.operations.alerts) == 1
    alert_on_windows(ws, "credit-default", [window("2", "live", "breach", 0)])
    assert react_to_windows(ws, "credit-default", [window("2", "live", "pass", 1)]).resolved == []


def test_external_predictions_are_alerted_like_a_live_version(ws: Workspace) -> None:
    raised = alert_on_windows(ws, "credit-default", [window("external", "external", "breach")])
    assert [(a.event, a.rule) for a in raised] == [("breach", "sufficiency.vexternal")]


def test_exploratory_windows_raise_and_resolve_nothing(ws: Workspace) -> None:
    alert_on_windows(ws, "credit-default", [window("2", "live", "breach", 0)])
    daily = [
        window("2", "live", "breach", 1, window="1d"),
        window("2", "live", "pass", 2, window="1d"),
    ]
    reaction = react_to_windows(ws, "credit-default", daily)
    assert reaction.raised == [] and reaction.resolved == []
    own = react_to_windows(ws, "credit-default", [window("2", "live", "breach", 1, window="7d")])
    assert [a.event for a in own.raised] == ["breach"]


def test_quality_breach_and_estimated_drop_raise_their_events(ws: Workspace) -> None:
    quality = {
        "status": "breach",
        "problems": [{"level": "breach", "message": "amount: missing values up by 10.0%"}],
    }
    rules = [
        {
            "metric": "roc_auc",
            "segment": None,
            "status": "insufficient_evidence",
            "value": None,
            "threshold": 0.7,
            "estimate": {"value": 0.6, "status": "at_risk"},
        }
    ]
    found = window(
        "2",
        "live",
        "breach",
        quality_verdict=quality,
        contract_verdict="insufficient_evidence",
        estimated_status="at_risk",
    )
    found.data["rules"][:] = rules
    raised = alert_on_windows(ws, "credit-default", [found])
    assert sorted(a.event for a in raised) == ["estimated_drop", "quality_breach"]
    drop = next(a for a in raised if a.event == "estimated_drop")
    assert "roc_auc est 0.600 vs 0.700" in drop.message
    breach = next(a for a in raised if a.event == "quality_breach")
    assert breach.severity == "critical" and "missing values up by 10.0%" in breach.message


def test_insufficient_evidence_is_raised_only_when_a_route_asks_for_it(ws: Workspace) -> None:
    thin = window("2", "live", "insufficient_evidence", verdict_reason="roc_auc: 3 labels")
    assert alert_on_windows(ws, "credit-default", [thin]) == []
    _charter(ws, "on: [breach, drift_breach,", "on: [breach, insufficient_evidence, drift_breach,")
    (raised,) = alert_on_windows(ws, "credit-default", [thin])
    assert raised.event == "insufficient_evidence" and "roc_auc: 3 labels" in raised.message
    reaction = react_to_windows(ws, "credit-default", [window("2", "live", "warn", 1)])
    assert [a.event for a in reaction.resolved] == ["insufficient_evidence"]


# Every event a charter's alert route accepts, and the test that proves something raises it.
RAISED_BY = {
    "breach": (
        "alerts/test_window_alerts.py",
        "test_breach_warn_and_drift_raise_alerts_once_per_window",
    ),
    "warn": (
        "alerts/test_window_alerts.py",
        "test_breach_warn_and_drift_raise_alerts_once_per_window",
    ),
    "drift_breach": (
        "alerts/test_window_alerts.py",
        "test_breach_warn_and_drift_raise_alerts_once_per_window",
    ),
    "quality_breach": (
        "monitoring/test_quality_verdict.py",
        "test_missing_and_unseen_values_become_a_quality_verdict_and_an_alert",
    ),
    "stalled_decision": (
        "lifecycle/test_decisions_review.py",
        "test_a_stalled_decision_alerts_once_then_escalates_each_step_once",
    ),
    "rollback": (
        "lifecycle/test_lifecycle_rollback.py",
        "test_two_breached_windows_where_the_standby_passed_roll_back_and_alert",
    ),
    "retrain_failed": (
        "retraining/test_retrain.py",
        "test_a_failing_entrypoint_changes_nothing_and_is_recorded_and_alerted",
    ),
    "step_failed": ("scheduling/test_scheduler.py", "test_once_survives_failing_steps_and_exits_5"),
    "version_failed": (
        "plumbing/test_scoring_isolation.py",
        "test_a_shadow_reading_a_missing_column_fails_alone",
    ),
    "insufficient_evidence": (
        "monitoring/test_quality_verdict.py",
        "test_too_few_labels_raise_insufficient_evidence_when_routed",
    ),
    "estimated_drop": (
        "monitoring/test_reference_bounds.py",
        "test_an_estimated_drop_past_the_reference_bound_alerts_before_labels",
    ),
}


@pytest.mark.parametrize("event", get_args(AlertEvent))
def test_every_accepted_alert_event_is_raised_and_proven_by_a_test(event: str) -> None:
    file, test = RAISED_BY[event]
    path = Path(__file__).parents[1] / file
    tree = ast.parse(path.read_text())
    body = next(
        node for node in ast.walk(tree) if isinstance(node, ast.FunctionDef) and node.name == test
    )
    assert repr(event)[1:-1] in ast.unparse(body)  # the test names the event it proves
    sources = Path(__file__).parents[2] / "src" / "charter"
    raisers = [p for p in sources.rglob("*.py") if f'"{event}"' in p.read_text()]
    assert [p for p in raisers if p.name != "model.py"], f"nothing raises {event}"
