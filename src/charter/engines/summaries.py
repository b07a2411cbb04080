"""Mergeable column summaries: the only thing monitoring reads after a batch is ingested.

A window's statistics must not depend on how its rows were cut into batches, and re-computing a
window (because late data arrived, or a new reference was chosen) must not re-read raw data. So
every batch is reduced once to a small summary per column, and a window is the :meth:`merge` of
its batches' summaries. ``merge`` is associative and commutative; for any split of a column into
parts, merging the parts' summaries gives *exactly* the whole column's counts, histogram, minimum
and maximum, and its sums up to floating-point rounding (``tests/monitoring`` proves this with
hypothesis).

Two kinds of column:

- :class:`NumericSummary` bins values on **fixed edges** chosen once from the reference
  (:func:`reference_edges`: a fine grid of reference quantiles), so reference and current windows
  are histograms over the same bins and every drift statistic in :mod:`.drift` is a function of
  two summaries. Per-bin sums let Wasserstein use each bin's mean rather than its midpoint.
- :class:`CategoricalSummary` counts values. To bound its size it keeps at most ``cap`` values
  besides the reference's own categories, choosing them by a *stable hash* rather than by
  frequency: a frequency cut-off is not mergeable (a value dropped from one batch would lose
  counts), while "the ``cap`` values with the smallest hash" is the same set whatever the order in
  which batches arrive. The rest is counted in ``other_count``.

Non-finite numbers (NaN, +inf, -inf) count as nulls: they can be neither binned nor summed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any, Literal, TypeAlias

import numpy as np
import numpy.typing as npt
import polars as pl

FloatArray: TypeAlias = npt.NDArray[np.float64]
IntArray: TypeAlias = npt.NDArray[np.int64]
Kind = Literal["numeric", "categorical"]

DEFAULT_BINS = 1000
"""Quantile bins of the fine reference grid. Fine enough that KS and Wasserstein computed from
the histogram are within ~0.1% of probability mass of the raw-sample values (see drift.py);
coarse-binned methods (PSI, Jensen–Shannon) regroup these bins."""

DEFAULT_CAP = 1000
"""Distinct values a categorical summary keeps besides the reference's categories."""


@dataclass(frozen=True)
class NotComputable:
    """A statistic that has no value for this data, and why (never a silent NaN)."""

    reason: str

    def to_dict(self) -> dict[str, str]:
        return {"not_computable": self.reason}


def _as_float_array(values: pl.Series | npt.ArrayLike) -> FloatArray:
    if isinstance(values, pl.Series):
        if not (values.dtype.is_numeric() or values.dtype == pl.Boolean):
            raise TypeError(f"column {values.name!r} of type {values.dtype} is not numeric")
        # Nulls become NaN here and are then counted with the other non-finite values.
        return values.cast(pl.Float64).to_numpy()
    return np.asarray(values, dtype=np.float64)


EDGE_SAMPLE = 1 << 18
"""Values a reference's interior edges are placed on when it has more than twice as many
(:func:`reference_edges`). Drawn uniformly with replacement, the sample's distribution function
is within ``eps`` of the reference's everywhere with probability at least
``1 - 2 exp(-2 * EDGE_SAMPLE * eps**2)`` (the Dvoretzky–Kiefer–Wolfowitz inequality): every edge
is within 0.5% of rank of its target quantile except with probability 4e-6, and typically
about 0.1% (one fine bin)."""

_EDGE_SEED = 0x0C4A7E2
"""Fixed: the same reference file always gets the same edges (and fingerprint)."""


