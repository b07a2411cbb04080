"""The performance metrics a sufficiency contract may name, and what each means."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Task = Literal["binary_classification", "regression"]


@dataclass(frozen=True)
class MetricInfo:
    name: str
    task: Task
    higher_is_better: bool
    bounded: bool  # the value always lies in [0, 1]
    description: str


_ALL = [
    MetricInfo("roc_auc", "binary_classification", True, True, "area under the ROC curve"),
    MetricInfo("pr_auc", "binary_classification", True, True, "average precision"),
    MetricInfo("accuracy", "binary_classification", True, True, "share of correct decisions"),
    MetricInfo("precision", "binary_classification", True, True, "positives predicted that were"),
    MetricInfo("recall", "binary_classification", True, True, "positives found"),
    MetricInfo("f1", "binary_classification", True, True, "harmonic mean of precision, recall"),
    MetricInfo("log_loss", "binary_classification", False, False, "cross-entropy of probabilities"),
    MetricInfo("brier", "binary_classification", False, True, "mean squared probability error"),
    MetricInfo(
        "calibration_error", "binary_classification", False, True, "expected calibration error"
    ),
    MetricInfo("mae", "regression", False, False, "mean absolute error"),
    MetricInfo("rmse", "regression", False, False, "root mean squared error"),
    MetricInfo("mape", "regression", False, False, "mean absolute percentage error"),
    MetricInfo("r2", "regression", True, False, "coefficient of determination"),
]

METRICS: dict[str, MetricInfo] = {m.name: m for m in _ALL}
