"""Alerts: de-duplication, routing by event, ack and resolve, and the ledger, on both backends."""

from __future__ import annotations

import logging
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from charter.alerts import raising as alerts
from charter.alerts.raising import (
    AlertError,
    AlertNotFoundError,
    AlertStateError,
    ack_alert,
    get_alert,
    list_alerts,
    raise_alert,
    resolve_alert,
)
from charter.errors import CharterNotFoundError
from charter.store.tables import AuditEntry
from charter.workspace import Workspace

from .conftest import CHARTER, Hook, Inbox, drain, set_routes


def _raise(ws: Workspace, **overrides: Any) -> alerts.AlertInfo:
    arguments: dict[str, Any] = {
        "event": "breach",
        "rule": "sufficiency.roc_auc",
        "window": "2026-11-16/2026-11-23",
        "severity": "critical",
        "message": "roc_auc 0.71 is below the agreed 0.75",
        "details": {"roc_auc": 0.71, "at_least": 0.75},
    }
    raised = raise_alert(ws, CHARTER, **(arguments | overrides))
    drain(ws)  # the delivery worker's passes, as cron or `charter run` would run them
    return replace(raised, deliveries=get_alert(ws, CHARTER, raised.id).deliveries)


def _actions(ws: Workspace) -> list[str]:
    with ws.db.read() as session:
        return list(
            session.execute(sa.select(AuditEntry.action).order_by(AuditEntry.seq)).scalars()
        )


def test_a_repeat_of_an_unresolved_alert_is_counted_not_delivered_again(
    ws: Workspace, workspace_dir: Path, hook: Hook
) -> None:
    set_routes(workspace_dir, [{"route": "webhook", "url": hook.url, "on": ["breach"]}])
    first = _raise(ws)
    again = _raise(ws, message="still below")
    assert (again.id, again.count, again.repeated) == (first.id, 2, True)
    assert len(hook.bodies) == 1, "a repeat must not page anyone again"

    other_window = _raise(ws, window="2026-11-23/2026-11-30")
    assert other_window.id != first.id and len(hook.bodies) == 2

    ack_alert(ws, CHARTER, first.id, by="oncall@bank.example")
    assert _raise(ws).id == first.id, "an acknowledged alert still absorbs repeats"
    resolve_alert(ws, CHARTER, first.id, by="oncall@bank.example")
    reopened = _raise(ws)
    assert reopened.id not in (first.id, other_window.id) and reopened.count == 1
    assert len(hook.bodies) == 3, "after resolution the next occurrence is delivered"
    assert {a.id: a.count for a in list_alerts(ws, CHARTER, "all")}[first.id] == 3
    assert _actions(ws).count("alert.repeated") == 2
    assert ws.ledger.verify().ok


def test_routes_receive_only_the_events_in_their_on_list(
    ws: Workspace, workspace_dir: Path, hook_factory: Any, inbox: Inbox
) -> None:
    breach_hook, drift_hook = hook_factory(), hook_factory()
    set_routes(
        workspace_dir,
        [
            {"route": "webhook", "url": breach_hook.url, "on": ["breach"]},
            {"route": "webhook", "url": drift_hook.url, "on": ["drift_breach"]},
            {"route": "email", "to": ["mlp@bank.example"], "on": ["breach", "drift_breach"]},
            {"route": "log", "on": ["stalled_decision"]},
        ],
    )
    alert = _raise(ws, event="drift_breach", rule="drift.income", severity="warning")
    assert [d.route for d in alert.deliveries] == ["webhook", "email"]
    assert all(d.ok for d in alert.deliveries)
    assert (len(breach_hook.bodies), len(drift_hook.bodies), len(inbox.messages)) == (0, 1, 1)
    assert "drift_breach" in drift_hook.bodies[0]["text"]

    stalled = _raise(ws, event="stalled_decision", rule="decision.v2", window=None)
    assert [d.route for d in stalled.deliveries] == ["log"]
    assert len(inbox.messages) == 1


