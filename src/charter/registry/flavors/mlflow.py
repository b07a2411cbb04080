"""MLflow models, through the generic ``pyfunc`` interface (the ``mlflow`` extra).

The model directory is loaded from a private local copy whose tree hash the caller has checked,
never from the shared store, so nobody can swap a file between the check and the load. The copy
lives as long as the predictor (MLflow models may read their artifacts lazily).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from charter.errors import ModelFileError
from charter.registry.flavors.base import LoadedModel, guarded, select_features, to_scores
from charter.spec.loader import read_yaml

INSTALL_HINT = "Install the MLflow extra: pip install 'charter-ml[mlflow]'."


class MlflowPredictor:
    flavor = "mlflow"

    def __init__(
        self, model: Any, name: str, keep_alive: tempfile.TemporaryDirectory[str] | None
    ) -> None:
        self.model = model
        self.name = name
        self._keep_alive = keep_alive
        schema = model.metadata.get_input_schema()
        named = schema is not None and schema.has_input_names()
        self.features: list[str] | None = list(schema.input_names()) if named else None

    def predict(self, frame: pl.DataFrame) -> np.ndarray[Any, Any]:
        inputs = select_features(frame, self.features).to_pandas()
        source = f"the MLflow model {self.name}"
        raw = guarded(source, lambda: self.model.predict(inputs))
        return to_scores(raw, frame.height, source)


def is_mlflow_model(path: Path) -> bool:
    return path.is_dir() and (path / "MLmodel").is_file()


def load(
    directory: Path, name: str, keep_alive: tempfile.TemporaryDirectory[str] | None = None
) -> LoadedModel:
    """Load ``directory`` (hash-checked by the caller) as a pyfunc model."""
    if not is_mlflow_model(directory):
        raise ModelFileError(
            f"{name} is not an MLflow model: it has no MLmodel file",
            hint="Save it with mlflow.pyfunc.save_model or mlflow.sklearn.save_model.",
        )
    spec = _read_mlmodel(directory / "MLmodel", name)
    flavors = spec.get("flavors") or {}
    if "python_function" not in flavors:
        raise ModelFileError(
            f"{name} is an MLflow model without the python_function (pyfunc) flavor; "
            f"it has: {', '.join(flavors) or 'none'}"
        )
    try:
        import mlflow.pyfunc
    except ImportError as exc:
        raise ModelFileError(
            f"{name} is an MLflow model, but MLflow is not installed", hint=INSTALL_HINT
        ) from exc
    try:
        model = mlflow.pyfunc.load_model(str(directory))
    except Exception as exc:
        raise ModelFileError(
            f"{name} cannot be loaded as an MLflow pyfunc model: {type(exc).__name__}: {exc}"
        ) from exc
    predictor = MlflowPredictor(model, name, keep_alive)
    loader = flavors["python_function"].get("loader_module")
    details = {
        "flavors": sorted(flavors),
        "loader_module": loader,
        "mlflow_version": spec.get("mlflow_version"),
        "features": predictor.features,
    }
    return LoadedModel(predictor, "mlflow", f"mlflow:{loader or 'pyfunc'}", {}, details)


def _read_mlmodel(path: Path, name: str) -> dict[str, Any]:
    try:
        spec = read_yaml(path.read_text(encoding="utf-8"))
    except Exception as exc:
        raise ModelFileError(f"{name}: its MLmodel file cannot be read: {exc}") from exc
    if not isinstance(spec, dict):
        raise ModelFileError(f"{name}: its MLmodel file is not a YAML mapping")
    return spec
