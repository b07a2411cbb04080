"""Realized performance of a multiclass classifier: labels are class indices, scores a matrix.

A multiclass charter lists its classes in ``labels.values``; a label is recorded as the index of
its class in that list, and a prediction as one probability per class, in the same order (the
prediction log's ``class_scores``). The predicted class is the most probable one (the first on a
tie, as ``numpy.argmax`` and scikit-learn's ``predict`` choose).

Conventions, each chosen to match scikit-learn:

- ``accuracy``: share of rows whose predicted class is the label.
- ``precision[c]``, ``recall[c]``, ``f1[c]``: class ``c`` one-vs-rest; not computable when ``c``
  was never predicted (precision), never the label (recall), or neither (f1).
- ``*_macro``: the unweighted mean over the classes that occur among the labels or the
  predictions (scikit-learn's ``labels=None``), an undefined per-class value counting 0 (its
  ``zero_division`` default); ``*_weighted``: the mean weighted by each class's label count.
- ``roc_auc``: one-vs-rest areas averaged over the classes, ``roc_auc_score(multi_class="ovr",
  average="macro")``; not computable unless every class occurs among the labels, as there.
  ``roc_auc[c]`` is class ``c``'s one-vs-rest area alone.
- ``log_loss``: probabilities clipped to ``[eps, 1 - eps]``, mean of ``-log p(label)``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import polars as pl

from charter.engines.summaries import FloatArray, NotComputable
from charter.monitoring import performance as perf
from charter.spec.metrics import METRICS, parse_metric

Result = float | NotComputable
AVERAGED = ("precision", "recall", "f1")
MATRIX_METRICS = (
    "accuracy",
    "roc_auc",
    "log_loss",
    *(f"{m}_{avg}" for avg in ("macro", "weighted") for m in AVERAGED),
)


def probability_matrix(values: npt.ArrayLike, classes: int) -> FloatArray:
    """``values`` as a float64 matrix of ``classes`` columns (one row per prediction)."""
    matrix = np.asarray(values, dtype=np.float64)
    if matrix.ndim == 1 and matrix.size == 0:
        return matrix.reshape(0, classes)
    if matrix.ndim != 2 or matrix.shape[1] != classes:
        raise ValueError(f"expected {classes} probabilities per row, got shape {matrix.shape}")
    return matrix


def _checked(
    y_true: npt.ArrayLike, proba: npt.ArrayLike
) -> tuple[npt.NDArray[np.int64], FloatArray] | NotComputable:
    p = np.asarray(proba, dtype=np.float64)
    y = np.asarray(y_true, dtype=np.float64).ravel()
    if p.ndim != 2 or p.shape[0] != y.size:
        raise ValueError(f"{y.size} labels against probabilities of shape {p.shape}")
    if y.size == 0:
        return NotComputable("no labelled predictions")
    if missing := int(np.count_nonzero(~np.isfinite(y))):
        return NotComputable(f"{missing} labels are missing or not finite; pass labelled pairs")
    if missing := int(np.count_nonzero(~np.isfinite(p).all(axis=1))):
        return NotComputable(f"{missing} predictions are missing or not finite")
    if bad := int(np.count_nonzero((y < 0) | (y >= p.shape[1]) | (y != np.floor(y)))):
        return NotComputable(f"{bad} labels are not class indices 0..{p.shape[1] - 1}")
    return y.astype(np.int64), p


def labels_problem(y_true: npt.ArrayLike, proba: npt.ArrayLike) -> NotComputable | None:
    """Why :func:`metric` would refuse ``roc_auc`` on these pairs, without computing an area:
    not pairs of class indices and finite probabilities, or a class absent from the labels (or
    the only one in them)."""
    checked = _checked(y_true, proba)
    if isinstance(checked, NotComputable):
        return checked
    y, p = checked
    for k, count in enumerate(np.bincount(y, minlength=p.shape[1]).tolist()):
        if count in (0, y.size):
            return NotComputable(
                f"class {k}: labels hold a single class ({'1' if count else '0'} only)"
            )
    return None


def confusion(y: npt.NDArray[np.int64], predicted: npt.NDArray[np.int64], k: int) -> FloatArray:
    """``m[true, predicted]`` counts."""
    return np.bincount(y * k + predicted, minlength=k * k).reshape(k, k).astype(np.float64)


def class_rates(matrix: FloatArray) -> dict[str, FloatArray]:
    """Per-class precision, recall, f1 (NaN where undefined) and label support of a confusion
    matrix ``m[true, predicted]`` (expected or counted)."""
    tp = np.diag(matrix)
    predicted, support = matrix.sum(axis=0), matrix.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(predicted > 0, tp / predicted, np.nan)
        recall = np.where(support > 0, tp / support, np.nan)
        denominator = predicted + support
        f1 = np.where(denominator > 0, 2 * tp / denominator, np.nan)
    return {"precision": precision, "recall": recall, "f1": f1, "support": support}


def averaged(rates: dict[str, FloatArray], name: str, average: str) -> Result:
    """The macro or weighted mean of one per-class rate (see the module docstring)."""
    values, support = rates[name], rates["support"]
    present = (support > 0) | ~np.isnan(rates["precision"])  # a label or a prediction
    if not present.any():
        return NotComputable("no class occurs in the window")
    filled = np.nan_to_num(values[present], nan=0.0)
    if average == "macro":
        return float(filled.mean())
    weights = support[present]
    if weights.sum() <= 0:
        return NotComputable("no labels to weight by")
    return float(np.sum(filled * weights) / weights.sum())


def _rate(rates: dict[str, FloatArray], name: str, index: int, cls: str) -> Result:
    value = rates[name][index]
    if np.isnan(value):
        why = {
            "precision": f"class {cls!r} was never predicted",
            "recall": f"class {cls!r} is never the label",
            "f1": f"class {cls!r} is neither predicted nor the label",
        }
        return NotComputable(why[name])
    return float(value)


def roc_auc_ovr(y: npt.NDArray[np.int64], p: FloatArray, index: int | None = None) -> Result:
    """One class's one-vs-rest area (``index``), or the macro mean over every class."""
    which = range(p.shape[1]) if index is None else [index]
    areas = []
    for k in which:
        area = perf.roc_auc((y == k).astype(np.float64), p[:, k])
        if isinstance(area, NotComputable):
            return NotComputable(f"class {k}: {area.reason}")
        areas.append(area)
    return float(np.mean(areas))


