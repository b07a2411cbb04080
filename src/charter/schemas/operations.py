"""Operations results: the scheduler's pass (``charter run``), retraining (``charter retrain``),
the lifecycle's review pass (``charter review``) and alert delivery (``charter alerts deliver``)."""

from __future__ import annotations

from pydantic import Field

from charter.schemas.base import Facts, Number, Result, Timestamp
from charter.schemas.data import Attention
from charter.schemas.lifecycle import Rollback


class TrainingWindowKey(Result):
    """The labelled window a retraining trained on."""

    start: str
    end: str


class RetrainResult(Result):
    """``charter retrain NAME --json``: what one retraining attempt did.

    ``status``: ``retrained`` (a new version in shadow), ``failed`` (recorded and alerted, nothing
    else changed), ``skipped`` (a trigger fired but there is nothing to do) or ``not_triggered``.
    """

    charter: str
    status: str
    message: str
    triggers: list[str]
    window: TrainingWindowKey | None
    window_version: str | None
    parent_version: int | None
    version: int | None
    rows: int
    training_data: str | None
    error: Facts | None
    alert_id: int | None
    notes: list[str]


class ReviewResult(Result):
    """``charter review NAME --json``: the lifecycle's pass over one charter."""

    charter: str
    rolled_back: Rollback | None
    promoted: int | None = Field(description="The pre-authorised version promoted, if any.")
    withdrawn: list[int] = Field(description="Decisions withdrawn because they became moot.")
    alerts: list[int] = Field(description="Stalled-decision alerts raised or escalated.")
    summary: str


class OutboxDelivery(Result):
    """One delivery of one alert to one route, as the outbox holds it after a pass."""

    id: int
    alert_id: int
    charter: str
    route: str
    target: str
    state: str
    attempts: int
    next_attempt_at: Timestamp | None
    error: str | None


class DeliveryPass(Result):
    """``charter alerts deliver --json``: what one delivery pass sent, gave up on, put back."""

    charter: str | None
    sent: int
    failed: int
    retrying: int = Field(description="Deliveries that failed this time and are due again later.")
    pending: int = Field(
        description="Deliveries waiting after the pass (not yet due or not tried)."
    )
    deliveries: list[OutboxDelivery]


class Step(Result):
    """One step (ingest, labels, monitor, retrain, review, deliver) of one charter in a pass."""

    charter: str
    step: str
    status: str = Field(description="ok, failed or skipped.")
    summary: str
    seconds: Number
    error: Facts | None
    details: Facts | None = Field(
        description="The step's own result (the retrain outcome, the review report, the "
        "delivery pass) and, under attention, its attention facts."
    )


class PassResult(Result):
    """``charter run --once --json`` (and each line of ``charter run --json``): one pass."""

    ok: bool
    started_at: Timestamp
    finished_at: Timestamp | None
    interrupted: bool
    charters: list[str]
    failed: int
    steps: list[Step]
    attention: list[Attention]
