"""Estimated MAE and RMSE of a regressor while labels are missing: direct loss estimation.

A regressor's error is not in its output the way a classifier's confidence is, but it often
depends on where the inputs lie: a price model errs more on rare, expensive houses. Direct
loss estimation (DLE, as NannyML calls it; written here from its description) learns that
dependence on the labelled reference: a gradient-boosted model (scikit-learn's
``HistGradientBoostingRegressor``: 60 trees of at most 15 leaves of 50 rows, fixed seed, no
early stopping) is fitted from the model's
inputs and its prediction to the absolute error ``|y - prediction|``, another to the squared
error. On a window without labels, estimated MAE is the mean of the first model's outputs and
estimated RMSE the square root of the mean of the second's (negative outputs count 0).

It holds while the error's relation to inputs is the reference's: inputs that move into
regions where the reference showed larger errors raise the estimate. Sampling error: the
realized metric's spread over shuffled reference chunks times the square root of the chunk
size, divided by the square root of the window's rows; the band is ± ``BAND`` errors (the lower
end at least 0). Numeric inputs enter as numbers (unparseable ones as missing), categorical
inputs as the index of their reference category (an unseen one as missing).

The fitted models are stored with the reference as skops bytes, loaded back with only
scikit-learn, NumPy and SciPy types trusted.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

from charter.engines.summaries import FloatArray, NotComputable
from charter.monitoring import performance as perf
from charter.monitoring.cbpe import BAND, DEFAULT_CHUNKS, MIN_CHUNK_ROWS, Estimate

ESTIMATED_REGRESSION = ("mae", "rmse")
MAX_ITER = 60  # small, smooth models: an error is noisier than the value it is the error of
_TRUSTED_ROOTS = frozenset({"sklearn", "numpy", "scipy"})


@dataclass(frozen=True)
class Encoding:
    """How one input becomes a number for the loss models."""

    name: str
    categories: tuple[str, ...] | None = None  # None: numeric

    def encode(self, values: pl.Series) -> FloatArray:
        if self.categories is None:
            if values.dtype == pl.String:
                values = values.str.strip_chars()
            return (
                values.cast(pl.Float64, strict=False).fill_nan(None).to_numpy().astype(np.float64)
            )
        lookup = {c: float(i) for i, c in enumerate(self.categories)}
        text = values.cast(pl.String)
        return (
            text.replace_strict(lookup, default=None, return_dtype=pl.Float64)
            .to_numpy()
            .astype(np.float64)
        )


@dataclass(frozen=True, eq=False)
class DLE:
    """The fitted loss models, the inputs' encodings and each metric's sampling spread."""

    encodings: tuple[Encoding, ...]
    models: Mapping[str, Any]  # "abs" and "squared": fitted HistGradientBoostingRegressor
    blobs: Mapping[str, str]  # the same models as base64 skops bytes, as stored
    unit_sd: Mapping[str, float | None]

    @classmethod
    def fit(
        cls,
        inputs: pl.DataFrame,
        kinds: Mapping[str, str],
        predictions: npt.ArrayLike,
        labels: npt.ArrayLike,
        *,
        chunks: int = DEFAULT_CHUNKS,
        seed: int = 0,
    ) -> DLE | NotComputable:
        """Fit on the labelled reference; ``kinds`` maps each input to numeric or categorical."""
        p = np.asarray(predictions, dtype=np.float64).ravel()
        y = np.asarray(labels, dtype=np.float64).ravel()
        known = np.isfinite(p) & np.isfinite(y)
        if int(known.sum()) < 2 * MIN_CHUNK_ROWS:
            return NotComputable(
                f"cannot fit DLE: the reference has {int(known.sum())} labelled, predicted rows, "
                f"at least {2 * MIN_CHUNK_ROWS} are needed"
            )
        frame = inputs.filter(pl.Series(known))
        encodings = tuple(
            Encoding(name)
            if kinds[name] == "numeric"
            else Encoding(name, tuple(sorted(frame[name].drop_nulls().cast(pl.String).unique())))
            for name in inputs.columns
        )
        p, y = p[known], y[known]
        x = _design(encodings, frame, p)
        from sklearn.ensemble import HistGradientBoostingRegressor  # seconds: only when fitting

        models: dict[str, Any] = {}
        for loss, target in (("abs", np.abs(y - p)), ("squared", (y - p) ** 2)):
            model = HistGradientBoostingRegressor(
                max_iter=MAX_ITER,
                max_leaf_nodes=15,
                min_samples_leaf=50,
                early_stopping=False,
                random_state=seed,
            )
            models[loss] = model.fit(x, target)
        blobs = {loss: _dump(model) for loss, model in models.items()}
        return cls(
            encodings, models, blobs, _unit_sd(y, p, min(chunks, y.size // MIN_CHUNK_ROWS), seed)
        )

    def estimate(
        self, inputs: pl.DataFrame, predictions: npt.ArrayLike
    ) -> dict[str, Estimate | NotComputable]:
        """Estimated MAE and RMSE of the window's predicted rows."""
        p = np.asarray(predictions, dtype=np.float64).ravel()
        scored = np.isfinite(p)
        if not scored.any():
            return dict.fromkeys(
                ESTIMATED_REGRESSION, NotComputable("the window has no predictions")
            )
        missing = [e.name for e in self.encodings if e.name not in inputs.columns]
        if missing:
            why = NotComputable(f"the window lacks the input(s) {', '.join(missing)}")
            return dict.fromkeys(ESTIMATED_REGRESSION, why)
        x = _design(self.encodings, inputs.filter(pl.Series(scored)), p[scored])
        absolute = np.clip(self.models["abs"].predict(x), 0.0, None)
        squared = np.clip(self.models["squared"].predict(x), 0.0, None)
        rows = int(scored.sum())
        return {
            "mae": self._with_band("mae", float(absolute.mean()), rows),
            "rmse": self._with_band("rmse", float(np.sqrt(squared.mean())), rows),
        }

    def _with_band(self, name: str, value: float, rows: int) -> Estimate:
        sd = self.unit_sd.get(name)
        if sd is None:
            return Estimate(value, None, None, None)
        error = sd / np.sqrt(rows)
        return Estimate(value, float(error), max(0.0, value - BAND * error), value + BAND * error)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": "dle",
            "inputs": [
                {"name": e.name, "categories": None if e.categories is None else list(e.categories)}
                for e in self.encodings
            ],
            "models": dict(self.blobs),
            "unit_sd": dict(self.unit_sd),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DLE:
        encodings = tuple(
            Encoding(e["name"], None if e["categories"] is None else tuple(e["categories"]))
            for e in data["inputs"]
        )
        blobs = {str(k): str(v) for k, v in data["models"].items()}
        models = {loss: _load(blob) for loss, blob in blobs.items()}
        return cls(encodings, models, blobs, dict(data["unit_sd"]))