def log_loss(y: npt.NDArray[np.int64], p: FloatArray) -> Result:
    if bad := int(np.count_nonzero((p < 0) | (p > 1))):
        return NotComputable(f"{bad} probabilities are outside [0, 1]")
    eps = np.finfo(np.float64).eps
    chosen = np.clip(p[np.arange(y.size), y], eps, 1 - eps)
    return float(-np.mean(np.log(chosen)))


def metric(
    name: str, y_true: npt.ArrayLike, proba: npt.ArrayLike, classes: Sequence[str]
) -> Result:
    """One metric by its charter name (``f1_macro``, ``recall[fraud]``)."""
    checked = _checked(y_true, proba)
    if isinstance(checked, NotComputable):
        return checked
    y, p = checked
    return _metric(name, y, p, list(classes))


def _metric(name: str, y: npt.NDArray[np.int64], p: FloatArray, classes: list[str]) -> Result:
    base, cls = parse_metric(name)
    index = None
    if cls is not None:
        if cls.lower() not in classes:
            return NotComputable(f"{cls!r} is not one of the classes {', '.join(classes)}")
        index = classes.index(cls.lower())
    if base == "roc_auc":
        return roc_auc_ovr(y, p, index)
    if base == "log_loss":
        return log_loss(y, p)
    predicted = np.argmax(p, axis=1)
    if base == "accuracy":
        return float(np.mean(predicted == y))
    rates = class_rates(confusion(y, predicted, p.shape[1]))
    if index is not None:
        return _rate(rates, base, index, classes[index])
    rate, _, average = base.rpartition("_")
    if rate not in AVERAGED or average not in ("macro", "weighted"):
        return NotComputable(f"{name} is not a multiclass metric")
    return averaged(rates, rate, average)


