"""Routes against real servers: webhook retries, timeouts and refusals; SMTP delivery and refusal.

Tests named ``..._is_recorded`` go through :func:`raise_alert` and the outbox's delivery passes
on both backends and check the stored delivery and the ledger; the others call :func:`deliver`
directly, which never raises.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from charter.alerts import delivery
from charter.alerts.delivery import Notice, RetryPolicy, deliver, slack_payload
from charter.alerts.raising import get_alert, list_alerts, raise_alert
from charter.settings import Settings, SmtpSettings
from charter.spec.model import AlertRoute
from charter.store.tables import AlertDelivery, AuditEntry
from charter.workspace import Workspace

from .conftest import CHARTER, Hook, Inbox, drain, free_port, set_routes


class _RecordingTime:
    """``time`` for the delivery module: records each wait it asks for, then waits it."""

    def __init__(self, waits: list[float]) -> None:
        self.waits = waits

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        time.sleep(seconds)

    def monotonic(self) -> float:
        return time.monotonic()


FAST = RetryPolicy(attempts=4, timeout=2.0, backoff=0.05, max_seconds=10.0)
NOTICE = Notice(
    charter=CHARTER,
    event="breach",
    severity="critical",
    rule="sufficiency.roc_auc",
    window="2026-11-16/2026-11-23",
    message="roc_auc 0.71 is below the agreed 0.75",
    details={"roc_auc": 0.71},
    alert_id=7,
    owner="Dana Ruiz <dana.ruiz@bank.example>",
)


def _webhook(url: str) -> AlertRoute:
    return AlertRoute(route="webhook", url=url)


def _smtp(inbox: Inbox, **overrides: Any) -> SmtpSettings:
    base: dict[str, Any] = {"host": "127.0.0.1", "port": inbox.port, "starttls": False}
    return SmtpSettings(**(base | overrides))


def _alert(ws: Workspace, **overrides: Any) -> Any:
    arguments: dict[str, Any] = {
        "event": "breach",
        "rule": "sufficiency.roc_auc",
        "window": "2026-11-16/2026-11-23",
        "severity": "critical",
        "message": "roc_auc 0.71 is below the agreed 0.75",
    }
    policy = overrides.pop("policy", None)
    raised = raise_alert(ws, CHARTER, **(arguments | overrides))
    drain(ws, policy)
    return get_alert(ws, CHARTER, raised.id)


def _ledger(ws: Workspace) -> list[tuple[str, str]]:
    with ws.db.read() as session:
        rows = session.execute(
            sa.select(AuditEntry.action, AuditEntry.payload).order_by(AuditEntry.seq)
        )
        return [(r.action, r.payload) for r in rows]


# -- webhook ------------------------------------------------------------------------------------
def test_webhook_retries_server_errors_with_backoff_then_succeeds(
    hook: Hook, monkeypatch: pytest.MonkeyPatch
) -> None:
    waits: list[float] = []
    monkeypatch.setattr(delivery, "time", _RecordingTime(waits))
    hook.then(500, 503)
    result = deliver(_webhook(hook.url), NOTICE, policy=FAST, smtp=SmtpSettings())
    assert (result.ok, result.status, result.error) == (True, "200", None)
    assert [a.status for a in result.attempts] == ["500", "503", "200"]
    assert result.attempts[0].error is not None and "HTTP 500" in result.attempts[0].error
    assert waits == [FAST.delay(1), FAST.delay(2)] and waits[1] == 2 * waits[0], "the wait doubles"
    assert hook.bodies[0] == hook.bodies[2] == slack_payload(NOTICE)


def test_webhook_retries_are_recorded(ws: Workspace, workspace_dir: Path, hook: Hook) -> None:
    set_routes(workspace_dir, [{"route": "webhook", "url": hook.url}])
    hook.then(502)
    alert = _alert(ws)
    (delivery,) = alert.deliveries
    assert delivery.ok and len(delivery.attempts) == 2
    (stored,) = list_alerts(ws, CHARTER)[0].deliveries
    assert [a.status for a in stored.attempts] == ["502", "200"]
    assert stored.attempts[0].at.tzinfo is not None
    assert [a for a, _ in _ledger(ws)] == ["alert.raised", "alert.delivered"]


def test_a_webhook_that_times_out_is_recorded_as_failed_without_raising(
    ws: Workspace, workspace_dir: Path, hook: Hook, monkeypatch: pytest.MonkeyPatch
) -> None:
    set_routes(workspace_dir, [{"route": "webhook", "url": hook.url}, {"route": "log"}])
    hook.then(1.5, 1.5)
    policy = RetryPolicy(attempts=2, timeout=0.2, backoff=0.05, max_seconds=5)
    alert = _alert(ws, policy=policy)
    log, webhook = alert.deliveries  # the log route is written at once, the webhook later
    assert len(webhook.attempts) == 2, "bounded by attempts x timeout, not the server"
    assert not webhook.ok and log.ok
    assert webhook.error == "timed out after 0.2s (gave up after 2 attempts)"
    assert [a for a, _ in _ledger(ws)] == [
        "alert.raised",
        "alert.delivered",
        "alert.delivery_failed",
    ]
    assert "timed out" in _ledger(ws)[2][1]
    assert list_alerts(ws, CHARTER)[0].id == alert.id, "the alert itself is kept"
    assert ws.ledger.verify().ok


def test_total_delivery_time_is_bounded(hook: Hook) -> None:
    hook.then(*[500] * 20)
    policy = RetryPolicy(attempts=20, timeout=1.0, backoff=0.1, max_seconds=0.5)
    result = deliver(_webhook(hook.url), NOTICE, policy=policy, smtp=SmtpSettings())
    # 20 attempts were allowed; the 0.5 s budget (backoffs 0.1 + 0.2 + 0.4 already exceed it
    # after four) stops the retries long before, however slow the machine is.
    assert not result.ok and 1 <= len(result.attempts) <= 4


def test_client_errors_are_not_retried(hook: Hook) -> None:
    hook.then(404)
    result = deliver(_webhook(hook.url), NOTICE, policy=FAST, smtp=SmtpSettings())
    assert (result.ok, result.status, len(result.attempts)) == (False, "404", 1)
    assert result.error == "HTTP 404: server says no"


def test_too_many_requests_is_retried(hook: Hook) -> None:
    hook.then(429)
    result = deliver(_webhook(hook.url), NOTICE, policy=FAST, smtp=SmtpSettings())
    assert result.ok and len(result.attempts) == 2


def test_a_refused_connection_is_retried_then_reported() -> None:
    url = f"http://127.0.0.1:{free_port()}/hook"
    result = deliver(_webhook(url), NOTICE, policy=FAST, smtp=SmtpSettings())
    assert not result.ok and len(result.attempts) == FAST.attempts
    assert result.error is not None and result.error.startswith("connection failed")


def test_the_webhook_url_is_never_stored(ws: Workspace, workspace_dir: Path, hook: Hook) -> None:
    set_routes(workspace_dir, [{"route": "webhook", "url": hook.url}])
    alert = _alert(ws)
    target = alert.deliveries[0].target
    assert target.startswith("http://127.0.0.1:") and "secret" not in target
    with ws.db.read() as session:
        stored = session.execute(sa.select(AlertDelivery.target)).scalar_one()
    assert stored == target
    assert all("secret" not in payload for _, payload in _ledger(ws))


def test_the_slack_body_keeps_to_slack_limits_and_escapes_markup() -> None:
    notice = Notice(
        charter=CHARTER,
        event="drift_breach",
        severity="warning",
        rule="drift.income <psi>",
        window=None,
        message="income & debt_ratio drifted <again> " + "x" * 5000,
        details={"psi": 0.4, "columns": ["income"] * 2000},
        alert_id=3,
        owner="Dana Ruiz <dana.ruiz@bank.example>",
    )
    body = slack_payload(notice)
    assert isinstance(body["text"], str) and 0 < len(body["text"]) <= 3000
    header, message, facts, details, footer = body["blocks"]
    assert header["type"] == "header" and header["text"]["type"] == "plain_text"
    assert len(header["text"]["text"]) <= 150
    assert message["text"]["type"] == "mrkdwn" and len(message["text"]["text"]) <= 3000
    assert message["text"]["text"].startswith("income &amp; debt_ratio drifted &lt;again&gt;")
    assert len(facts["fields"]) <= 10
    assert all(f["type"] == "mrkdwn" and len(f["text"]) <= 2000 for f in facts["fields"])
    assert "*Rule*\ndrift.income &lt;psi&gt;" in [f["text"] for f in facts["fields"]]
    assert details["text"]["text"].startswith("```") and details["text"]["text"].endswith("```")
    assert len(details["text"]["text"]) <= 3000
    assert footer["type"] == "context"


def test_a_test_notice_is_marked_as_such() -> None:
    body = slack_payload(Notice(CHARTER, "test", "info", "alerts.test", None, "hello", test=True))
    assert body["text"].startswith("[TEST] ")
    assert "no action needed" in body["blocks"][-1]["elements"][0]["text"]


# -- email --------------------------------------------------------------------------------------
def test_an_email_alert_arrives_with_its_facts(
    ws: Workspace, workspace_dir: Path, inbox: Inbox
) -> None:
    set_routes(workspace_dir, [{"route": "email", "to": ["mlp@bank.example"]}])
    alert = _alert(ws, details={"roc_auc": 0.71})
    assert alert.deliveries[0].ok and alert.deliveries[0].status == "250"
    ((sender, recipients, message),) = inbox.messages
    assert (sender, recipients) == ("charter@bank.example", ["mlp@bank.example"])
    assert message["Subject"].startswith("[charter] CRITICAL · credit-default · breach")
    assert message["X-Charter-Alert"] == str(alert.id)
    payload = message.get_payload(decode=True)
    assert isinstance(payload, bytes)
    text = payload.decode()
    assert "roc_auc 0.71 is below the agreed 0.75" in text and "sufficiency.roc_auc" in text


def test_an_smtp_server_refusing_the_recipient_is_recorded(
    ws: Workspace, workspace_dir: Path, inbox: Inbox
) -> None:
    set_routes(workspace_dir, [{"route": "email", "to": ["gone@bank.example"]}])
    inbox.refuse.add("gone@bank.example")
    alert = _alert(ws)
    (delivery,) = alert.deliveries
    assert (delivery.ok, delivery.status, len(delivery.attempts)) == (False, "550", 1)
    assert delivery.error == "gone@bank.example: 550 5.1.1 no such mailbox here"
    assert [a for a, _ in _ledger(ws)] == ["alert.raised", "alert.delivery_failed"]
    assert inbox.messages == []
    assert ws.ledger.verify().ok


def test_a_partly_refused_email_is_a_failure_naming_who_was_refused(inbox: Inbox) -> None:
    inbox.refuse.add("gone@bank.example")
    route = AlertRoute(route="email", to=["gone@bank.example", "mlp@bank.example"])
    result = deliver(route, NOTICE, policy=FAST, smtp=_smtp(inbox))
    assert (result.ok, result.status) == (False, "partial")
    assert (
        result.error == "some recipients refused: gone@bank.example: 550 5.1.1 no such mailbox here"
    )
    assert inbox.messages[0][1] == ["mlp@bank.example"]


def test_a_temporary_smtp_refusal_is_retried(inbox: Inbox) -> None:
    inbox.defer = 1
    route = AlertRoute(route="email", to=["mlp@bank.example"])
    result = deliver(route, NOTICE, policy=FAST, smtp=_smtp(inbox))
    assert result.ok and [a.status for a in result.attempts] == ["451", "250"]


def test_an_unreachable_smtp_server_is_retried_then_reported() -> None:
    port = free_port()
    route = AlertRoute(route="email", to=["mlp@bank.example"])
    smtp = SmtpSettings(host="127.0.0.1", port=port, starttls=False)
    result = deliver(route, NOTICE, policy=FAST, smtp=smtp)
    assert not result.ok and len(result.attempts) == FAST.attempts
    assert result.error is not None and f"cannot reach SMTP server 127.0.0.1:{port}" in result.error


def test_starttls_against_a_server_without_it_says_how_to_fix_it(inbox: Inbox) -> None:
    route = AlertRoute(route="email", to=["mlp@bank.example"])
    result = deliver(route, NOTICE, policy=FAST, smtp=_smtp(inbox, starttls=True))
    assert not result.ok and len(result.attempts) == 1
    assert result.error is not None and "CHARTER_SMTP_STARTTLS=false" in result.error


def test_no_smtp_host_is_a_clear_failure() -> None:
    route = AlertRoute(route="email", to=["mlp@bank.example"])
    result = deliver(route, NOTICE, policy=FAST, smtp=SmtpSettings(host=None))
    assert (result.ok, result.error) == (False, "no SMTP server configured: set CHARTER_SMTP_HOST")


def test_smtp_and_retry_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "HOST": "smtp.bank.example",
        "PORT": "2525",
        "USER": "alerts",
        "PASSWORD": "hunter2",
        "FROM": "charter@bank.example",
        "STARTTLS": "false",
    }.items():
        monkeypatch.setenv(f"CHARTER_SMTP_{name}", value)
    monkeypatch.setenv("CHARTER_ALERTS_ATTEMPTS", "7")
    monkeypatch.setenv("CHARTER_ALERTS_MAX_SECONDS", "30")
    settings = Settings()
    smtp = settings.smtp
    assert (smtp.host, smtp.port, smtp.user, smtp.sender, smtp.starttls) == (
        "smtp.bank.example",
        2525,
        "alerts",
        "charter@bank.example",
        False,
    )
    assert smtp.password is not None and smtp.password.get_secret_value() == "hunter2"
    assert "hunter2" not in repr(settings)
    policy = RetryPolicy.from_settings(settings.alerts)
    assert (policy.attempts, policy.max_seconds) == (7, 30.0)
