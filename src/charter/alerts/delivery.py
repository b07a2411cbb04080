"""Delivering one alert to one route: a Slack-compatible webhook, an email over SMTP, or the log.

:func:`deliver` never raises. A route that is down must neither lose the alert (already recorded
by the caller) nor stop the other routes from being tried, so every outcome, good or bad, comes
back as a :class:`DeliveryResult` holding each attempt.

Webhook and SMTP deliveries retry *transient* failures (a timeout, a refused or dropped
connection, HTTP 5xx/408/429, an SMTP 4xx reply) with exponential backoff, bounded both by a
number of attempts and by a total time (``max_seconds`` per route). Alerts reach this module
through the outbox (:mod:`charter.alerts.outbox`), which asks for one attempt per pass and
spreads the retries over later passes; ``charter alerts test`` retries in place. *Permanent* failures (another HTTP 4xx, an SMTP 5xx such as an unknown
recipient, bad TLS settings) are not retried: retrying cannot help, and the error should reach a
person quickly. The payloads (Slack blocks, the email) are built here too: they are what a route
sends, and nothing else uses them.
"""

from __future__ import annotations

import json
import logging
import smtplib
import ssl
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from functools import cache
from typing import Any

import httpx

from charter.errors import CharterError
from charter.redaction import describe_webhook, expand_env, redact_text
from charter.schemas import alerts as schemas
from charter.settings import AlertDeliverySettings, SmtpSettings
from charter.spec.model import AlertRoute

logger = logging.getLogger("charter.alerts")

LOG_LEVELS = {"info": logging.INFO, "warning": logging.WARNING, "critical": logging.CRITICAL}
_RETRY_HTTP = frozenset({408, 429})
# Slack's documented limits for the parts of a message we use (characters).
_HEADER_MAX, _SECTION_MAX, _FIELD_MAX, _TEXT_MAX = 150, 3000, 2000, 3000


@dataclass(frozen=True)
class Notice:
    """What a route sends: an alert as the person on call should read it."""

    charter: str
    event: str
    severity: str
    rule: str
    window: str | None
    message: str
    details: Mapping[str, Any] = field(default_factory=dict)
    alert_id: int | None = None
    owner: str = ""
    test: bool = False

    @property
    def title(self) -> str:
        prefix = "[TEST] " if self.test else ""
        return f"{prefix}{self.severity.upper()} · {self.charter} · {self.event}"


@dataclass(frozen=True)
class Attempt:
    """One try at delivering: when, how long it took, and what came back."""

    number: int
    at: datetime
    seconds: float
    ok: bool
    status: str | None
    error: str | None
    retry: bool = False  # a transient failure, worth another attempt (not stored)

    def to_schema(self) -> schemas.DeliveryAttempt:
        return schemas.DeliveryAttempt(
            number=self.number,
            at=self.at,
            seconds=round(self.seconds, 3),
            ok=self.ok,
            status=self.status,
            error=self.error,
        )

    def to_dict(self) -> dict[str, Any]:
        return self.to_schema().to_json_dict()


@dataclass(frozen=True)
class DeliveryResult:
    """The outcome of delivering one alert (or test alert) to one route."""

    route: str
    target: str
    ok: bool
    status: str | None
    error: str | None
    attempts: tuple[Attempt, ...]
    started_at: datetime
    finished_at: datetime
    test: bool = False

    def to_schema(self) -> schemas.Delivery:
        return schemas.Delivery(
            route=self.route,
            target=self.target,
            ok=self.ok,
            status=self.status,
            error=self.error,
            attempts=len(self.attempts),
            attempt_log=[a.to_schema() for a in self.attempts],
            started_at=self.started_at,
            finished_at=self.finished_at,
            test=self.test,
        )

    def to_dict(self) -> dict[str, Any]:
        return self.to_schema().to_json_dict()