def metric_names(classes: Sequence[str]) -> list[str]:
    """Every metric a window reports: the averages, then per class."""
    per_class = [m for m in METRICS.values() if m.per_class]
    return [*MATRIX_METRICS, *(f"{m.name}[{c}]" for c in classes for m in per_class)]


def multiclass_metrics(
    y_true: npt.ArrayLike, proba: npt.ArrayLike, classes: Sequence[str]
) -> dict[str, Result]:
    """Every multiclass metric, by name."""
    names = metric_names(classes)
    checked = _checked(y_true, proba)
    if isinstance(checked, NotComputable):
        return dict.fromkeys(names, checked)
    y, p = checked
    shared = _all_metrics(y, p, list(classes))
    return {
        name: shared[name] if name in shared else _metric(name, y, p, list(classes))
        for name in names
    }


def all_metrics(
    y_true: npt.ArrayLike, proba: npt.ArrayLike, classes: Sequence[str]
) -> dict[str, Result] | NotComputable:
    """The averaged metrics and each class's precision, recall, f1 and roc_auc, by name, each
    equal to :func:`metric`'s, computed sharing the predicted classes, the confusion matrix and
    the classes' ROC areas (what CBPE's sampling error needs of every reference chunk)."""
    checked = _checked(y_true, proba)
    if isinstance(checked, NotComputable):
        return checked
    return _all_metrics(*checked, list(classes))


def _all_metrics(y: npt.NDArray[np.int64], p: FloatArray, classes: list[str]) -> dict[str, Result]:
    predicted = np.argmax(p, axis=1)
    rates = class_rates(confusion(y, predicted, p.shape[1]))
    areas: list[Result] = []
    for k in range(p.shape[1]):
        area = perf.roc_auc((y == k).astype(np.float64), p[:, k])
        areas.append(
            NotComputable(f"class {k}: {area.reason}") if isinstance(area, NotComputable) else area
        )
    failed = next((a for a in areas if isinstance(a, NotComputable)), None)
    computed = [a for a in areas if isinstance(a, float)]
    out: dict[str, Result] = {
        "accuracy": float(np.mean(predicted == y)),
        "roc_auc": failed if failed is not None else float(np.mean(computed)),
        "log_loss": log_loss(y, p),
    }
    for average in ("macro", "weighted"):
        for name in AVERAGED:
            out[f"{name}_{average}"] = averaged(rates, name, average)
    for index, cls in enumerate(classes):
        for name in AVERAGED:
            out[f"{name}[{cls}]"] = _rate(rates, name, index, cls)
        out[f"roc_auc[{cls}]"] = areas[index]
    return out


def class_matrix(values: pl.Series, classes: int) -> FloatArray:
    """The log's ``class_scores`` (a list per row, null when unscored) as a matrix; an unscored
    or malformed row is a row of NaN."""
    out = np.full((values.len(), classes), np.nan)
    if values.len() == 0 or values.dtype == pl.Null:
        return out
    lengths = values.list.len().fill_null(0).to_numpy()
    good = lengths == classes
    if good.any():
        flat = values.filter(pl.Series(good)).explode().cast(pl.Float64).fill_null(np.nan)
        out[good] = flat.to_numpy().reshape(-1, classes)
    return out


def predicted_classes(matrix: FloatArray, classes: Sequence[str]) -> pl.Series:
    """Each scored row's predicted class name (null for an unscored row)."""
    scored = pl.Series(np.isfinite(matrix).all(axis=1))
    if matrix.shape[0] == 0:
        return pl.Series("predicted_class", [], dtype=pl.String)
    index = np.argmax(np.where(np.isfinite(matrix), matrix, -np.inf), axis=1)
    names = pl.Series("predicted_class", [classes[i] for i in index.tolist()], dtype=pl.String)
    return pl.select(pl.when(scored).then(names)).to_series().alias("predicted_class")
