"""What every flavor shares: the :class:`Predictor` contract and turning model output into scores.

Scoring code (ingestion, shadow runs, the HTTP API) only ever sees a :class:`Predictor`, so it
never needs to know whether a version is a pickled pipeline, an ONNX graph, an MLflow model or a
Python function. The contract is deliberately narrow: a Polars frame in, one number per row out
(the positive-class probability of a binary classifier, the prediction of a regressor).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar, runtime_checkable

import numpy as np
import polars as pl

from charter.errors import DataError, UserCodeError

T = TypeVar("T")


@runtime_checkable
class Predictor(Protocol):
    """A loaded model version, ready to score Polars frames."""

    @property
    def flavor(self) -> str:
        """sklearn, onnx, mlflow or entrypoint."""
        ...

    @property
    def features(self) -> list[str] | None:
        """The columns the model reads, in order; None when it reads every column it is given."""
        ...

    def predict(self, frame: pl.DataFrame) -> np.ndarray[Any, Any]:
        """One score per row of ``frame``: P(positive class) for a binary classifier."""
        ...


@dataclass(frozen=True)
class LoadedModel:
    """A model a flavor has loaded, with what registration records about it as lineage."""

    predictor: Predictor
    format: str
    model_class: str | None = None
    parameters: Mapping[str, Any] = field(default_factory=dict)
    details: Mapping[str, Any] = field(default_factory=dict)


def qualified_name(obj: object) -> str:
    kind = type(obj)
    return f"{kind.__module__}.{kind.__qualname__}"


def select_features(frame: pl.DataFrame, features: Sequence[str] | None) -> pl.DataFrame:
    """The model's columns of ``frame`` in the model's order; a clear error naming any missing."""
    if features is None:
        return frame
    missing = [name for name in features if name not in frame.columns]
    if missing:
        raise DataError(
            f"the model reads columns {', '.join(missing)} that the data lacks",
            hint=f"Columns present: {', '.join(frame.columns) or 'none'}.",
        )
    return frame.select(features)


def to_scores(raw: Any, rows: int, source: str) -> np.ndarray[Any, Any]:
    """Model output as a 1-D array of ``rows`` numbers.

    A two-column output is read as class probabilities and gives the second column (the
    positive class); a one-column output is flattened; three or more columns are a multiclass
    model's probabilities, returned as they are (the scorer orders them by the charter's classes). Anything else with the wrong length is
    the model's fault, reported as such.
    """
    if hasattr(raw, "to_numpy"):  # pandas/Polars Series or DataFrame
        raw = raw.to_numpy()
    values = np.asarray(raw)
    if values.ndim == 2 and values.shape[1] > 2 and values.shape[0] == rows:
        return values  # a multiclass model's probabilities, one column per class
    if values.ndim == 2 and values.shape[1] == 2:
        values = values[:, 1]
    elif values.ndim == 2 and values.shape[1] == 1:
        values = values[:, 0]
    if values.ndim != 1 or values.shape[0] != rows:
        raise UserCodeError(
            f"{source} returned output of shape {values.shape} for {rows} rows; "
            "expected one value per row"
        )
    return values


def class_probabilities(
    raw: Any, rows: int, model_classes: Sequence[str] | None, classes: Sequence[str], source: str
) -> np.ndarray[Any, Any]:
    """A multiclass model's output as a ``rows x len(classes)`` matrix in the charter's class
    order (``labels.values``), its columns matched by the model's own class names."""
    if hasattr(raw, "to_numpy"):
        raw = raw.to_numpy()
    values = np.asarray(raw, dtype=np.float64)
    if values.ndim != 2 or values.shape != (rows, len(classes)):
        raise UserCodeError(
            f"{source} returned output of shape {values.shape} for {rows} rows; a multiclass "
            f"model must give one probability per class ({len(classes)}: {', '.join(classes)})"
        )
    if model_classes is None:
        return values  # a model that does not name its classes: taken in the charter's order
    order = class_order(model_classes, classes, source)
    return values[:, order]


def class_order(model_classes: Sequence[str], classes: Sequence[str], source: str) -> list[int]:
    """For each charter class, the column of the model's output that holds it."""
    if sorted(model_classes) != sorted(classes):
        raise UserCodeError(
            f"{source} predicts the classes {', '.join(model_classes)}, but the charter's "
            f"labels.values lists {', '.join(classes)}",
            hint="List exactly the model's classes in labels.values.",
        )
    return [list(model_classes).index(c) for c in classes]


def guarded(source: str, call: Callable[[], T]) -> T:
    """Run model code; wrap whatever it raises in :class:`UserCodeError` with the original cause."""
    try:
        return call()
    except (DataError, UserCodeError):
        raise
    except Exception as exc:
        raise UserCodeError(f"{source} raised {type(exc).__name__}: {exc}") from exc
