"""Realized performance: metrics from a window's labelled predictions.

These take raw (label, prediction) pairs, not summaries. Ranking metrics (roc_auc, pr_auc) depend
on the joint order of every score in the window and have no exact small mergeable summary, so a
window's metrics are computed from its labelled predictions as loaded from the store; that is one
row per prediction with a label, which the store keeps anyway for the audit trail. Keeping one
code path for every metric is simpler than merging the decomposable ones (accuracy, mae, ...).

Conventions, each chosen to match scikit-learn where it defines the metric:

- Binary labels are 0/1 (or booleans). Scores for classifiers are probabilities of class 1;
  label-based metrics predict 1 when ``score >= threshold`` (default 0.5).
- ``log_loss`` clips probabilities to ``[eps, 1 - eps]`` with ``eps`` the float64 machine
  epsilon, so a confident mistake costs about 36 nats instead of infinity.
- ``calibration_error`` is the expected calibration error over 10 equal-width bins of the
  predicted probability: ``sum(n_b / n * |mean label_b - mean probability_b|)``; bins are
  ``[0, .1], (.1, .2], ..., (.9, 1]`` as in ``sklearn.calibration.calibration_curve``.
- roc_auc is the Mann–Whitney statistic (ties count one half); pr_auc is average precision,
  ``sum((R_k - R_{k-1}) P_k)`` over distinct score thresholds, without interpolation.

Where scikit-learn would warn and return 0 or NaN, these return :class:`NotComputable` with the
reason: no pairs, a single class (roc_auc, pr_auc), no predicted positives (precision), no
positive labels (recall), probabilities outside [0, 1], a zero label (mape), constant labels (r2).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import stats

from charter.engines.summaries import FloatArray, NotComputable

Result = float | NotComputable
DEFAULT_THRESHOLD = 0.5
CALIBRATION_BINS = 10


@dataclass(frozen=True)
class LabelCoverage:
    """How many of a window's predictions have a label yet."""

    rows: int
    labelled: int

    @property
    def fraction(self) -> Result:
        if self.rows == 0:
            return NotComputable("the window has no predictions")
        return self.labelled / self.rows


def _floats(values: npt.ArrayLike) -> FloatArray:
    return np.asarray(values, dtype=np.float64).ravel()


def label_coverage(labels: npt.ArrayLike) -> LabelCoverage:
    """Coverage of a window's label column, where a missing label is null or NaN."""
    y = _floats(labels)
    return LabelCoverage(rows=y.size, labelled=int(np.count_nonzero(~np.isnan(y))))


def labelled_pairs(
    labels: npt.ArrayLike, predictions: npt.ArrayLike
) -> tuple[FloatArray, FloatArray, LabelCoverage]:
    """The pairs whose label has arrived, and the coverage that says how many those are."""
    y, p = _floats(labels), _floats(predictions)
    if y.shape != p.shape:
        raise ValueError(f"{y.size} labels against {p.size} predictions")
    known = ~np.isnan(y)
    return y[known], p[known], LabelCoverage(y.size, int(np.count_nonzero(known)))


Pairs = tuple[FloatArray, FloatArray] | NotComputable


def _pairs(y_true: npt.ArrayLike, y_pred: npt.ArrayLike) -> Pairs:
    y, p = _floats(y_true), _floats(y_pred)
    if y.shape != p.shape:
        raise ValueError(f"{y.size} labels against {p.size} predictions")
    if y.size == 0:
        return NotComputable("no labelled predictions")
    if missing := int(np.count_nonzero(~np.isfinite(y))):
        return NotComputable(f"{missing} labels are missing or not finite; pass labelled pairs")
    if missing := int(np.count_nonzero(~np.isfinite(p))):
        return NotComputable(f"{missing} predictions are missing or not finite")
    return y, p


def _binary(y_true: npt.ArrayLike, y_score: npt.ArrayLike) -> Pairs:
    pairs = _pairs(y_true, y_score)
    if isinstance(pairs, NotComputable):
        return pairs
    if bad := int(np.count_nonzero((pairs[0] != 0) & (pairs[0] != 1))):
        return NotComputable(f"{bad} labels are not 0 or 1")
    return pairs