@dataclass(frozen=True)
class RetryPolicy:
    """Bounds on one route's delivery: attempts, per-attempt timeout, backoff and total time."""

    attempts: int = 5
    timeout: float = 10.0
    backoff: float = 0.5
    max_seconds: float = 60.0

    @classmethod
    def from_settings(cls, settings: AlertDeliverySettings) -> RetryPolicy:
        return cls(settings.attempts, settings.timeout, settings.backoff, settings.max_seconds)

    def delay(self, failed_attempts: int) -> float:
        """Seconds to wait after the n-th failed attempt: backoff, 2x, 4x, ..."""
        return float(self.backoff * 2 ** (failed_attempts - 1))


@dataclass(frozen=True)
class _Outcome:
    ok: bool
    status: str | None = None
    error: str | None = None
    retry: bool = False


# -- the one entry point ------------------------------------------------------------------------
def deliver(
    route: AlertRoute, notice: Notice, *, policy: RetryPolicy, smtp: SmtpSettings
) -> DeliveryResult:
    """Send ``notice`` through ``route``; every failure is returned, never raised."""
    started = datetime.now(UTC)
    target = describe_target(route)
    try:
        if route.route == "webhook":
            assert route.url is not None  # the charter model requires it
            # At use: never stored expanded (nor with a literal secret of the file revealed).
            url = expand_env(route.url, what="the webhook URL", charter=notice.charter)
            attempts = _webhook(url, slack_payload(notice), policy)
        elif route.route == "email":
            attempts = _email(smtp, email_message(notice, smtp.sender, route.to), policy)
        else:
            attempts = [_log(notice)]
    except CharterError as exc:
        failed = _Outcome(False, None, redact_text(exc.message))
        attempts = [_attempt(1, started, time.monotonic(), failed)]
    except Exception as exc:  # a bug in a route must not lose the alert or the other routes
        failed = _Outcome(False, None, redact_text(f"{type(exc).__name__}: {exc}"))
        attempts = [_attempt(1, started, time.monotonic(), failed)]
    last = attempts[-1] if attempts else None
    if last is None:
        error: str | None = "no attempt made: max_seconds left no time"
    elif last.ok or len(attempts) == 1:
        error = None if last.error is None else redact_text(last.error)
    else:
        error = redact_text(f"{last.error} (gave up after {len(attempts)} attempts)")
    return DeliveryResult(
        route=route.route,
        target=target,
        ok=last is not None and last.ok,
        status=None if last is None else last.status,
        error=error,
        attempts=tuple(attempts),
        started_at=started,
        finished_at=datetime.now(UTC),
        test=notice.test,
    )


def describe_target(route: AlertRoute) -> str:
    """Where a route sends, safe to store and show: a webhook URL is a secret, so it is masked."""
    if route.route == "webhook" and route.url:
        return describe_webhook(route.url)
    if route.route == "email":
        return ", ".join(route.to)
    return f"logger {logger.name}"


# -- retrying -----------------------------------------------------------------------------------
def _retrying(policy: RetryPolicy, attempt: Callable[[float], _Outcome]) -> list[Attempt]:
    """Call ``attempt(timeout)`` until it succeeds, fails for good, or the bounds are reached."""
    start = time.monotonic()
    attempts: list[Attempt] = []
    for number in range(1, policy.attempts + 1):
        remaining = policy.max_seconds - (time.monotonic() - start)
        if remaining <= 0:
            break
        at, began = datetime.now(UTC), time.monotonic()
        outcome = attempt(min(policy.timeout, remaining))
        attempts.append(_attempt(number, at, began, outcome))
        if outcome.ok or not outcome.retry or number == policy.attempts:
            break
        delay = policy.delay(number)
        if time.monotonic() - start + delay >= policy.max_seconds:
            break
        time.sleep(delay)
    return attempts


def _attempt(number: int, at: datetime, began: float, outcome: _Outcome) -> Attempt:
    seconds = time.monotonic() - began
    error = None if outcome.error is None else redact_text(outcome.error)
    return Attempt(number, at, seconds, outcome.ok, outcome.status, error, outcome.retry)


