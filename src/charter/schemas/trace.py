"""A prediction's trace: ``charter trace --json``, ``GET /v1/predictions/{id}`` and the
dashboard's trace page all show this."""

from __future__ import annotations

from charter.schemas.base import Facts, Result, Timestamp


class TraceScore(Result):
    """One version's score of the row: its status then, and whether that score was acted on."""

    version: str | None
    status: str | None
    score: float | None
    acted_on: bool | None


class TraceBatch(Result):
    """The batch the row arrived in, and the file(s) its predictions were logged to."""

    batch_id: str
    kind: str
    source: str
    ingested_at: Timestamp
    rows_in: int
    rows_scored: int
    rows_quarantined: int
    prediction_files: list[str]
    ledger_seq: int | None


class TraceWindow(Result):
    """The sufficiency window (of the charter's ``sufficiency.window``) the row's event time
    falls in, for the answering version, as last judged."""

    version: str
    start: Timestamp
    end: Timestamp
    verdict: str
    rules: list[Facts]


class TraceApproval(Result):
    """How the answering version came to be live at that moment: the status change that put it
    live, and the approval (decision) it rested on, with the risk accepted and the evidence
    digest when they were recorded."""

    version: int
    live_since: Timestamp | None
    put_live_by: str | None
    put_live_reason: str | None
    decision_id: int | None
    approved_by: str | None
    approved_at: Timestamp | None
    automatic: bool | None
    accepted_risk: str | None
    waiver: str | None
    evidence_sha256: str | None
    ledger_seq: int | None


class TraceTerms(Result):
    """The charter terms in force when the row was scored (from the audit ledger)."""

    sha256: str
    accepted_by: str | None
    accepted_at: Timestamp
    how: str | None
    change_id: int | None
    ledger_seq: int


class Trace(Result):
    """``charter trace PREDICTION_ID --json`` (or ``NAME --key KEY``): what one prediction
    rests on. The first keys are those ``GET /v1/predictions/{id}`` always had."""

    prediction_id: str
    charter: str
    batch_id: str
    source: Facts
    key: str | None
    event_time: str | None
    ingested_at: str | None
    late: bool | None
    inputs: Facts | None
    scores: list[TraceScore]
    summary: str
    answering_version: str | None
    acted_on: bool
    suspension_id: int | None
    batch: TraceBatch
    window: TraceWindow | None
    approval: TraceApproval | None
    terms: TraceTerms | None
    other_predictions: list[str]