def _design(
    encodings: Sequence[Encoding], frame: pl.DataFrame, predictions: FloatArray
) -> FloatArray:
    columns = [e.encode(frame[e.name]) for e in encodings]
    return np.column_stack([*columns, predictions]) if columns else predictions.reshape(-1, 1)


def _unit_sd(y: FloatArray, p: FloatArray, parts: int, seed: int) -> dict[str, float | None]:
    rows = y.size // parts
    chunks = np.random.default_rng(seed).permutation(y.size)[: rows * parts].reshape(parts, rows)
    out: dict[str, float | None] = {}
    for name in ESTIMATED_REGRESSION:
        fn = perf.REGRESSION_METRICS[name]
        values = [v for idx in chunks if isinstance(v := fn(y[idx], p[idx]), float)]
        out[name] = float(np.std(values, ddof=1) * np.sqrt(rows)) if len(values) >= 2 else None
    return out


def _dump(model: Any) -> str:
    import skops.io

    return base64.b64encode(skops.io.dumps(model)).decode("ascii")


def _load(blob: str) -> Any:
    import skops.io

    data = base64.b64decode(blob)
    unknown = skops.io.get_untrusted_types(data=data)
    refused = [t for t in unknown if t.split(".", 1)[0] not in _TRUSTED_ROOTS]
    if refused:
        raise ValueError(f"the stored loss model holds untrusted types: {', '.join(refused)}")
    return skops.io.load(io.BytesIO(data), trusted=unknown)
