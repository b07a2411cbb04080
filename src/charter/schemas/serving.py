"""What ``POST /v1/charters/{name}/predict`` answers (documented in the OpenAPI; checked by the
schemathesis test). The body is built by :mod:`charter.server.answers`; these models describe it."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from charter.schemas.base import Facts, Result


class Prediction(Result):
    """One record's answer: logged before it was sent, under ``prediction_id``."""

    index: int | None = Field(
        default=None, description="The record's place in the request (only when a list was sent)."
    )
    prediction_id: str = Field(description="Traces back with GET /v1/predictions/{id}.")
    key: str | None = Field(description="The record's data.key.")
    version: int = Field(description="The version that answered.")
    status: str = Field(description="That version's status: live, or shadow during the pilot.")
    score: float = Field(description="The model's score (a multiclass model: its top probability).")
    acted_on: bool = Field(
        description="Whether the caller should act on it: false during the pilot or a suspension."
    )
    decision: bool | None = Field(
        default=None, description="score >= the charter's sufficiency.threshold, when it sets one."
    )
    class_scores: dict[str, float] | None = Field(
        default=None, description="A multiclass model's probability per class."
    )
    predicted_class: Any = Field(default=None, description="A multiclass model's top class.")
    suspended: bool | None = Field(
        default=None, description="True while the charter is suspended (`charter suspend`)."
    )
    fallback: Facts | None = Field(
        default=None, description="While suspended: the charter's operations.fallback, if any."
    )


class Predictions(Result):
    """The answers to a list of records, in the order sent."""

    predictions: list[Prediction]