def _probabilities(y_true: npt.ArrayLike, y_prob: npt.ArrayLike) -> Pairs:
    pairs = _binary(y_true, y_prob)
    if isinstance(pairs, NotComputable):
        return pairs
    if outside := int(np.count_nonzero((pairs[1] < 0) | (pairs[1] > 1))):
        return NotComputable(f"{outside} predictions are outside [0, 1]; probabilities needed")
    return pairs


def _single_class(y: FloatArray) -> NotComputable | None:
    positives = int(y.sum())
    if positives in (0, y.size):
        return NotComputable(f"labels hold a single class ({'1' if positives else '0'} only)")
    return None


# -- ranking metrics -------------------------------------------------------------------------
def roc_auc(y_true: npt.ArrayLike, y_score: npt.ArrayLike) -> Result:
    pairs = _binary(y_true, y_score)
    if isinstance(pairs, NotComputable):
        return pairs
    y, score = pairs
    if single := _single_class(y):
        return single
    ranks = stats.rankdata(score)  # ties get their average rank: the one-half of Mann–Whitney
    n_pos = y.sum()
    n_neg = y.size - n_pos
    return float((ranks[y == 1].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def pr_auc(y_true: npt.ArrayLike, y_score: npt.ArrayLike) -> Result:
    pairs = _binary(y_true, y_score)
    if isinstance(pairs, NotComputable):
        return pairs
    y, score = pairs
    if single := _single_class(y):
        return single
    order = np.argsort(-score, kind="stable")
    score, y = score[order], y[order]
    last_of_tie = np.r_[np.flatnonzero(np.diff(score)), y.size - 1]
    true_pos = np.cumsum(y)[last_of_tie]
    precision = true_pos / (last_of_tie + 1)
    recall = true_pos / true_pos[-1]
    return float(np.sum(np.diff(recall, prepend=0.0) * precision))


# -- label-based metrics -------------------------------------------------------------------------
def _confusion(
    y_true: npt.ArrayLike, y_score: npt.ArrayLike, threshold: float
) -> tuple[int, int, int, int] | NotComputable:
    pairs = _binary(y_true, y_score)
    if isinstance(pairs, NotComputable):
        return pairs
    y, score = pairs
    predicted = score >= threshold
    actual = y == 1
    tp = int(np.count_nonzero(predicted & actual))
    fp = int(np.count_nonzero(predicted & ~actual))
    fn = int(np.count_nonzero(~predicted & actual))
    return tp, fp, fn, y.size - tp - fp - fn


def accuracy(
    y_true: npt.ArrayLike, y_score: npt.ArrayLike, threshold: float = DEFAULT_THRESHOLD
) -> Result:
    cells = _confusion(y_true, y_score, threshold)
    if isinstance(cells, NotComputable):
        return cells
    tp, fp, fn, tn = cells
    return (tp + tn) / (tp + fp + fn + tn)


def precision(
    y_true: npt.ArrayLike, y_score: npt.ArrayLike, threshold: float = DEFAULT_THRESHOLD
) -> Result:
    cells = _confusion(y_true, y_score, threshold)
    if isinstance(cells, NotComputable):
        return cells
    tp, fp, _, _ = cells
    if tp + fp == 0:
        return NotComputable(f"no positive predictions at threshold {threshold}")
    return tp / (tp + fp)


def recall(
    y_true: npt.ArrayLike, y_score: npt.ArrayLike, threshold: float = DEFAULT_THRESHOLD
) -> Result:
    cells = _confusion(y_true, y_score, threshold)
    if isinstance(cells, NotComputable):
        return cells
    tp, _, fn, _ = cells
    if tp + fn == 0:
        return NotComputable("no positive labels")
    return tp / (tp + fn)


def f1(
    y_true: npt.ArrayLike, y_score: npt.ArrayLike, threshold: float = DEFAULT_THRESHOLD
) -> Result:
    cells = _confusion(y_true, y_score, threshold)
    if isinstance(cells, NotComputable):
        return cells
    tp, fp, fn, _ = cells
    if tp + fp + fn == 0:
        return NotComputable(f"no positive labels and no positive predictions at {threshold}")
    return 2 * tp / (2 * tp + fp + fn)


# -- probability metrics ---------------------------------------------------------------------
def log_loss(y_true: npt.ArrayLike, y_prob: npt.ArrayLike) -> Result:
    pairs = _probabilities(y_true, y_prob)
    if isinstance(pairs, NotComputable):
        return pairs
    y, p = pairs
    eps = np.finfo(np.float64).eps
    p = np.clip(p, eps, 1 - eps)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log1p(-p)))


