"""Bounds learnt from the reference: ``{metric: roc_auc, at_least: reference}``.

Instead of a number agreed in advance, a rule may ask that a window do about as well as the
reference did. The reference's labelled rows are cut, in their order, into ``CHUNKS`` equal
chunks (``numpy.array_split``); the metric is computed on each chunk, at the charter's operating
point; the bound is the chunks' mean minus (``at_least``) or plus (``at_most``) ``SIGMAS`` sample
standard deviations (``ddof=1``). A realized value past the bound breaches; a CBPE estimate past
it is ``at_risk`` and raises ``estimated_drop`` before any label arrives.

The spread is that of a tenth of the reference: a window much smaller than that is noisier than
the bound assumes, one much larger quieter. Chunks where the metric cannot be computed (a single
class) are left out; fewer than two computable chunks leave the bound not computable.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from charter.engines.summaries import NotComputable
from charter.monitoring.operating_point import operating_point
from charter.monitoring.verdict import realized
from charter.spec.model import Charter

CHUNKS = 10
SIGMAS = 3.0


@dataclass(frozen=True)
class Bound:
    """A metric's spread over the reference's chunks."""

    mean: float
    std: float
    chunks: int

    @property
    def lower(self) -> float:
        return self.mean - SIGMAS * self.std

    @property
    def upper(self) -> float:
        return self.mean + SIGMAS * self.std

    def to_dict(self) -> dict[str, Any]:
        return {"mean": self.mean, "std": self.std, "chunks": self.chunks}

    def describe(self) -> dict[str, Any]:
        return {**self.to_dict(), "lower": self.lower, "upper": self.upper}


def bound_from_dict(data: Mapping[str, Any]) -> Bound | NotComputable:
    if "not_computable" in data:
        return NotComputable(str(data["not_computable"]))
    return Bound(float(data["mean"]), float(data["std"]), int(data["chunks"]))


def reference_metrics(charter: Charter) -> list[str]:
    """The metrics some rule bounds by the reference."""
    names = [
        r.metric for r in charter.sufficiency.metrics if "reference" in (r.at_least, r.at_most)
    ]
    return sorted(set(names))


def learn_bounds(
    charter: Charter, labels: npt.ArrayLike, scores: npt.ArrayLike
) -> dict[str, Bound | NotComputable]:
    """The bound of every metric that a rule of ``charter`` bounds by the reference, learnt on
    the reference's labelled (label, score) pairs in their order."""
    y = np.asarray(labels, dtype=np.float64).ravel()
    classes = charter.classes()
    s = np.asarray(scores, dtype=np.float64)
    s = s if classes else s.ravel()  # multiclass: a probability matrix, cut by rows
    out: dict[str, Bound | NotComputable] = {}
    for metric in reference_metrics(charter):
        values = []
        for y_part, s_part in zip(
            np.array_split(y, CHUNKS), np.array_split(s, CHUNKS), strict=True
        ):
            if y_part.size == 0:
                continue
            threshold = 0.5 if classes else operating_point(charter.sufficiency, s_part).threshold
            value = realized(metric, y_part, s_part, threshold, classes)
            if isinstance(value, float) and np.isfinite(value):
                values.append(value)
        if len(values) < 2:
            out[metric] = NotComputable(
                f"{metric} is computable on {len(values)} of the reference's {CHUNKS} chunks; "
                "at least 2 are needed for a bound"
            )
        else:
            out[metric] = Bound(float(np.mean(values)), float(np.std(values, ddof=1)), len(values))
    return out