def reference_edges(
    values: pl.Series | npt.ArrayLike, bins: int = DEFAULT_BINS, *, sample: int = EDGE_SAMPLE
) -> FloatArray:
    """Fixed histogram edges for a numeric column, from the reference's quantiles.

    The edges are the reference minimum, the ``bins - 1`` interior quantiles and the float just
    above the reference maximum, deduplicated. Together with the implicit outer bins
    ``(-inf, min)`` and ``[above max, +inf)`` every number falls in some bin, and values outside
    the reference's range land in bins of their own (so a column that was constant and changed
    value shows up as drift). Ties collapse duplicate quantiles, so a column with few distinct
    values gets one bin per value.

    The minimum and maximum are always exact. The interior quantiles are exact order statistics
    of the reference when it holds at most ``2 * sample`` finite values; above that they are
    those of ``sample`` values drawn from it with a fixed seed (see :data:`EDGE_SAMPLE` for the
    rank error), which spares sorting millions of values: the edges only need to cut the
    reference into bins of about equal mass, and every count binned on them is exact.
    """
    if bins < 1:
        raise ValueError(f"bins must be at least 1, got {bins}")
    x = _as_float_array(values)
    finite = np.isfinite(x)
    if not finite.all():
        x = x[finite]
    if x.size == 0:
        return np.empty(0, dtype=np.float64)
    low, high = float(np.min(x)), float(np.max(x))
    if x.size > 2 * sample:
        picks = np.random.default_rng(_EDGE_SEED).integers(0, x.size, sample)
        x = x[picks]
    x = np.sort(x)
    interior = x[(np.arange(1, bins, dtype=np.int64) * (x.size - 1)) // bins]
    top = np.nextafter(high, np.inf)
    return np.unique(np.concatenate(([low], interior, [top])))


def bin_indices(edges: FloatArray, values: FloatArray) -> npt.NDArray[np.intp]:
    """``np.searchsorted(edges, values, side="right")``, exactly, about four times faster.

    Binning is most of the cost of monitoring, and a binary search over 1000 edges is ten
    unpredictable steps per value. Instead, split ``[edges[0], edges[-1]]`` into ``m`` equal
    cells with a monotone map ``cell(v)``; an edge in a lower cell than ``v`` is below ``v``
    and one in a higher cell above it, so ``v``'s answer is the number of edges in lower cells
    plus those of its own cell that are ``<= v``, found in at most ``crowd`` comparisons, the
    most edges any cell holds. ``m`` grows until that is at most 2 (it stays small: quantile
    edges are dense where data is). Exact for any input, because ``cell`` is computed the same
    way for edges and values and only its monotonicity is relied on.
    """
    k = edges.size
    if k < 32:
        return np.searchsorted(edges, values, side="right")
    lo, span = float(edges[0]), float(edges[-1] - edges[0])
    cells = 4 * k
    while True:
        scale = cells / span
        edge_cells = np.clip((edges - lo) * scale, 0, cells + 1).astype(np.intp)
        per_cell = np.bincount(edge_cells, minlength=cells + 2)
        crowd = int(per_cell.max())
        if crowd <= 2 or cells >= 1 << 22:
            break
        cells *= 4
    if crowd > 8:  # pathological spacing: a plain binary search is as fast
        return np.searchsorted(edges, values, side="right")
    below = np.concatenate(([0], np.cumsum(per_cell)[:-1]))
    sentinel = np.append(edges, np.inf)  # never <= a finite value: stops the walk
    position = values - lo
    position *= scale
    np.clip(position, 0, cells + 1, out=position)
    idx = below[position.astype(np.intp)]
    for _ in range(crowd):
        idx += values >= sentinel[idx]
    return idx


@dataclass(frozen=True, eq=False)
class NumericSummary:
    """Count, nulls, extremes, moments and a fixed-edge histogram of a numeric column.

    Bin ``i`` holds values ``v`` with ``edges[i-1] <= v < edges[i]`` (``edges[-1] = -inf`` and
    ``edges[len] = +inf``), so there are ``len(edges) + 1`` bins. ``total`` and ``m2`` (sum of
    squared deviations from the mean) are merged with Chan's parallel formula rather than kept as
    a raw sum of squares, which loses all precision when the mean is large against the spread.
    ``below_range``/``above_range`` count values outside the data contract's ``[min, max]``.
    """

    edges: FloatArray
    counts: IntArray
    bin_sums: FloatArray
    count: int
    null_count: int
    minimum: float | None
    maximum: float | None
    total: float
    m2: float
    valid_range: tuple[float | None, float | None] = (None, None)
    below_range: int = 0
    above_range: int = 0
    kind: Kind = field(default="numeric", init=False)

    def __post_init__(self) -> None:
        bins = self.edges.size + 1
        if self.counts.shape != (bins,) or self.bin_sums.shape != (bins,):
            raise ValueError(f"a summary over {self.edges.size} edges needs {bins} bins")

    @classmethod
    def empty(
        cls, edges: FloatArray, valid_range: tuple[float | None, float | None] = (None, None)
    ) -> NumericSummary:
        bins = edges.size + 1
        return cls(
            edges=edges,
            counts=np.zeros(bins, dtype=np.int64),
            bin_sums=np.zeros(bins, dtype=np.float64),
            count=0,
            null_count=0,
            minimum=None,
            maximum=None,
            total=0.0,
            m2=0.0,
            valid_range=valid_range,
        )

    @classmethod
    def from_series(
        cls,
        values: pl.Series | npt.ArrayLike,
        edges: FloatArray,
        valid_range: tuple[float | None, float | None] = (None, None),
    ) -> NumericSummary:
        """Summarise one batch of a column on the given edges (vectorised: :func:`bin_indices`,
        then ``bincount``)."""
        x = _as_float_array(values)
        finite = np.isfinite(x)
        n = int(np.count_nonzero(finite))
        nulls = x.size - n
        if n < x.size:
            x = x[finite]
        if n == 0:
            return replace(cls.empty(edges, valid_range), null_count=nulls)
        bins = edges.size + 1
        idx = bin_indices(edges, x)
        total = float(np.sum(x))
        deviations = x - total / n
        lo, hi = valid_range
        return cls(
            edges=edges,
            counts=np.bincount(idx, minlength=bins).astype(np.int64, copy=False),
            bin_sums=np.bincount(idx, weights=x, minlength=bins).astype(np.float64, copy=False),
            count=n,
            null_count=nulls,
            minimum=float(np.min(x)),
            maximum=float(np.max(x)),
            total=total,
            m2=float(np.dot(deviations, deviations)),
            valid_range=valid_range,
            below_range=0 if lo is None else int(np.count_nonzero(x < lo)),
            above_range=0 if hi is None else int(np.count_nonzero(x > hi)),
        )

    @property
    def rows(self) -> int:
        return self.count + self.null_count

    @property
    def mean(self) -> float | NotComputable:
        if self.count == 0:
            return NotComputable("no non-null values")
        return self.total / self.count

    @property
    def std(self) -> float | NotComputable:
        """Population standard deviation (``ddof=0``, as ``numpy.std``)."""
        if self.count == 0:
            return NotComputable("no non-null values")
        return float(np.sqrt(max(self.m2, 0.0) / self.count))

    def merge(self, other: NumericSummary) -> NumericSummary:
        """The summary of both batches together. Both must share edges and contract range."""
        if not np.array_equal(self.edges, other.edges):
            raise ValueError("cannot merge numeric summaries binned on different edges")
        if self.valid_range != other.valid_range:
            raise ValueError("cannot merge numeric summaries checked against different ranges")
        n = self.count + other.count
        if self.count == 0 or other.count == 0:
            m2 = self.m2 + other.m2
        else:
            delta = other.total / other.count - self.total / self.count
            m2 = self.m2 + other.m2 + delta * delta * self.count * other.count / n
        return NumericSummary(
            edges=self.edges,
            counts=self.counts + other.counts,
            bin_sums=self.bin_sums + other.bin_sums,
            count=n,
            null_count=self.null_count + other.null_count,
            minimum=_pick(min, self.minimum, other.minimum),
            maximum=_pick(max, self.maximum, other.maximum),
            total=self.total + other.total,
            m2=m2,
            valid_range=self.valid_range,
            below_range=self.below_range + other.below_range,
            above_range=self.above_range + other.above_range,
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict; floats survive ``json`` round trips exactly."""
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data.update((name, data[name].tolist()) for name in _ARRAYS)
        data["valid_range"] = list(self.valid_range)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> NumericSummary:
        arrays: dict[str, Any] = {n: np.asarray(data[n], dtype=t) for n, t in _ARRAYS.items()}
        scalars: dict[str, Any] = {name: data[name] for name in _SCALARS}
        lo, hi = data["valid_range"]
        return cls(**arrays, **scalars, valid_range=(lo, hi))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, NumericSummary):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]


_ARRAYS = {"edges": np.float64, "counts": np.int64, "bin_sums": np.float64}
_SCALARS = (
    "count",
    "null_count",
    "minimum",
    "maximum",
    "total",
    "m2",
    "below_range",
    "above_range",
)


def _pick(choose: Any, a: float | None, b: float | None) -> float | None:
    if a is None:
        return b
    if b is None:
        return a
    return float(choose(a, b))


def _stable_hash(value: str) -> int:
    # Python's hash() is salted per process; summaries must agree across processes and engines.
    return int.from_bytes(hashlib.blake2b(value.encode(), digest_size=8).digest(), "big")


def _cap(
    counts: dict[str, int], known: frozenset[str] | None, cap: int
) -> tuple[dict[str, int], int]:
    """Keep known values and the ``cap`` others with the smallest stable hash; count the rest."""
    others = [v for v in counts if known is None or v not in known]
    if len(others) <= cap:
        return counts, 0
    dropped = sorted(others, key=lambda v: (_stable_hash(v), v))[cap:]
    kept = dict(counts)
    folded = sum(kept.pop(v) for v in dropped)
    return kept, folded


@dataclass(frozen=True)
class CategoricalSummary:
    """Counts per category value, nulls apart, against the reference's known categories.

    ``known`` is the reference's set of categories (``None`` for a reference summary itself);
    values outside it are counted in ``unseen_count``. ``unseen_count`` is exact when the
    reference kept all its categories (its ``other_count`` is 0) and an upper bound otherwise.
    """

    counts: dict[str, int]
    null_count: int = 0
    other_count: int = 0
    unseen_count: int = 0
    known: frozenset[str] | None = None
    cap: int = DEFAULT_CAP
    kind: Kind = field(default="categorical", init=False)

    @classmethod
    def from_series(
        cls,
        values: pl.Series | Iterable[Any],
        known: Iterable[str] | None = None,
        cap: int = DEFAULT_CAP,
    ) -> CategoricalSummary:
        """Summarise one batch; values are compared as strings (``True`` becomes ``"true"``)."""
        series = values if isinstance(values, pl.Series) else pl.Series(list(values))
        nulls = series.null_count()
        tally = series.drop_nulls().value_counts()
        keys = tally.to_series(0).cast(pl.String).to_list()
        raw = dict(zip(keys, tally.to_series(1).to_list(), strict=True))
        known_set = None if known is None else frozenset(known)
        unseen = 0 if known_set is None else sum(n for v, n in raw.items() if v not in known_set)
        kept, folded = _cap(raw, known_set, cap)
        return cls(kept, nulls, folded, unseen, known_set, cap)

    @property
    def count(self) -> int:
        """Non-null values."""
        return sum(self.counts.values()) + self.other_count

    @property
    def rows(self) -> int:
        return self.count + self.null_count

    @property
    def categories(self) -> frozenset[str]:
        """The values this summary counts individually (what a current window is checked
        against when this is the reference)."""
        return frozenset(self.counts)

    def merge(self, other: CategoricalSummary) -> CategoricalSummary:
        if self.known != other.known or self.cap != other.cap:
            raise ValueError("cannot merge categorical summaries with different known sets or caps")
        counts = dict(self.counts)
        for value, n in other.counts.items():
            counts[value] = counts.get(value, 0) + n
        kept, folded = _cap(counts, self.known, self.cap)
        return CategoricalSummary(
            counts=kept,
            null_count=self.null_count + other.null_count,
            other_count=self.other_count + other.other_count + folded,
            unseen_count=self.unseen_count + other.unseen_count,
            known=self.known,
            cap=self.cap,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": "categorical",
            "counts": dict(sorted(self.counts.items())),
            "null_count": self.null_count,
            "other_count": self.other_count,
            "unseen_count": self.unseen_count,
            "known": None if self.known is None else sorted(self.known),
            "cap": self.cap,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CategoricalSummary:
        known = data.get("known")
        return cls(
            counts={str(k): int(v) for k, v in data["counts"].items()},
            null_count=int(data["null_count"]),
            other_count=int(data["other_count"]),
            unseen_count=int(data["unseen_count"]),
            known=None if known is None else frozenset(known),
            cap=int(data["cap"]),
        )


ColumnSummary: TypeAlias = NumericSummary | CategoricalSummary


def summary_from_dict(data: Mapping[str, Any]) -> ColumnSummary:
    """Rebuild either kind of summary from :meth:`to_dict` output."""
    if data.get("kind") == "numeric":
        return NumericSummary.from_dict(data)
    if data.get("kind") == "categorical":
        return CategoricalSummary.from_dict(data)
    raise ValueError(f"not a column summary: kind={data.get('kind')!r}")


def summarise_reference(
    values: pl.Series,
    kind: Kind,
    *,
    bins: int = DEFAULT_BINS,
    valid_range: tuple[float | None, float | None] = (None, None),
    cap: int = DEFAULT_CAP,
) -> ColumnSummary:
    """Summarise a reference column, choosing its fixed edges (numeric) on the way."""
    if kind == "numeric":
        x = _as_float_array(values)  # once, for the edges and the counts
        return NumericSummary.from_series(x, reference_edges(x, bins), valid_range)
    return CategoricalSummary.from_series(values, known=None, cap=cap)


def summarise_like(reference: ColumnSummary, values: pl.Series) -> ColumnSummary:
    """Summarise a current batch so that it is comparable with (and mergeable into windows
    judged against) ``reference``: same edges and range, or checked against its categories."""
    if isinstance(reference, NumericSummary):
        return NumericSummary.from_series(values, reference.edges, reference.valid_range)
    return CategoricalSummary.from_series(values, known=reference.categories, cap=reference.cap)


def merge_all(summaries: Iterable[ColumnSummary]) -> ColumnSummary:
    """Merge the summaries of a window's batches (at least one)."""
    items = iter(summaries)
    try:
        result = next(items)
    except StopIteration:
        raise ValueError("merge_all needs at least one summary") from None
    for item in items:
        result = _merge_pair(result, item)
    return result


def _merge_pair(a: ColumnSummary, b: ColumnSummary) -> ColumnSummary:
    if isinstance(a, NumericSummary) and isinstance(b, NumericSummary):
        return a.merge(b)
    if isinstance(a, CategoricalSummary) and isinstance(b, CategoricalSummary):
        return a.merge(b)
    raise ValueError("cannot merge a numeric summary with a categorical one")
