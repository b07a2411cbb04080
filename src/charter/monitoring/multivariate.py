"""Multivariate drift: one score per window for a shift of the inputs' *joint* distribution.

Per-input drift misses a change no single input shows: two inputs that moved together in the
reference and now move against each other keep both of their histograms. The method is PCA
reconstruction error, as NannyML's data reconstruction drift, chosen over a domain classifier
because it is fitted once on the reference (a classifier would be trained per window, on raw
rows, with its own randomness) and its window score is a mean of per-row numbers, whose spread
the reference gives:

1. Encoding (learnt from the reference): a numeric input as its value, a missing one as the
   reference mean; a categorical input as its value's share of the reference rows (an unseen value
   0, a missing one the share of missing). Each encoded input is standardised by the reference's
   mean and standard deviation (a constant input by 1).
2. The principal components keeping ``variance`` of the standardised reference's variance
   (scikit-learn's PCA) are fitted on the reference's even rows.
3. A row's reconstruction error is the Euclidean distance between the standardised row and its
   projection back from the components. Its mean ``mu`` and standard deviation ``sigma`` are
   measured on the reference's *odd* rows, which the fit never saw: in-sample errors are smaller
   than those of new data from the same distribution, and a bound on them would alarm on large
   windows of unchanged data.
4. A window of ``n`` rows is judged by its mean error against ``mu ± sigmas * sigma / sqrt(n)``
   (the sampling spread of a mean of ``n`` rows: the bound narrows as windows grow, so a large
   window catches a small shift and a small one is not flagged by noise). Outside it: ``breach``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from charter.engines.summaries import FloatArray, Kind, NotComputable
from charter.monitoring.dle import Encoding

METHOD = "pca_reconstruction"
MIN_ROWS = 100  # per half of the reference: fewer cannot give a spread worth judging by
MAX_FIT_ROWS = 200_000  # per half: plenty for a handful of components, bounded in time
NULL = "\x00null"  # the category a missing categorical value counts under


@dataclass(frozen=True)
class Input:
    """One encoded input: numeric, or categorical with each value's reference share."""

    name: str
    kind: Kind
    centre: float
    scale: float
    shares: Mapping[str, float] | None = None  # categorical only

    def encode(self, values: pl.Series) -> FloatArray:
        """The standardised column (missing values at the reference mean: 0)."""
        if self.kind == "numeric":
            raw = Encoding(self.name).encode(values)
            raw = np.where(np.isfinite(raw), raw, self.centre)
        else:
            assert self.shares is not None
            text = values.cast(pl.String).fill_null(NULL)
            raw = (
                text.replace_strict(dict(self.shares), default=0.0, return_dtype=pl.Float64)
                .to_numpy()
                .astype(np.float64)
            )
        return (raw - self.centre) / self.scale

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "name": self.name,
            "kind": self.kind,
            "centre": self.centre,
            "scale": self.scale,
        }
        if self.shares is not None:
            body["shares"] = dict(sorted(self.shares.items()))
        return body

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Input:
        shares = data.get("shares")
        return cls(
            str(data["name"]),
            "numeric" if data["kind"] == "numeric" else "categorical",
            float(data["centre"]),
            float(data["scale"]),
            None if shares is None else {str(k): float(v) for k, v in shares.items()},
        )


