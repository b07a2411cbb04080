"""The operating point: the score at which a classifier's output becomes the decision "positive".

Label-based metrics (accuracy, precision, recall, f1) and CBPE's estimates of them depend on it.
A charter states it one of two ways (``sufficiency``):

- ``threshold: 0.35``: predict positive when ``score >= 0.35`` (default ``0.5``);
- ``refer_top: 5%``: a capacity, e.g. fraud analysts who can review 5% of cases. In each window
  the ``k = ceil(share · n)`` highest of its ``n`` scores are positive: the threshold is the
  ``k``-th highest score (rows tied with it are positive too). A segment rule uses the window's
  threshold, because the decision is made over every row, not per segment.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from charter.monitoring.performance import DEFAULT_THRESHOLD
from charter.spec.model import Sufficiency


@dataclass(frozen=True)
class OperatingPoint:
    """The threshold used in one window, and how it was chosen."""

    threshold: float
    refer_top: float | None = None
    scored: int = 0

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"threshold": self.threshold}
        if self.refer_top is not None:
            body.update(refer_top=self.refer_top, scored=self.scored)
        return body


def operating_point(sufficiency: Sufficiency, scores: npt.ArrayLike) -> OperatingPoint:
    """The window's operating point for these scores (all of its scored rows)."""
    if sufficiency.refer_top is None:
        threshold = DEFAULT_THRESHOLD if sufficiency.threshold is None else sufficiency.threshold
        return OperatingPoint(threshold)
    s = np.asarray(scores, dtype=np.float64).ravel()
    s = s[np.isfinite(s)]
    share = sufficiency.refer_top
    if s.size == 0:  # nothing to refer: no row can be positive
        return OperatingPoint(math.inf, share, 0)
    k = max(1, math.ceil(share * s.size - 1e-9))
    threshold = float(np.partition(s, s.size - k)[s.size - k])
    return OperatingPoint(threshold, share, int(s.size))
