"""ONNX models, run with onnxruntime (the ``onnx`` extra).

Two input layouts are common and both are handled: one 2-D float tensor holding every feature
(``skl2onnx.to_onnx(model, X.astype(np.float32))``), whose columns are the frame's columns in
order; or one input per column, named after it (a converted pipeline with a ColumnTransformer).
For output, a tensor or ZipMap output whose name mentions probabilities wins (its positive-class
column); otherwise the first output is the prediction.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from charter.errors import DataError, ModelFileError
from charter.registry.flavors.base import LoadedModel, guarded, select_features, to_scores

_DTYPES = {
    "tensor(float)": np.float32,
    "tensor(double)": np.float64,
    "tensor(int64)": np.int64,
    "tensor(int32)": np.int32,
    "tensor(bool)": np.bool_,
    "tensor(string)": np.object_,
}
INSTALL_HINT = "Install the ONNX extra: pip install 'charter-ml[onnx]'."


class OnnxPredictor:
    flavor = "onnx"

    def __init__(self, session: Any, name: str) -> None:
        self.session = session
        self.name = name
        self.inputs = list(session.get_inputs())
        self.outputs = [o.name for o in session.get_outputs()]
        # One input per column: the model names its features. One matrix: it takes what it is given.
        self.features: list[str] | None = (
            [i.name for i in self.inputs] if len(self.inputs) > 1 else None
        )
        self.output = next((o for o in self.outputs if "prob" in o.lower()), self.outputs[0])

    def predict(self, frame: pl.DataFrame) -> np.ndarray[Any, Any]:
        feeds = self._feeds(select_features(frame, self.features))
        source = f"the ONNX model {self.name}"
        (raw,) = guarded(source, lambda: self.session.run([self.output], feeds))
        if isinstance(raw, list):  # ZipMap: one {class: probability} per row
            raw = _positive_class(raw)
        return to_scores(raw, frame.height, source)

    def _feeds(self, frame: pl.DataFrame) -> dict[str, Any]:
        if self.features is not None:
            return {
                i.name: frame[i.name]
                .to_numpy()
                .astype(_DTYPES.get(i.type, np.float32))
                .reshape(-1, 1)
                for i in self.inputs
            }
        (single,) = self.inputs
        width = single.shape[1] if len(single.shape) == 2 else None
        if isinstance(width, int) and width != frame.width:
            raise DataError(
                f"the ONNX model {self.name} takes {width} feature columns, "
                f"but the data has {frame.width}: {', '.join(frame.columns)}",
                hint="Pass only the model's feature columns, in training order.",
            )
        return {single.name: frame.to_numpy().astype(_DTYPES.get(single.type, np.float32))}


def _positive_class(rows: list[dict[Any, float]]) -> np.ndarray[Any, Any]:
    if not rows:
        return np.empty(0)
    positive = sorted(rows[0])[-1]
    return np.array([row[positive] for row in rows], dtype=np.float64)


def load(data: bytes, name: str) -> LoadedModel:
    """Open an inference session on ``data`` (hash-checked by the caller)."""
    try:
        import onnxruntime
    except ImportError as exc:
        raise ModelFileError(
            f"{name} is an ONNX model, but onnxruntime is not installed", hint=INSTALL_HINT
        ) from exc
    try:
        session = onnxruntime.InferenceSession(data, providers=["CPUExecutionProvider"])
    except Exception as exc:
        raise ModelFileError(
            f"{name} cannot be loaded as an ONNX model: {type(exc).__name__}: {exc}"
        ) from exc
    meta = session.get_modelmeta()
    predictor = OnnxPredictor(session, name)
    details = {
        "producer": meta.producer_name,
        "graph": meta.graph_name,
        "inputs": {i.name: i.type for i in predictor.inputs},
        "outputs": predictor.outputs,
        "scored_output": predictor.output,
        "features": predictor.features,
    }
    return LoadedModel(predictor, "onnx", f"onnx:{meta.producer_name or 'unknown'}", {}, details)