@dataclass(frozen=True, eq=False)
class Reconstruction:
    """The fitted encoding and components, and the reference's held-out error spread."""

    inputs: tuple[Input, ...]
    mean: FloatArray  # of the standardised fit rows (PCA centres on it)
    components: FloatArray  # k x d, orthonormal rows
    variance: float  # the share asked for
    explained: float  # the share the kept components explain
    mu: float
    sigma: float
    rows: int  # held-out rows mu and sigma were measured on

    @classmethod
    def fit(
        cls, frame: pl.DataFrame, kinds: Mapping[str, Kind], variance: float
    ) -> Reconstruction | NotComputable:
        """Fit on ``frame``'s inputs named in ``kinds`` (see the module docstring)."""
        from sklearn.decomposition import PCA

        names = [n for n in kinds if n in frame.columns]
        if len(names) < 2:
            return NotComputable("multivariate drift needs at least two monitored inputs")
        if frame.height < 2 * MIN_ROWS:
            return NotComputable(
                f"the reference has {frame.height} rows; multivariate drift needs at least "
                f"{2 * MIN_ROWS} (half to fit, half to measure the error's spread)"
            )
        inputs = tuple(_learn(frame[n], kinds[n]) for n in names)
        z = _matrix(inputs, frame)
        fit, held = z[0::2][:MAX_FIT_ROWS], z[1::2][:MAX_FIT_ROWS]
        pca = PCA(n_components=variance, svd_solver="full").fit(fit)
        mean = np.asarray(pca.mean_, dtype=np.float64)
        components = np.asarray(pca.components_, dtype=np.float64)
        errors = _errors(held, mean, components)
        return cls(
            inputs,
            mean,
            components,
            variance,
            float(np.sum(pca.explained_variance_ratio_)),
            float(errors.mean()),
            float(errors.std(ddof=1)),
            held.shape[0],
        )

    def errors(self, frame: pl.DataFrame) -> FloatArray:
        """Each row's reconstruction error."""
        return _errors(_matrix(self.inputs, frame), self.mean, self.components)

    def judge(self, frame: pl.DataFrame, sigmas: float) -> dict[str, Any]:
        """The window's score against the bound for its number of rows."""
        body: dict[str, Any] = {
            "method": METHOD,
            "judged": True,
            "components": int(self.components.shape[0]),
            "inputs": [i.name for i in self.inputs],
            "explained_variance": self.explained,
            "reference_mean": self.mu,
            "reference_std": self.sigma,
        }
        missing = [i.name for i in self.inputs if i.name not in frame.columns]
        if missing:
            why = f"the window lacks the input(s) {', '.join(missing)}"
            return body | {"value": None, "status": "not_computable", "reason": why}
        if frame.height == 0:
            return body | {"value": None, "status": "not_computable", "reason": "no rows"}
        value = float(self.errors(frame).mean())
        half = sigmas * self.sigma / np.sqrt(frame.height)
        lower, upper = max(0.0, self.mu - half), self.mu + half
        status = "pass" if lower <= value <= upper else "breach"
        return body | {
            "value": value,
            "rows": frame.height,
            "lower": lower,
            "upper": upper,
            "sigmas": sigmas,
            "status": status,
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": METHOD,
            "inputs": [i.to_dict() for i in self.inputs],
            "mean": self.mean.tolist(),
            "components": self.components.tolist(),
            "variance": self.variance,
            "explained": self.explained,
            "mu": self.mu,
            "sigma": self.sigma,
            "rows": self.rows,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Reconstruction:
        d = len(data["inputs"])
        return cls(
            tuple(Input.from_dict(i) for i in data["inputs"]),
            np.asarray(data["mean"], dtype=np.float64).reshape(d),
            np.asarray(data["components"], dtype=np.float64).reshape(-1, d),
            float(data["variance"]),
            float(data["explained"]),
            float(data["mu"]),
            float(data["sigma"]),
            int(data["rows"]),
        )

    def describe(self) -> dict[str, Any]:
        """What a window's reference description says of it."""
        return {
            "method": METHOD,
            "components": int(self.components.shape[0]),
            "explained_variance": self.explained,
            "held_out_rows": self.rows,
        }


def multivariate_from_dict(data: Mapping[str, Any]) -> Reconstruction | NotComputable:
    if "not_computable" in data:
        return NotComputable(str(data["not_computable"]))
    return Reconstruction.from_dict(data)


def _learn(values: pl.Series, kind: Kind) -> Input:
    if kind == "numeric":
        raw = Encoding(values.name).encode(values)
        known = raw[np.isfinite(raw)]
        centre = float(known.mean()) if known.size else 0.0
        return Input(values.name, kind, centre, _scale(np.where(np.isfinite(raw), raw, centre)))
    text = values.cast(pl.String).fill_null(NULL)
    counts = text.value_counts()
    total = float(text.len())
    shares = {
        str(v): float(c) / total
        for v, c in zip(counts[text.name].to_list(), counts["count"].to_list(), strict=True)
    }
    raw = text.replace_strict(shares, default=0.0, return_dtype=pl.Float64).to_numpy()
    return Input(values.name, kind, float(raw.mean()), _scale(raw), shares)


def _errors(z: FloatArray, mean: FloatArray, components: FloatArray) -> FloatArray:
    centred = z - mean
    back = centred @ components.T @ components
    return np.asarray(np.linalg.norm(centred - back, axis=1), dtype=np.float64)


def _scale(raw: FloatArray) -> float:
    sd = float(np.std(raw))
    return sd if sd > 0 else 1.0


def _matrix(inputs: Sequence[Input], frame: pl.DataFrame) -> FloatArray:
    return np.column_stack([i.encode(frame[i.name]) for i in inputs]).astype(np.float64)
