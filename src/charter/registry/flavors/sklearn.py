"""scikit-learn compatible estimators (and XGBoost/LightGBM through their sklearn API).

Two on-disk formats. **joblib/pickle** can run arbitrary code while loading, so it is only ever
given bytes whose SHA-256 the caller has just checked against the registered one, and only after
:mod:`~charter.registry.flavors.pickle_scan` has read its opcodes, unexecuted, and found nothing
imported outside the allow-list (plus what the user trusts by name). **skops** is
safe by construction *if* its trust list is narrow: we accept the types skops trusts itself plus
scikit-learn, NumPy and SciPy types it reports as unknown, and refuse any other, naming them.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

import numpy as np
import polars as pl

from charter.errors import ModelFileError
from charter.registry.flavors import pickle_scan
from charter.registry.flavors.base import (
    LoadedModel,
    guarded,
    qualified_name,
    select_features,
    to_scores,
)

FORMATS = {".joblib": "joblib", ".pkl": "joblib", ".pickle": "joblib", ".skops": "skops"}
TRUSTED_ROOTS = frozenset({"sklearn", "numpy", "scipy"})


class SklearnPredictor:
    """Scores with ``predict_proba[:, 1]`` for binary classifiers, else ``predict``."""

    flavor = "sklearn"

    def __init__(self, estimator: Any) -> None:
        self.estimator = estimator
        names = getattr(estimator, "feature_names_in_", None)
        self.features: list[str] | None = None if names is None else [str(n) for n in names]

    @property
    def classes(self) -> list[str] | None:
        """A multiclass classifier's class names as charter compares them; else None."""
        from charter.spec.model import label_text

        found = getattr(self.estimator, "classes_", None)
        if not hasattr(self.estimator, "predict_proba") or found is None or len(found) <= 2:
            return None
        return [label_text(c.item() if hasattr(c, "item") else c) for c in found]

    @property
    def is_binary_classifier(self) -> bool:
        classes = getattr(self.estimator, "classes_", None)
        return (
            hasattr(self.estimator, "predict_proba") and classes is not None and len(classes) == 2
        )

    def predict(self, frame: pl.DataFrame) -> np.ndarray[Any, Any]:
        selected = select_features(frame, self.features)
        # An estimator fitted on a DataFrame wants one back (with the same column names);
        # one fitted on an array wants an array.
        inputs: Any = selected.to_pandas() if self.features is not None else selected.to_numpy()
        source = f"the {qualified_name(self.estimator)} model"
        if self.classes is not None:  # multiclass: every class's probability, a matrix
            raw = guarded(source, lambda: np.asarray(self.estimator.predict_proba(inputs)))
            if raw.ndim != 2 or raw.shape[0] != frame.height:
                return to_scores(raw, frame.height, source)  # the shape error, said plainly
            return raw.astype(np.float64)
        if self.is_binary_classifier:
            raw = guarded(source, lambda: np.asarray(self.estimator.predict_proba(inputs))[:, 1])
        else:
            raw = guarded(source, lambda: self.estimator.predict(inputs))
        return to_scores(raw, frame.height, source)


def format_of(name: str) -> str:
    """joblib or skops, from the file name; joblib when the suffix says nothing."""
    for suffix, fmt in FORMATS.items():
        if name.lower().endswith(suffix):
            return fmt
    return "joblib"


def load(data: bytes, name: str, fmt: str, *, trust: Sequence[str] = ()) -> LoadedModel:
    """Load an estimator from ``data`` (hash-checked by the caller) and check it can predict."""
    estimator = _load_skops(data, name) if fmt == "skops" else _load_joblib(data, name, trust)
    if not callable(getattr(estimator, "predict", None)):
        raise ModelFileError(
            f"{name} holds a {qualified_name(estimator)}, which has no predict method",
            hint="Save the fitted estimator or pipeline itself.",
        )
    get_params = getattr(estimator, "get_params", None)
    params = guarded(f"{name}: get_params", lambda: get_params(deep=False)) if get_params else {}
    predictor = SklearnPredictor(estimator)
    details = {"features": predictor.features, "binary_classifier": predictor.is_binary_classifier}
    if predictor.classes is not None:
        details["classes"] = predictor.classes
    return LoadedModel(predictor, fmt, qualified_name(estimator), params, details)


def _load_joblib(data: bytes, name: str, trust: Sequence[str]) -> Any:
    import joblib

    refused = pickle_scan.refused(pickle_scan.scan(data, name), trust)
    if refused:
        raise ModelFileError(
            f"{name} was not loaded: unpickling it would import {', '.join(refused)}, which "
            "charter does not trust",
            hint="A pickle runs what it imports. If you trust these, name them: "
            f"`--trust {refused[0]}` (or CHARTER_TRUSTED_TYPES); or save the model with skops "
            "or ONNX.",
        )

    try:
        return joblib.load(io.BytesIO(data))
    except Exception as exc:  # unpickling can fail in any way the pickled classes choose
        raise ModelFileError(
            f"{name} cannot be loaded as a scikit-learn model with joblib: "
            f"{type(exc).__name__}: {exc}",
            hint="Save it with joblib.dump(model, path), or pass the right --flavor.",
        ) from exc


def _load_skops(data: bytes, name: str) -> Any:
    import skops.io

    try:
        unknown = skops.io.get_untrusted_types(data=data)
    except Exception as exc:
        raise ModelFileError(
            f"{name} is not a skops file: {type(exc).__name__}: {exc}",
            hint="Save it with skops.io.dump(model, path).",
        ) from exc
    refused = [t for t in unknown if t.split(".", 1)[0] not in TRUSTED_ROOTS]
    if refused:
        raise ModelFileError(
            f"{name} contains types charter does not trust: {', '.join(refused)}",
            hint="charter loads skops files made only of scikit-learn, NumPy and SciPy types. "
            "Save a model with custom classes with joblib instead: it is loaded only while its "
            "bytes match the registered SHA-256.",
        )
    try:
        return skops.io.load(io.BytesIO(data), trusted=unknown)
    except Exception as exc:
        raise ModelFileError(
            f"{name} cannot be loaded with skops: {type(exc).__name__}: {exc}"
        ) from exc