# -- webhook ------------------------------------------------------------------------------------
def _webhook(url: str, body: Mapping[str, Any], policy: RetryPolicy) -> list[Attempt]:
    headers = {"User-Agent": "charter-alerts"}
    with httpx.Client(headers=headers, follow_redirects=False, verify=_tls()) as client:
        return _retrying(policy, lambda timeout: _post(client, url, body, timeout))


@cache
def _tls() -> ssl.SSLContext:
    """The system's trust store (honours SSL_CERT_FILE), where company CAs live; built once."""
    return ssl.create_default_context()


def _post(client: httpx.Client, url: str, body: Mapping[str, Any], timeout: float) -> _Outcome:
    try:
        response = client.post(url, json=body, timeout=timeout)
    except httpx.TimeoutException:
        return _Outcome(False, None, f"timed out after {timeout:g}s", retry=True)
    except httpx.UnsupportedProtocol as exc:
        return _Outcome(False, None, f"not an http(s) URL: {exc}")
    except httpx.TransportError as exc:
        return _Outcome(False, None, f"connection failed: {exc or type(exc).__name__}", retry=True)
    except httpx.InvalidURL as exc:
        return _Outcome(False, None, f"invalid URL: {exc}")
    status = response.status_code
    if 200 <= status < 300:
        return _Outcome(True, str(status))
    reply = response.text.strip().replace("\n", " ")[:200]
    retry = status >= 500 or status in _RETRY_HTTP
    return _Outcome(False, str(status), f"HTTP {status}: {reply or response.reason_phrase}", retry)


def slack_payload(notice: Notice) -> dict[str, Any]:
    """A body Slack incoming webhooks accept: fallback ``text`` plus Block Kit ``blocks``."""
    facts = [
        ("Severity", notice.severity),
        ("Event", notice.event),
        ("Rule", notice.rule),
        ("Window", notice.window or "—"),
    ]
    if notice.alert_id is not None:
        facts.append(("Alert", f"#{notice.alert_id}"))
    if notice.owner:
        facts.append(("Owner", notice.owner))
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": _plain(_clip(notice.title, _HEADER_MAX))},
        {"type": "section", "text": _mrkdwn(_clip(_escape(notice.message), _SECTION_MAX))},
        {
            "type": "section",
            "fields": [_mrkdwn(_clip(f"*{k}*\n{_escape(v)}", _FIELD_MAX)) for k, v in facts],
        },
    ]
    if notice.details:
        text = json.dumps(dict(notice.details), indent=1, sort_keys=True, default=str)
        blocks.append(
            {"type": "section", "text": _mrkdwn(f"```{_clip(_escape(text), _SECTION_MAX - 6)}```")}
        )
    footer = f"charter · {notice.charter}" + (
        " · test alert, no action needed" if notice.test else ""
    )
    blocks.append({"type": "context", "elements": [_mrkdwn(_escape(footer))]})
    return {"text": _clip(f"{notice.title}: {notice.message}", _TEXT_MAX), "blocks": blocks}


def _plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text, "emoji": False}


def _mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text}


