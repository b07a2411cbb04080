"""The boundary around a charter's training code: what it is given, how it runs, what it must return.

:mod:`.retrain` decides *when* to retrain and records the outcome; this module only runs the
user's ``module:function`` safely:

- :func:`training_frame` builds the one argument the function receives (the contract is in its
  docstring and in docs/operations.md);
- :func:`train` imports the function afresh (from the current folder, then the workspace root,
  with the registry's :func:`~charter.registry.flavors.entrypoint.import_function`), calls it with stdout sent to stderr (so a chatty
  training script cannot corrupt ``--json`` output), and checks that what comes back is a fitted
  model able to score the charter's model inputs: a model that cannot would break ingestion as
  soon as it is in shadow;
- :func:`save_model` writes it with joblib.

Every failure is a :class:`TrainingError` naming the stage (``import``, ``train``, ``check``,
``save``) around a :class:`~charter.errors.CharterError`: a
:class:`~charter.errors.ModelFileError` when the function cannot be found, otherwise a
:class:`~charter.errors.UserCodeError`; its ``__cause__`` is the original exception.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl

from charter.errors import CharterError, DataError, UserCodeError
from charter.plumbing.labels import labelled_predictions
from charter.registry.flavors.entrypoint import import_function
from charter.registry.flavors.sklearn import SklearnPredictor
from charter.spec.model import Charter
from charter.workspace import Workspace

_POLARS_TYPES: dict[str, pl.DataType] = {
    "int": pl.Int64(),
    "float": pl.Float64(),
    "string": pl.String(),
    "bool": pl.Boolean(),
    "datetime": pl.Datetime("us", "UTC"),
    "date": pl.Date(),
}


class TrainingError(Exception):
    """A stage of running the user's training code failed; ``error`` says how, to the user."""

    def __init__(self, stage: str, error: CharterError) -> None:
        super().__init__(error.message)
        self.stage, self.error = stage, error


def training_frame(ws: Workspace, charter: Charter, start: datetime, end: datetime) -> pl.DataFrame:
    """The labelled rows logged with an event time (else ingestion time) in ``[start, end)``.

    One row per logged input row (whichever versions scored it), oldest first, with columns: the
    key (``data.key``, as text), the event time (``data.event_time``, UTC; only when declared),
    each model input (``data.features``, or every field but key and event time; a field never
    logged is all null), and the label under the charter's ``labels.target`` name (integer for a
    binary classifier, float for regression). Quarantined rows are not in the log, so not here.
    """
    spec = charter.labels
    if spec is None:
        raise CharterError(f"charter {charter.name!r} has no labels section to train on")
    features = charter.data.feature_columns()
    key, event_time, target = charter.data.key, charter.data.event_time, spec.target
    names = [key, *([event_time] if event_time else []), *features, target]
    clashes = sorted({n for n in names if names.count(n) > 1})
    if clashes:
        raise DataError(
            f"charter {charter.name!r}: the training frame would have two columns named "
            f"{', '.join(clashes)}",
            hint="labels.target must differ from the key, the event time and the model inputs.",
        )
    moment = pl.coalesce(pl.col("event_time"), pl.col("ingested_at"))
    log = labelled_predictions(ws, charter.name).filter(
        pl.col("label").is_not_null(), moment >= start, moment < end
    )
    rows = log.unique("prediction_id", keep="first").sort(moment, "key").collect()
    present: set[str] = set()
    inputs = rows.schema.get("inputs")
    if isinstance(inputs, pl.Struct):
        present = {f.name for f in inputs.fields}
        rows = rows.with_columns(pl.col("inputs").struct.unnest().name.prefix("in."))
    label_type = pl.Float64 if charter.task == "regression" else pl.Int64
    label = pl.col("label").cast(label_type)
    if charter.classes():  # multiclass: the class as labels.values writes it, not its index
        values = list(spec.values or [])
        label = label.replace_strict(dict(enumerate(values)), default=None)
    return rows.select(
        pl.col("key").alias(key),
        *([pl.col("event_time").alias(event_time)] if event_time else []),
        *(
            pl.col(f"in.{f}").alias(f)
            if f in present
            else pl.lit(None, _POLARS_TYPES[charter.data.fields[f].type]).alias(f)
            for f in features
        ),
        label.alias(target),
    )


def write_frame(frame: pl.DataFrame, path: Path) -> Path:
    """Write the training frame as Parquet, atomically: its fingerprint goes into the lineage."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    frame.write_parquet(partial)
    partial.replace(path)
    return path


def train(
    reference: str, frame: pl.DataFrame, features: Sequence[str], search: Sequence[Path]
) -> Any:
    """Call the entrypoint ``reference`` on ``frame``; return the fitted model it returned."""
    function = _import(reference, search)
    try:
        with contextlib.redirect_stdout(sys.stderr):
            model = function(frame.clone())
    except (Exception, SystemExit) as exc:
        raise TrainingError(
            "train", _user_error(f"the training entrypoint {reference}", exc)
        ) from exc
    if not callable(getattr(model, "predict", None)):
        raise TrainingError(
            "check",
            UserCodeError(
                f"the training entrypoint {reference} returned {_describe(model)}, not a fitted "
                "model with a predict method",
                hint="Return the fitted estimator or pipeline itself.",
            ),
        )
    try:
        SklearnPredictor(model).predict(frame.select(features))
    except Exception as exc:
        user = isinstance(exc, CharterError)
        reason = exc.message if isinstance(exc, CharterError) else f"{type(exc).__name__}: {exc}"
        error = UserCodeError(
            f"the model returned by {reference} cannot score the charter's model inputs "
            f"({', '.join(features)}): {reason}"
        )
        error.__cause__ = exc.__cause__ if user else exc
        raise TrainingError("check", error) from exc
    return model


def save_model(model: Any, path: Path) -> Path:
    """joblib, the format the sklearn flavor loads (only while its SHA-256 matches)."""
    import joblib

    try:
        joblib.dump(model, path)
    except Exception as exc:
        raise TrainingError("save", _user_error("saving the model with joblib", exc)) from exc
    return path


def _import(reference: str, search: Sequence[Path]) -> Callable[[pl.DataFrame], Any]:
    try:
        return import_function(reference, search, what="the training entrypoint", fresh=True)
    except CharterError as exc:
        raise TrainingError("import", exc) from exc


def _user_error(what: str, exc: BaseException) -> UserCodeError:
    error = UserCodeError(f"{what}: {type(exc).__name__}: {exc}")
    error.__cause__ = exc
    return error


def _describe(value: Any) -> str:
    kind = type(value)
    return "None" if value is None else f"a {kind.__module__}.{kind.__qualname__}"
