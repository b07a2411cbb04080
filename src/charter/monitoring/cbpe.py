"""Estimated performance while labels are missing: confidence-based performance estimation.

Labels arrive days or weeks after predictions; the owner wants to know *now* whether the model
still performs. For a binary classifier whose scores can be mapped to true probabilities, each
prediction carries its own chance of being right: a row scored 1 with calibrated probability
``p`` is a true positive with probability ``p`` and a false positive with ``1 - p``. Summing over
a window gives the *expected* confusion matrix, hence expected accuracy, precision, recall and
f1; sweeping the threshold over the scores gives the expected ROC curve and its area. This is
the method NannyML calls CBPE; this module is written from its description, vectorised.

It holds while the relation between score and outcome, ``P(y = 1 | score)``, is the one seen on
the reference: covariate shift (inputs move, the model's calibration curve does not) is
exactly what it tracks. Concept drift (the same inputs now lead to different outcomes) is
invisible to it; realized performance catches that once labels arrive.

Fitting (:meth:`CBPE.fit`, on the labelled reference scored by the model version itself):

1. **Calibrator**: isotonic regression of labels on scores (monotone, so the model's ranking is
   kept), stored as the knots of its piecewise-linear map, clipped to the end values outside
   the reference's score range.
2. **Sampling error**: the reference is shuffled (fixed seed) and cut into ``chunks`` equal
   parts; the spread of each metric's realized value over the parts gives its standard
   deviation at the parts' *support*, the number of rows the metric really averages over:
   all rows for accuracy, predicted positives for precision, positives for recall, the rows in
   TP + FP + FN for f1, and ``positives * negatives / rows`` for roc_auc. A window's standard
   error is ``sd * sqrt(reference support / window support)``, the window's support taken from
   its expected confusion matrix; so a shift that halves the predicted positives widens the
   precision band by ``sqrt(2)``, as it should. The band is the estimate ± 3 standard errors
   (``BAND``), clipped to [0, 1]: where the realized value of the window would fall if the
   estimate is right.

Predicted labels are ``score >= threshold`` (default 0.5), as in :mod:`.performance`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from charter.engines.summaries import FloatArray, NotComputable
from charter.monitoring import performance as perf

ESTIMATED = ("roc_auc", "accuracy", "precision", "recall", "f1")
BAND = 3.0
DEFAULT_CHUNKS = 20
MIN_CHUNK_ROWS = 100


@dataclass(frozen=True)
class Estimate:
    """An estimated metric with its sampling standard error and ``BAND``-error band.

    ``standard_error`` (and the band) is ``None`` when the reference could not measure it, e.g.
    when too few reference chunks held both classes.
    """

    value: float
    standard_error: float | None
    lower: float | None
    upper: float | None

    def to_dict(self) -> dict[str, float | None]:
        return {
            "value": self.value,
            "standard_error": self.standard_error,
            "lower": self.lower,
            "upper": self.upper,
        }


@dataclass(frozen=True, eq=False)
class Calibrator:
    """Monotone map from a model score to the probability that the label is 1."""

    knots: FloatArray
    probabilities: FloatArray

    @classmethod
    def fit(cls, scores: FloatArray, labels: FloatArray) -> Calibrator:
        from sklearn.isotonic import IsotonicRegression  # seconds to import: only when fitting

        iso = IsotonicRegression(y_min=0.0, y_max=1.0, increasing=True, out_of_bounds="clip")
        iso.fit(scores, labels)
        return cls(np.asarray(iso.X_thresholds_), np.asarray(iso.y_thresholds_))

    def __call__(self, scores: FloatArray) -> FloatArray:
        # Linear between knots and constant beyond them: what IsotonicRegression.predict does.
        return np.interp(scores, self.knots, self.probabilities)


@dataclass(frozen=True, eq=False)
class CBPE:
    """A fitted estimator: calibrator, decision threshold and per-metric sampling spread.

    ``unit_sd[metric]`` is the metric's standard deviation on reference chunks times the square
    root of their mean support, so a window of support ``m`` has standard error
    ``unit_sd / sqrt(m)``.
    """

    calibrator: Calibrator
    threshold: float
    unit_sd: Mapping[str, float | None]

    @classmethod
    def fit(
        cls,
        scores: npt.ArrayLike,
        labels: npt.ArrayLike,
        *,
        threshold: float = perf.DEFAULT_THRESHOLD,
        chunks: int = DEFAULT_CHUNKS,
        seed: int = 0,
    ) -> CBPE | NotComputable:
        """Fit on a labelled reference; not computable if it cannot support an estimate."""
        s = np.asarray(scores, dtype=np.float64).ravel()
        y = np.asarray(labels, dtype=np.float64).ravel()
        if s.shape != y.shape:
            raise ValueError(f"{s.size} scores against {y.size} labels")
        checked = perf.roc_auc(y, s)  # the same input checks: finite, 0/1, both classes
        if isinstance(checked, NotComputable):
            return NotComputable(f"cannot fit CBPE on this reference: {checked.reason}")
        if invalid := _scores_problem(s):
            return NotComputable(f"cannot fit CBPE on this reference: {invalid.reason}")
        parts = min(chunks, s.size // MIN_CHUNK_ROWS)
        if parts < 2:
            return NotComputable(
                f"cannot fit CBPE: the reference has {s.size} labelled rows, "
                f"at least {2 * MIN_CHUNK_ROWS} are needed to measure sampling error"
            )
        unit_sd = _unit_sd(s, y, threshold, parts, seed)
        return cls(Calibrator.fit(s, y), threshold, unit_sd)

    def estimate(
        self, scores: npt.ArrayLike, threshold: float | None = None
    ) -> dict[str, Estimate | NotComputable]:
        """Estimated roc_auc, accuracy, precision, recall and f1 of an unlabelled window, at the
        operating point ``threshold`` (default: the one fitted with)."""
        threshold = self.threshold if threshold is None else threshold
        s = np.asarray(scores, dtype=np.float64).ravel()
        problem = (
            NotComputable("the window has no scored rows") if s.size == 0 else _scores_problem(s)
        )
        if problem is not None:
            return dict.fromkeys(ESTIMATED, problem)
        p = self.calibrator(s)
        values = expected_metrics(s, p, threshold)
        predicted = s >= threshold
        tp, positives = float(p[predicted].sum()), float(p.sum())
        support = _support(s.size, float(np.count_nonzero(predicted)), positives, tp)
        return {name: self._with_band(name, value, support[name]) for name, value in values.items()}

    def _with_band(
        self, name: str, value: float | NotComputable, support: float
    ) -> Estimate | NotComputable:
        if isinstance(value, NotComputable):
            return value
        sd = self.unit_sd.get(name)
        if sd is None or support <= 0:
            return Estimate(value, None, None, None)
        error = sd / np.sqrt(support)
        lower = float(max(0.0, value - BAND * error))
        upper = float(min(1.0, value + BAND * error))
        return Estimate(value, float(error), lower, upper)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict, so the fitted estimator is stored with the reference summaries."""
        return {
            "knots": self.calibrator.knots.tolist(),
            "probabilities": self.calibrator.probabilities.tolist(),
            "threshold": self.threshold,
            "unit_sd": dict(self.unit_sd),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CBPE:
        calibrator = Calibrator(
            np.asarray(data["knots"], dtype=np.float64),
            np.asarray(data["probabilities"], dtype=np.float64),
        )
        return cls(calibrator, float(data["threshold"]), dict(data["unit_sd"]))


def _scores_problem(scores: FloatArray) -> NotComputable | None:
    if missing := int(np.count_nonzero(~np.isfinite(scores))):
        return NotComputable(f"{missing} scores are missing or not finite")
    if outside := int(np.count_nonzero((scores < 0) | (scores > 1))):
        return NotComputable(f"{outside} scores are outside [0, 1]; CBPE needs probabilities")
    return None


def expected_metrics(
    scores: FloatArray, probabilities: FloatArray, threshold: float
) -> dict[str, float | NotComputable]:
    """The metrics of the expected confusion matrix, and the expected ROC area.

    ``scores`` decide (predicted 1 when ``score >= threshold``, and the ROC curve's order);
    ``probabilities`` are the calibrated chances that each label is 1.
    """
    predicted = scores >= threshold
    tp = float(probabilities[predicted].sum())
    fp = float(np.count_nonzero(predicted)) - tp
    fn = float(probabilities[~predicted].sum())
    tn = float(np.count_nonzero(~predicted)) - fn
    out: dict[str, float | NotComputable] = {"roc_auc": expected_roc_auc(scores, probabilities)}
    out["accuracy"] = (tp + tn) / scores.size
    out["precision"] = (
        tp / (tp + fp) if tp + fp > 0 else NotComputable("no positive predictions in the window")
    )
    out["recall"] = (
        tp / (tp + fn) if tp + fn > 0 else NotComputable("no expected positives in the window")
    )
    out["f1"] = (
        2 * tp / (2 * tp + fp + fn)
        if 2 * tp + fp + fn > 0
        else NotComputable("no expected positives and no positive predictions in the window")
    )
    return out


def expected_roc_auc(scores: FloatArray, probabilities: FloatArray) -> float | NotComputable:
    """Area under the ROC curve whose true/false positive counts at each score threshold are
    the sums of ``p`` and ``1 - p`` above it; tied scores move the curve together, as they do
    for the realized curve."""
    order = np.argsort(-scores, kind="stable")
    s, p = scores[order], probabilities[order]
    ends = np.r_[np.flatnonzero(np.diff(s)), s.size - 1]  # last row of each tied score
    tps = np.r_[0.0, np.cumsum(p)[ends]]
    fps = np.r_[0.0, ends + 1.0] - tps
    if tps[-1] <= 0 or fps[-1] <= 0:
        return NotComputable("the calibrated probabilities expect a single class in the window")
    tpr, fpr = tps / tps[-1], fps / fps[-1]
    return float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2))


