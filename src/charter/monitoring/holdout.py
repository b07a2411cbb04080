"""A model's performance measured on labelled sample rows, proposed as sufficiency rules.

``charter init NAME --from-data FILE --target y --model MODEL`` scores the rows of ``FILE`` with
the model and measures the metrics the scaffold proposes. Each becomes a rule a margin below
what was measured (a bound the owner reviews, not one the model barely meets): an absolute
:data:`MARGIN` for the metrics bounded by 0 and 1, a relative :data:`RELATIVE_MARGIN` for
errors. The numbers are honest only on rows the model did not train on (a hold-out); the
scaffold's comment says so.
"""

from __future__ import annotations

import math

import numpy as np
import polars as pl

from charter.engines.summaries import NotComputable
from charter.errors import CharterError
from charter.monitoring.performance import (
    classification_metrics,
    regression_metrics,
)
from charter.registry.flavors import Predictor
from charter.registry.inputs import NAMES_FROM
from charter.spec.inferred import InferredContract, InferredModel, MeasuredMetric
from charter.spec.metrics import metric_info

#: What the proposed floor of a 0..1 metric leaves below the measured value; warn_at is nearer.
MARGIN, WARN_MARGIN = 0.05, 0.02
#: Errors (mae, rmse): the proposed ceiling is this much above the measured error.
RELATIVE_MARGIN, RELATIVE_WARN = 0.25, 0.10
#: The metrics proposed per task (multiclass keeps the scaffold's placeholders).
PROPOSED = {"binary_classification": ("roc_auc", "recall"), "regression": ("mae", "rmse")}


def measure_holdout(
    predictor: Predictor, frame: pl.DataFrame, contract: InferredContract, *, model: str
) -> InferredModel:
    """Score the labelled rows of ``frame`` with ``predictor`` and propose the task's rules."""
    features = predictor.features
    if features is not None:
        missing = [name for name in features if name not in frame.columns]
        if missing or contract.target in features:
            wrong = missing or [str(contract.target)]
            raise CharterError(
                f"--model {model} reads {', '.join(wrong)} (from "
                f"{NAMES_FROM.get(predictor.flavor, 'its input names')}), which "
                + ("the data lacks" if missing else "is the target, not an input"),
                hint=f"The data's columns: {', '.join(frame.columns)}.",
            )
    proposed = PROPOSED.get(contract.task, ())
    target = contract.target
    if target is None or not proposed:
        return InferredModel(model, features, NAMES_FROM.get(predictor.flavor, ""), 0, [])
    labelled = frame.filter(pl.col(target).is_not_null())
    y_true = labelled[target].cast(pl.Float64).to_numpy()
    scores = np.asarray(predictor.predict(labelled.drop(target)), dtype=float)
    measured = (
        regression_metrics(y_true, scores)
        if contract.task == "regression"
        else classification_metrics(y_true, scores)
    )
    rules = []
    for name in proposed:
        value = measured[name]
        if isinstance(value, NotComputable) or not math.isfinite(value):
            continue
        rules.append(_rule(name, float(value)))
    return InferredModel(
        model, features, NAMES_FROM.get(predictor.flavor, ""), labelled.height, rules
    )


def _rule(name: str, value: float) -> MeasuredMetric:
    info = metric_info(name)
    if info.higher_is_better:
        floor = max(0.0, math.floor((value - MARGIN) * 100) / 100)
        warn = max(floor, math.floor((value - WARN_MARGIN) * 100) / 100)
        return MeasuredMetric(name, value, floor, warn, True)
    ceiling = _up(value * (1 + RELATIVE_MARGIN))
    warn = min(ceiling, _up(value * (1 + RELATIVE_WARN)))
    return MeasuredMetric(name, value, ceiling, warn, False)


def _up(value: float) -> float:
    """``value`` rounded up to 3 significant digits (a bound to read, never below the value)."""
    if value <= 0:
        return 0.0
    scale = 10 ** (2 - math.floor(math.log10(value)))
    return float(math.ceil(value * scale) / scale)
