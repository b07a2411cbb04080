"""The performance metrics a sufficiency contract may name, and what each means.

A multiclass charter also names per-class metrics with the class in brackets,
``recall[fraud]``: the metric of that class taken one-vs-rest (see :func:`parse_metric`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

Task = Literal["binary_classification", "multiclass_classification", "regression"]
TASKS: tuple[Task, ...] = ("binary_classification", "multiclass_classification", "regression")

_BINARY: tuple[Task, ...] = ("binary_classification",)
_CLASSIFIERS: tuple[Task, ...] = ("binary_classification", "multiclass_classification")
_MULTICLASS: tuple[Task, ...] = ("multiclass_classification",)
_REGRESSION: tuple[Task, ...] = ("regression",)


@dataclass(frozen=True)
class MetricInfo:
    name: str
    tasks: tuple[Task, ...]
    higher_is_better: bool
    bounded: bool  # the value always lies in [0, 1]
    description: str
    per_class: bool = False  # multiclass: may be asked of one class, ``recall[fraud]``

    @property
    def task(self) -> Task:
        """The first task the metric applies to (for messages)."""
        return self.tasks[0]


_ALL = [
    MetricInfo("roc_auc", _CLASSIFIERS, True, True, "area under the ROC curve", per_class=True),
    MetricInfo("pr_auc", _BINARY, True, True, "average precision"),
    MetricInfo("accuracy", _CLASSIFIERS, True, True, "share of correct decisions"),
    MetricInfo("precision", _BINARY, True, True, "positives predicted that were", per_class=True),
    MetricInfo("recall", _BINARY, True, True, "positives found", per_class=True),
    MetricInfo("f1", _BINARY, True, True, "harmonic mean of precision, recall", per_class=True),
    MetricInfo("log_loss", _CLASSIFIERS, False, False, "cross-entropy of probabilities"),
    MetricInfo("brier", _BINARY, False, True, "mean squared probability error"),
    MetricInfo("calibration_error", _BINARY, False, True, "expected calibration error"),
    MetricInfo("precision_macro", _MULTICLASS, True, True, "mean of per-class precision"),
    MetricInfo("recall_macro", _MULTICLASS, True, True, "mean of per-class recall"),
    MetricInfo("f1_macro", _MULTICLASS, True, True, "mean of per-class f1"),
    MetricInfo("precision_weighted", _MULTICLASS, True, True, "per-class precision by support"),
    MetricInfo("recall_weighted", _MULTICLASS, True, True, "per-class recall by support"),
    MetricInfo("f1_weighted", _MULTICLASS, True, True, "per-class f1 weighted by support"),
    MetricInfo("mae", _REGRESSION, False, False, "mean absolute error"),
    MetricInfo("rmse", _REGRESSION, False, False, "root mean squared error"),
    MetricInfo("mape", _REGRESSION, False, False, "mean absolute percentage error"),
    MetricInfo("r2", _REGRESSION, True, False, "coefficient of determination"),
]

METRICS: dict[str, MetricInfo] = {m.name: m for m in _ALL}
_PER_CLASS = re.compile(r"^(?P<base>[a-z_0-9]+)\[(?P<cls>[^\[\]]+)\]$")


def parse_metric(name: str) -> tuple[str, str | None]:
    """``recall[fraud]`` → ``("recall", "fraud")``; ``f1_macro`` → ``("f1_macro", None)``.

    Raises :class:`ValueError` for an unknown metric or one that has no per-class form.
    """
    found = _PER_CLASS.match(name.strip())
    base, cls = (found["base"], found["cls"].strip()) if found else (name, None)
    if base not in METRICS:
        raise ValueError(f"unknown metric {base!r}; expected one of {', '.join(METRICS)}")
    if cls is not None and not METRICS[base].per_class:
        each = ", ".join(m.name for m in _ALL if m.per_class)
        raise ValueError(f"{base} has no per-class form; {each} do, e.g. {each.split(',')[0]}[A]")
    if cls == "":
        raise ValueError(f"{name!r}: name a class between the brackets")
    return base, cls


def metric_info(name: str) -> MetricInfo:
    """The metric of ``name``, per-class names (``recall[fraud]``) included."""
    return METRICS[parse_metric(name)[0]]


def applies(name: str, task: Task, classes: Sequence[str] = ()) -> str | None:
    """Why ``name`` cannot be computed for ``task`` (with its ``classes``), or None."""
    base, cls = parse_metric(name)
    info = METRICS[base]
    if cls is not None:
        if task != "multiclass_classification":
            return f"{name}: per-class metrics apply to multiclass_classification, not {task}"
        if cls.lower() not in classes:
            known = ", ".join(classes) or "none declared"
            return f"{name}: {cls!r} is not a class of labels.values ({known})"
        return None
    if task == "multiclass_classification" and base in ("precision", "recall", "f1"):
        return (
            f"{base} needs a class or an average under multiclass_classification: write "
            f"{base}[CLASS], {base}_macro or {base}_weighted"
        )
    if task not in info.tasks:
        return f"{base} is a {' or '.join(info.tasks)} metric but task is {task}"
    return None