def _support(rows: float, predicted: float, positives: float, tp: float) -> dict[str, float]:
    """How many rows each metric averages over (see the module docstring)."""
    return {
        "roc_auc": positives * (rows - positives) / rows,
        "accuracy": rows,
        "precision": predicted,
        "recall": positives,
        "f1": predicted + positives - tp,
    }


def _unit_sd(
    scores: FloatArray, labels: FloatArray, threshold: float, parts: int, seed: int
) -> dict[str, float | None]:
    """Per metric: std of its realized value over shuffled reference chunks, times the square
    root of its mean support there."""
    rows = scores.size // parts
    shuffled = np.random.default_rng(seed).permutation(scores.size)[: rows * parts]
    s_chunks = scores[shuffled].reshape(parts, rows)
    y_chunks = labels[shuffled].reshape(parts, rows)
    predicted = s_chunks >= threshold
    support = _support(
        float(rows),
        float(np.count_nonzero(predicted)) / parts,
        float(y_chunks.sum()) / parts,
        float(y_chunks[predicted].sum()) / parts,
    )
    out: dict[str, float | None] = {}
    for name in ESTIMATED:
        values = [
            v
            for s, y in zip(s_chunks, y_chunks, strict=True)
            if isinstance(v := _realized(name, y, s, threshold), float)
        ]
        enough = len(values) >= 2 and support[name] > 0
        out[name] = float(np.std(values, ddof=1) * np.sqrt(support[name])) if enough else None
    return out


def _realized(name: str, y: FloatArray, s: FloatArray, threshold: float) -> float | NotComputable:
    if name == "roc_auc":
        return perf.roc_auc(y, s)
    return perf.THRESHOLD_METRICS[name](y, s, threshold)