def test_the_log_route_logs_at_the_alert_severity(
    ws: Workspace, workspace_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    set_routes(workspace_dir, [{"route": "log", "on": ["breach", "warn"]}])
    with caplog.at_level(logging.INFO, logger="charter.alerts"):
        critical = _raise(ws)
        _raise(ws, event="warn", rule="sufficiency.recall", severity="warning")
        _raise(ws, event="warn", rule="volume", severity="info")
    assert [r.levelno for r in caplog.records] == [logging.CRITICAL, logging.WARNING, logging.INFO]
    assert f"alert #{critical.id}" in caplog.records[0].getMessage()
    assert critical.deliveries[0].status == "logged"


def test_ack_then_resolve_records_who_when_and_why(ws: Workspace) -> None:
    alert = _raise(ws)
    acked = ack_alert(ws, CHARTER, alert.id, by="oncall@bank.example", note="looking")
    assert (acked.status, acked.acked_by, acked.ack_note) == (
        "acked",
        "oncall@bank.example",
        "looking",
    )
    assert acked.acked_at is not None and acked.acked_at >= alert.first_seen
    assert [a.id for a in list_alerts(ws, CHARTER)] == []
    assert [a.id for a in list_alerts(ws, CHARTER, "acked")] == [alert.id]
    assert [a.id for a in list_alerts(ws, CHARTER, "active")] == [alert.id]

    done = resolve_alert(ws, CHARTER, alert.id, by="dana.ruiz@bank.example", note="retrained")
    assert (done.status, done.resolved_by, done.resolve_note) == (
        "resolved",
        "dana.ruiz@bank.example",
        "retrained",
    )
    assert [a.id for a in list_alerts(ws, CHARTER, "resolved")] == [alert.id]
    assert list_alerts(ws, CHARTER, "active") == []
    assert _actions(ws) == ["alert.raised", "alert.delivered", "alert.acked", "alert.resolved"]
    assert ws.ledger.verify().ok


def test_an_open_alert_can_be_resolved_without_an_ack(ws: Workspace) -> None:
    alert = _raise(ws)
    assert resolve_alert(ws, CHARTER, alert.id, by="x@bank.example").status == "resolved"


def test_refused_changes_say_why(ws: Workspace) -> None:
    alert = _raise(ws)
    with pytest.raises(AlertNotFoundError, match="has no alert 999"):
        ack_alert(ws, CHARTER, 999, by="x@bank.example")
    ack_alert(ws, CHARTER, alert.id, by="x@bank.example")
    with pytest.raises(AlertStateError, match="already acked"):
        ack_alert(ws, CHARTER, alert.id, by="y@bank.example")
    resolve_alert(ws, CHARTER, alert.id, by="x@bank.example")
    with pytest.raises(AlertStateError, match="already resolved"):
        ack_alert(ws, CHARTER, alert.id, by="y@bank.example")
    with pytest.raises(AlertStateError, match="already resolved"):
        resolve_alert(ws, CHARTER, alert.id, by="y@bank.example")
    with pytest.raises(CharterNotFoundError):
        list_alerts(ws, "no-such-charter")
    with pytest.raises(AlertError, match="unknown alert status"):
        list_alerts(ws, CHARTER, "closed")


def test_an_alert_id_of_another_charter_is_not_found(ws: Workspace, workspace_dir: Path) -> None:
    other = (workspace_dir / "charters" / f"{CHARTER}.yaml").read_text()
    (workspace_dir / "charters" / "claims-triage.yaml").write_text(
        other.replace(f"name: {CHARTER}", "name: claims-triage")
    )
    alert = _raise(ws)
    with pytest.raises(AlertNotFoundError):
        resolve_alert(ws, "claims-triage", alert.id, by="x@bank.example")


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"event": "meltdown"}, "unknown alert event 'meltdown'"),
        ({"severity": "fatal"}, "unknown severity 'fatal'"),
        ({"rule": " "}, "needs a rule"),
        ({"notify": ["not-an-email"]}, "notify: .*not an email"),
    ],
)
def test_bad_arguments_are_refused_before_anything_is_recorded(
    ws: Workspace, override: dict[str, Any], message: str
) -> None:
    with pytest.raises(AlertError, match=message):
        _raise(ws, **override)
    assert list_alerts(ws, CHARTER, "all") == []
    assert _actions(ws) == []


def test_notify_emails_extra_recipients_for_one_alert(ws: Workspace, inbox: Inbox) -> None:
    alert = _raise(
        ws,
        event="stalled_decision",
        rule="decision.version-2",
        window=None,
        severity="warning",
        notify=["dana.ruiz@bank.example", "mlp@bank.example"],
    )
    assert [d.route for d in alert.deliveries] == ["log", "email"]
    assert inbox.messages[0][1] == ["dana.ruiz@bank.example", "mlp@bank.example"]


def test_an_unreadable_charter_file_still_records_the_alert(
    ws: Workspace, workspace_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (workspace_dir / "charters" / f"{CHARTER}.yaml").write_text("name: [unclosed\n")
    with caplog.at_level(logging.INFO, logger="charter.alerts"):
        alert = _raise(ws)
    assert alert.deliveries == ()
    assert "cannot read the charter" in caplog.text
    assert _actions(ws) == ["alert.raised", "alert.delivery_failed"]
    assert ws.ledger.verify().ok


def test_an_unknown_charter_is_an_error(ws: Workspace) -> None:
    with pytest.raises(CharterNotFoundError):
        raise_alert(ws, "nope", event="breach", rule="r", window=None, severity="info", message="m")


def test_concurrent_raises_of_one_alert_make_one_alert(ws: Workspace) -> None:
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            _raise(ws)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    (only,) = list_alerts(ws, CHARTER, "all")
    assert only.count == 6
    assert ws.ledger.verify().ok


def test_details_become_plain_json(ws: Workspace) -> None:
    from datetime import date

    alert = _raise(ws, details={"day": date(2026, 11, 23), "psi": 0.31, "columns": ("a", "b")})
    assert dict(alert.details) == {"day": "2026-11-23", "psi": 0.31, "columns": ["a", "b"]}
    assert list_alerts(ws, CHARTER)[0].to_dict()["details"]["day"] == "2026-11-23"
