"""What ``charter status NAME --as-of T --json`` adds: the state at ``T`` rebuilt from the ledger."""

from __future__ import annotations

from charter.schemas.base import Result, Timestamp


class LedgerRef(Result):
    """The ledger entry a reconstructed fact stands on."""

    seq: int
    action: str
    recorded_at: str
    actor: str


class JudgedWindow(Result):
    """A window's verdict as last recorded (``window.evaluated``) by the moment asked for."""

    version: str | None
    start: str | None
    end: str | None
    verdict: str | None
    previous: str | None
    ledger: LedgerRef


class OpenAlert(Result):
    """An alert raised and not resolved by the moment asked for (``alert.*`` entries)."""

    alert_id: int
    rule: str | None
    event: str | None
    severity: str | None
    window: str | None
    message: str | None
    raised_at: str | None
    acknowledged_at: str | None
    acknowledged_by: str | None


class PointInTime(Result):
    """The state at ``as_of``, rebuilt from the ledger up to the head signed last by then.

    ``head_seq`` and ``signed_at`` name that head; ``reconstructed_from`` names the entries each
    fact comes from; ``not_reconstructed`` says plainly what the ledger cannot give back."""

    as_of: Timestamp
    head_seq: int
    signed_at: str
    live_version: int | None
    owner: str | None
    terms_sha256: str | None
    terms_found: str
    suspended: bool
    suspended_by: str | None
    suspension_reason: str | None
    open_alerts: list[OpenAlert]
    windows_judged: list[JudgedWindow]
    pending_change_ids: list[int]
    reconstructed_from: dict[str, list[str]]
    not_reconstructed: list[str]
