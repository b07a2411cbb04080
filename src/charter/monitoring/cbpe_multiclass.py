"""Multiclass CBPE: estimated performance of a multiclass classifier while labels are missing.

The binary method (:mod:`.cbpe`) carried to ``K`` classes one-vs-rest, as NannyML does:

1. **Calibration.** For each class ``k`` an isotonic calibrator maps the model's probability of
   ``k`` to the chance that the label is ``k``, fitted on the labelled reference one-vs-rest. A
   row's calibrated probabilities are then divided by their sum, so that they form a
   distribution over the classes again (each row's label is exactly one class).
2. **Expected confusion matrix.** A row predicted ``j`` (the model's most probable class) adds
   its calibrated probability of each class ``k`` to cell ``[k, j]``. Accuracy, per-class and
   macro precision, recall and f1 follow from that matrix as realized ones do from counts
   (:mod:`.multiclass`).
3. **ROC area.** Class ``k``'s expected one-vs-rest ROC curve orders rows by the model's
   probability of ``k`` and counts calibrated ``p_k`` as positives (:func:`.cbpe.expected_roc_auc`);
   ``roc_auc`` is the mean over classes, as realized.
4. **Sampling error.** As the binary method, with every metric's support taken to be the
   window's rows: the reference is shuffled (fixed seed) into chunks, each metric's spread over
   the chunks times the square root of the chunk size gives ``unit_sd``, and a window of ``n`` rows
   has standard error ``unit_sd / sqrt(n)``; the band is ± ``BAND`` errors, clipped to [0, 1].
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from charter.engines.summaries import FloatArray, NotComputable
from charter.monitoring import multiclass as mc
from charter.monitoring.cbpe import (
    BAND,
    DEFAULT_CHUNKS,
    MIN_CHUNK_ROWS,
    Calibrator,
    Estimate,
    expected_roc_auc,
)

ESTIMATED_MULTICLASS = (
    "accuracy",
    "roc_auc",
    "precision_macro",
    "recall_macro",
    "f1_macro",
)


def _per_class(classes: Sequence[str]) -> list[str]:
    return [f"{m}[{c}]" for c in classes for m in ("precision", "recall", "f1", "roc_auc")]


@dataclass(frozen=True, eq=False)
class MulticlassCBPE:
    """One calibrator per class and each estimated metric's sampling spread."""

    classes: tuple[str, ...]
    calibrators: tuple[Calibrator, ...]
    unit_sd: Mapping[str, float | None]

    @property
    def estimated(self) -> tuple[str, ...]:
        return (*ESTIMATED_MULTICLASS, *_per_class(self.classes))

    @classmethod
    def fit(
        cls,
        probabilities: npt.ArrayLike,
        labels: npt.ArrayLike,
        classes: Sequence[str],
        *,
        chunks: int = DEFAULT_CHUNKS,
        seed: int = 0,
    ) -> MulticlassCBPE | NotComputable:
        p = mc.probability_matrix(probabilities, len(classes))
        y = np.asarray(labels, dtype=np.float64).ravel()
        if checked := mc.labels_problem(y, p):  # finite, indices, every class present
            return NotComputable(f"cannot fit CBPE on this reference: {checked.reason}")
        if problem := _probabilities_problem(p):
            return NotComputable(f"cannot fit CBPE on this reference: {problem.reason}")
        parts = min(chunks, y.size // MIN_CHUNK_ROWS)
        if parts < 2:
            return NotComputable(
                f"cannot fit CBPE: the reference has {y.size} labelled rows, "
                f"at least {2 * MIN_CHUNK_ROWS} are needed to measure sampling error"
            )
        calibrators = tuple(
            Calibrator.fit(p[:, k], (y == k).astype(np.float64)) for k in range(len(classes))
        )
        fitted = cls(tuple(classes), calibrators, {})
        return cls(fitted.classes, calibrators, fitted._unit_sd(p, y, parts, seed))

    def calibrated(self, probabilities: FloatArray) -> FloatArray:
        """Calibrated class probabilities, each row summing to 1 (see the module docstring)."""
        raw = np.column_stack([cal(probabilities[:, k]) for k, cal in enumerate(self.calibrators)])
        total = raw.sum(axis=1, keepdims=True)
        uniform = np.full_like(raw, 1.0 / raw.shape[1])
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(total > 0, raw / total, uniform)

    def expected(self, probabilities: FloatArray) -> dict[str, float | NotComputable]:
        """The metrics of the expected confusion matrix, and the expected ROC areas."""
        k = len(self.classes)
        calibrated = self.calibrated(probabilities)
        predicted = np.argmax(probabilities, axis=1)
        matrix = np.zeros((k, k))
        for j in range(k):
            matrix[:, j] = calibrated[predicted == j].sum(axis=0)
        rates = mc.class_rates(matrix)
        out: dict[str, float | NotComputable] = {
            "accuracy": float(np.trace(matrix) / probabilities.shape[0])
        }
        areas = [expected_roc_auc(probabilities[:, c], calibrated[:, c]) for c in range(k)]
        computable = [a for a in areas if isinstance(a, float)]
        out["roc_auc"] = (
            float(np.mean(computable))
            if len(computable) == k
            else NotComputable("the calibrated probabilities expect a single class for a class")
        )
        for name in mc.AVERAGED:
            out[f"{name}_macro"] = mc.averaged(rates, name, "macro")
        for index, cls in enumerate(self.classes):
            for name in mc.AVERAGED:
                value = rates[name][index]
                out[f"{name}[{cls}]"] = (
                    float(value)
                    if np.isfinite(value)
                    else NotComputable(f"{name} of {cls!r} is undefined in the window")
                )
            out[f"roc_auc[{cls}]"] = areas[index]
        return out

    def estimate(self, probabilities: npt.ArrayLike) -> dict[str, Estimate | NotComputable]:
        """Every estimated metric of an unlabelled window, with its band."""
        p = mc.probability_matrix(probabilities, len(self.classes))
        problem = (
            NotComputable("the window has no scored rows")
            if p.shape[0] == 0
            else _probabilities_problem(p)
        )
        if problem is not None:
            return dict.fromkeys(self.estimated, problem)
        rows = p.shape[0]
        return {name: self._with_band(name, v, rows) for name, v in self.expected(p).items()}

    def _with_band(
        self, name: str, value: float | NotComputable, rows: int
    ) -> Estimate | NotComputable:
        if isinstance(value, NotComputable):
            return value
        sd = self.unit_sd.get(name)
        if sd is None:
            return Estimate(value, None, None, None)
        error = sd / np.sqrt(rows)
        lower = float(max(0.0, value - BAND * error))
        return Estimate(value, float(error), lower, float(min(1.0, value + BAND * error)))

    def _unit_sd(
        self, p: FloatArray, y: FloatArray, parts: int, seed: int
    ) -> dict[str, float | None]:
        rows = y.size // parts
        order = np.random.default_rng(seed).permutation(y.size)[: rows * parts]
        chunks = order.reshape(parts, rows)
        measured = [mc.all_metrics(y[idx], p[idx], self.classes) for idx in chunks]
        out: dict[str, float | None] = {}
        for name in self.estimated:
            values = [
                v
                for chunk in measured
                if not isinstance(chunk, NotComputable) and isinstance(v := chunk[name], float)
            ]
            out[name] = float(np.std(values, ddof=1) * np.sqrt(rows)) if len(values) >= 2 else None
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": "multiclass",
            "classes": list(self.classes),
            "calibrators": [
                {"knots": c.knots.tolist(), "probabilities": c.probabilities.tolist()}
                for c in self.calibrators
            ],
            "unit_sd": dict(self.unit_sd),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> MulticlassCBPE:
        calibrators = tuple(
            Calibrator(
                np.asarray(c["knots"], dtype=np.float64),
                np.asarray(c["probabilities"], dtype=np.float64),
            )
            for c in data["calibrators"]
        )
        return cls(tuple(data["classes"]), calibrators, dict(data["unit_sd"]))


def _probabilities_problem(p: FloatArray) -> NotComputable | None:
    if missing := int(np.count_nonzero(~np.isfinite(p).all(axis=1))):
        return NotComputable(f"{missing} rows have missing or non-finite probabilities")
    if outside := int(np.count_nonzero((p < 0) | (p > 1))):
        return NotComputable(f"{outside} probabilities are outside [0, 1]")
    return None