def brier(y_true: npt.ArrayLike, y_prob: npt.ArrayLike) -> Result:
    pairs = _probabilities(y_true, y_prob)
    if isinstance(pairs, NotComputable):
        return pairs
    y, p = pairs
    return float(np.mean((p - y) ** 2))


def calibration_error(
    y_true: npt.ArrayLike, y_prob: npt.ArrayLike, bins: int = CALIBRATION_BINS
) -> Result:
    pairs = _probabilities(y_true, y_prob)
    if isinstance(pairs, NotComputable):
        return pairs
    y, p = pairs
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.searchsorted(edges[1:-1], p, side="left")
    n = np.bincount(which, minlength=bins)
    gap = np.abs(np.bincount(which, y, bins) - np.bincount(which, p, bins))
    return float(gap.sum() / n.sum())  # sum_b n_b/n * |sum_b(y)/n_b - sum_b(p)/n_b|


# -- regression ------------------------------------------------------------------------------
def mae(y_true: npt.ArrayLike, y_pred: npt.ArrayLike) -> Result:
    """Mean absolute error."""
    pairs = _pairs(y_true, y_pred)
    if isinstance(pairs, NotComputable):
        return pairs
    y, p = pairs
    return float(np.mean(np.abs(p - y)))


def rmse(y_true: npt.ArrayLike, y_pred: npt.ArrayLike) -> Result:
    """Root mean squared error."""
    pairs = _pairs(y_true, y_pred)
    if isinstance(pairs, NotComputable):
        return pairs
    y, p = pairs
    return float(np.sqrt(np.mean((p - y) ** 2)))


def mape(y_true: npt.ArrayLike, y_pred: npt.ArrayLike) -> Result:
    """Mean absolute percentage error, as a fraction (0.1 is 10%)."""
    pairs = _pairs(y_true, y_pred)
    if isinstance(pairs, NotComputable):
        return pairs
    y, p = pairs
    if zeros := int(np.count_nonzero(y == 0)):
        return NotComputable(f"mape is undefined: {zeros} labels are zero")
    return float(np.mean(np.abs((p - y) / y)))


def r2(y_true: npt.ArrayLike, y_pred: npt.ArrayLike) -> Result:
    """Coefficient of determination: 1 - residual / total sum of squares."""
    pairs = _pairs(y_true, y_pred)
    if isinstance(pairs, NotComputable):
        return pairs
    y, p = pairs
    total = float(np.sum((y - y.mean()) ** 2))
    if total == 0:
        return NotComputable("r2 is undefined: the labels are constant")
    return 1.0 - float(np.sum((y - p) ** 2)) / total


THRESHOLD_METRICS: Mapping[str, Callable[[npt.ArrayLike, npt.ArrayLike, float], Result]] = {
    "accuracy": accuracy,
    "precision": precision,
    "recall": recall,
    "f1": f1,
}
SCORE_METRICS: Mapping[str, Callable[[npt.ArrayLike, npt.ArrayLike], Result]] = {
    "roc_auc": roc_auc,
    "pr_auc": pr_auc,
    "log_loss": log_loss,
    "brier": brier,
    "calibration_error": calibration_error,
}
REGRESSION_METRICS: Mapping[str, Callable[[npt.ArrayLike, npt.ArrayLike], Result]] = {
    "mae": mae,
    "rmse": rmse,
    "mape": mape,
    "r2": r2,
}


def classification_metrics(
    y_true: npt.ArrayLike, y_score: npt.ArrayLike, threshold: float = DEFAULT_THRESHOLD
) -> dict[str, Result]:
    """Every binary-classification metric, by name (the names of ``charter.spec.metrics``)."""
    results = {name: fn(y_true, y_score, threshold) for name, fn in THRESHOLD_METRICS.items()}
    results.update({name: fn(y_true, y_score) for name, fn in SCORE_METRICS.items()})
    return results


def regression_metrics(y_true: npt.ArrayLike, y_pred: npt.ArrayLike) -> dict[str, Result]:
    """Every regression metric, by name."""
    return {name: fn(y_true, y_pred) for name, fn in REGRESSION_METRICS.items()}