def _escape(text: str) -> str:
    """Slack's three control characters, escaped as Slack asks."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# -- email --------------------------------------------------------------------------------------
def email_message(notice: Notice, sender: str, to: list[str]) -> EmailMessage:
    """A plain-text email of the alert; headers let mail filters pick alerts and tests out."""
    message = EmailMessage()
    message["Subject"] = _clip(f"[charter] {notice.title}: {notice.message}", 200)
    message["From"] = sender
    message["To"] = ", ".join(to)
    message["Date"] = format_datetime(datetime.now(UTC))
    message["Message-ID"] = make_msgid(domain="charter.alerts")
    message["X-Charter-Charter"] = notice.charter
    if notice.alert_id is not None:
        message["X-Charter-Alert"] = str(notice.alert_id)
    if notice.test:
        message["X-Charter-Test"] = "yes"
    lines = [
        notice.message,
        "",
        f"charter:  {notice.charter}",
        f"severity: {notice.severity}",
        f"event:    {notice.event}",
        f"rule:     {notice.rule}",
        f"window:   {notice.window or '-'}",
    ]
    if notice.alert_id is not None:
        lines.append(f"alert:    #{notice.alert_id}  (charter alerts {notice.charter} list)")
    if notice.owner:
        lines.append(f"owner:    {notice.owner}")
    if notice.details:
        lines += ["", json.dumps(dict(notice.details), indent=2, sort_keys=True, default=str)]
    if notice.test:
        lines += ["", "This is a test alert sent by `charter alerts test`; no action is needed."]
    message.set_content("\n".join(lines) + "\n")
    return message


def _email(settings: SmtpSettings, message: EmailMessage, policy: RetryPolicy) -> list[Attempt]:
    if not settings.host:
        unset = _Outcome(False, None, "no SMTP server configured: set CHARTER_SMTP_HOST")
        return [_attempt(1, datetime.now(UTC), time.monotonic(), unset)]
    return _retrying(policy, lambda timeout: _send(settings, message, timeout))


def _send(settings: SmtpSettings, message: EmailMessage, timeout: float) -> _Outcome:
    assert settings.host is not None
    try:
        with smtplib.SMTP(settings.host, settings.port, timeout=timeout) as server:
            if settings.starttls:
                server.starttls(context=_tls())
            if settings.user:
                secret = settings.password.get_secret_value() if settings.password else ""
                server.login(settings.user, secret)
            refused = server.send_message(message)
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _ in exc.recipients.values()]
        return _Outcome(
            False, str(codes[0]), _refusal(exc.recipients), all(400 <= c < 500 for c in codes)
        )
    except smtplib.SMTPNotSupportedError as exc:
        hint = " (set CHARTER_SMTP_STARTTLS=false for a server without STARTTLS)"
        return _Outcome(False, None, f"SMTP: {exc}{hint if 'STARTTLS' in str(exc) else ''}")
    except smtplib.SMTPServerDisconnected as exc:
        return _Outcome(False, None, f"SMTP server disconnected: {exc}", retry=True)
    except smtplib.SMTPResponseException as exc:
        reply = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else ""
        code = exc.smtp_code
        return _Outcome(False, str(code), f"SMTP {code}: {reply}", retry=400 <= code < 500)
    except smtplib.SMTPException as exc:
        return _Outcome(False, None, f"SMTP: {exc}")
    except ssl.SSLError as exc:
        return _Outcome(False, None, f"TLS with the SMTP server failed: {exc}")
    except TimeoutError:
        return _Outcome(False, None, f"SMTP timed out after {timeout:g}s", retry=True)
    except OSError as exc:
        where = f"{settings.host}:{settings.port}"
        return _Outcome(False, None, f"cannot reach SMTP server {where}: {exc}", retry=True)
    if refused:
        return _Outcome(False, "partial", "some recipients refused: " + _refusal(refused))
    return _Outcome(True, "250")


def _refusal(recipients: Mapping[str, tuple[int, bytes]]) -> str:
    return "; ".join(
        f"{who}: {code} {reply.decode(errors='replace')}"
        for who, (code, reply) in recipients.items()
    )


# -- the log ------------------------------------------------------------------------------------
def _log(notice: Notice) -> Attempt:
    """Log at the alert's severity (tests at INFO), so log-based paging sees real alerts only."""
    at, began = datetime.now(UTC), time.monotonic()
    level = logging.INFO if notice.test else LOG_LEVELS.get(notice.severity, logging.WARNING)
    where = f"alert #{notice.alert_id}" if notice.alert_id is not None else "test alert"
    logger.log(
        level,
        "%s (%s): %s [rule=%s window=%s]",
        notice.title,
        where,
        notice.message,
        notice.rule,
        notice.window or "-",
        extra={"charter": notice.charter, "alert_id": notice.alert_id},
    )
    return _attempt(1, at, began, _Outcome(True, "logged"))
