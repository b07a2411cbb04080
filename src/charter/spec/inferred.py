"""What a sample of the data says about its contract (:mod:`charter.plumbing.inference` reads it;
:func:`charter.spec.scaffold.render_inferred` writes it into a charter file)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class InferredField:
    """One column's proposed contract, with where each value came from (``note``)."""

    name: str
    type: str
    nullable: bool
    note: str
    min: float | None = None
    max: float | None = None
    allowed: list[Any] | None = None
    unique: bool = False
    max_null_fraction: float | None = None

    def contract(self) -> dict[str, Any]:
        """The field's entry under ``data.fields``, in the charter file's key order."""
        body: dict[str, Any] = {"type": self.type, "nullable": self.nullable}
        for key in ("min", "max", "allowed"):
            value = getattr(self, key)
            if value is not None:
                body[key] = int(value) if self.type == "int" and key != "allowed" else value
        if self.unique:
            body["unique"] = True
        if self.max_null_fraction is not None:
            body["max_null_fraction"] = self.max_null_fraction
        return body


@dataclass(frozen=True)
class InferredContract:
    """What a sample of the data says: its fields, key, event time, target and task."""

    source: str
    rows: int
    fields: list[InferredField]
    key: str
    event_time: str
    target: str | None
    task: str
    source_kind: str
    classes: list[str] | None = None  # multiclass: the target's classes, as found
    model: InferredModel | None = None  # what --model read off the model and measured


@dataclass(frozen=True)
class MeasuredMetric:
    """A sufficiency rule proposed from the model's measured performance."""

    metric: str
    measured: float
    threshold: float  # at_least for a metric better when higher, else at_most
    warn_at: float
    higher_is_better: bool

    def rule(self) -> dict[str, Any]:
        """The rule's entry under ``sufficiency.metrics``."""
        side = "at_least" if self.higher_is_better else "at_most"
        return {"metric": self.metric, side: self.threshold, "warn_at": self.warn_at}


@dataclass(frozen=True)
class InferredModel:
    """What ``charter init --model`` read off a model: the inputs it names (``None`` when it
    names none) and its performance measured on the labelled rows of the sample."""

    source: str  # the model file, as given
    features: list[str] | None
    where: str  # where the names came from, e.g. "its feature_names_in_"
    rows: int  # labelled rows the metrics were measured on
    metrics: list[MeasuredMetric]
