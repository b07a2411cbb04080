"""Alert results: ``charter alerts NAME list|ack|resolve`` and ``charter alerts test NAME``."""

from __future__ import annotations

from pydantic import Field

from charter.schemas.base import Facts, Number, Result, Timestamp


class DeliveryAttempt(Result):
    """One try at delivering an alert to a route."""

    number: int
    at: Timestamp
    seconds: Number = Field(description="How long the try took, rounded to milliseconds.")
    ok: bool
    status: str | None
    error: str | None


class Delivery(Result):
    """The outcome of delivering one alert (or test alert) to one route."""

    route: str
    target: str
    ok: bool
    status: str | None
    error: str | None
    attempts: int = Field(description="How many tries were made (attempt_log lists them).")
    attempt_log: list[DeliveryAttempt]
    started_at: Timestamp
    finished_at: Timestamp
    test: bool


class Alert(Result):
    """One alert as stored (``ack`` and ``resolve`` print the alert they changed)."""

    id: int
    charter: str
    event: str
    rule: str
    window: str | None
    severity: str
    status: str
    message: str
    details: Facts
    count: int
    first_seen: Timestamp
    last_seen: Timestamp
    acked_at: Timestamp | None
    acked_by: str | None
    ack_note: str | None
    resolved_at: Timestamp | None
    resolved_by: str | None
    resolve_note: str | None
    repeated: bool
    deliveries: list[Delivery]


class AlertList(Result):
    """``charter alerts NAME list --json``: most recently seen first."""

    charter: str
    status: str
    alerts: list[Alert]


class AlertTest(Result):
    """``charter alerts test NAME --json``: one delivery per route."""

    charter: str
    ok: bool
    routes: list[Delivery]
    last_successful_test: Timestamp | None
