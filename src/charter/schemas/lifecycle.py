"""Lifecycle results: readiness, promotion decisions, rollback, pre-authorisation."""

from __future__ import annotations

from pydantic import Field

from charter.schemas.base import Facts, Result, Timestamp


class ApprovalMode(Result):
    """Who approves now: the owner each time, or the owner's recorded pre-authorisation
    (``charter authorize --json``)."""

    mode: str
    explanation: str
    authorization_id: int | None
    granted_by: str | None


class ReadinessItem(Result):
    """One item of the promotion gate's checklist, with its evidence and raw facts."""

    name: str
    ok: bool
    evidence: str
    facts: Facts


class RebuiltFrom(Result):
    """Where a ``--as-of`` checklist comes from: the ledger up to the head signed last by then."""

    head_seq: int
    signed_at: str
    terms_sha256: str | None
    not_reconstructed: list[str]


class Readiness(Result):
    """``charter readiness NAME VERSION --json``: the gate's checklist for a version."""

    charter: str
    version: int
    status: str
    ready: bool
    items: list[ReadinessItem]
    approval: ApprovalMode
    notes: list[str]
    as_of: Timestamp | None = Field(
        default=None,
        exclude_if=lambda v: v is None,
        description="`readiness --as-of` only: the moment the checklist was rebuilt for, from "
        "the ledger (the facts recorded by then; `notes` is then empty).",
    )
    rebuilt_from: RebuiltFrom | None = Field(
        default=None,
        exclude_if=lambda v: v is None,
        description="`readiness --as-of` only: the ledger head it was cut at, and what the "
        "ledger cannot give back.",
    )


class Decision(Result):
    """One promotion decision (``decisions``, ``approve``, ``reject``); ``readiness`` is the
    checklist it was opened (or decided) on."""

    id: int
    charter: str
    version: int
    status: str
    opened_at: Timestamp
    opened_by: str
    waiver: str | None
    decided_at: Timestamp | None
    decided_by: str | None
    accepted_risk: str | None
    reason: str | None
    automatic: bool
    stalled_at: Timestamp | None
    escalations: int
    readiness: Facts
    as_of: Timestamp | None = Field(
        default=None,
        exclude_if=lambda v: v is None,
        description="`decisions --as-of` only: the moment this decision was reconstructed for, "
        "from the ledger (its state then).",
    )


class Promotion(Result):
    """``charter promote NAME VERSION --json``: ``opened``, ``already_open`` or ``live``."""

    outcome: str
    approval: str
    decision: Decision
    readiness: Readiness


class Rollback(Result):
    """``charter rollback NAME --json``: what was restored, what was rolled back, and why."""

    charter: str
    rolled_back: int
    restored: int
    automatic: bool
    reason: str
    evidence: list[Facts]
    for_cause: bool
