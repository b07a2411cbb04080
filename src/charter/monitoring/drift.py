"""Drift of a column: a current window's summary against the reference's, judged pass/warn/breach.

Every method is a function of two summaries from :mod:`charter.engines.summaries`, never of raw rows, so a
window's drift is recomputed from stored batch summaries. Methods and where they apply:

============== =========== =========================================== ============ ==========
method         columns     value judged (higher = more drift)          warn         breach
============== =========== =========================================== ============ ==========
psi            both        population stability index, 10 bins        0.1          0.25
ks             numeric     Kolmogorov–Smirnov statistic D              0.1          0.2
wasserstein    numeric     W1 distance / reference standard deviation  0.1          0.2
jensen_shannon both        Jensen–Shannon distance, base 2, 10 bins    0.1          0.2
chi2           categorical Cramér's V of the chi-squared test          0.1          0.2
============== =========== =========================================== ============ ==========

The default (``auto``, the charter's ``drift.method`` when it names none) is chosen per column
kind and is aware of the sample size: an effect size that must be both large enough to matter
and statistically real.

=========== ======================================= ===== ====== =========================
columns     value judged                            warn  breach only when (significance)
=========== ======================================= ===== ====== =========================
numeric     wasserstein: W1 / reference std         0.05  0.1    KS p-value < 0.01
categorical jensen_shannon: JS distance, base 2     0.05  0.1    chi-squared p-value < 0.01
=========== ======================================= ===== ====== =========================

A shift whose two-sample test's p-value is not below ``significance`` passes, whatever its
effect size: on small windows sampling noise alone gives effect sizes past the levels. On large
windows every difference is "significant", and the effect-size levels keep trivial shifts from
being flagged. ``benchmarks/drift_defaults.py`` measured the choice (docs/monitoring-statistics.md).
A named method keeps its levels and has no significance gate unless one is asked for. Tests with
a p-value (ks, chi2), when named, are judged on their **effect size** (D, Cramér's V), not on
the p-value; the p-value is still reported.

Binning, and how far each number is from its raw-sample value:

- Numeric summaries share a fine grid of ~1000 reference-quantile bins. **KS** is the largest
  CDF gap over the grid's edges; the true statistic lies in ``[D, D + m]`` where ``m`` is the
  largest probability mass of any single bin on either side (reported as ``max_bin_mass``).
  Its p-value is the asymptotic two-sample one (as ``scipy.stats.ks_2samp(method="asymp")``).
- **Wasserstein** replaces each bin by the mean of the values in it (from the per-bin sums)
  and integrates ``|F - G|`` exactly between those discrete distributions. Replacing the values
  of a bin of width ``w`` by their mean moves them by ``w/2`` at most on average, so the true W1
  is within ``sum(p_i w_i)/2 + sum(q_i w_i)/2`` (bins clipped to each side's [min, max];
  reported as ``bound``).
- **PSI** and **Jensen–Shannon** on numeric columns regroup the fine bins into ``bins`` (default
  10) groups of equal reference mass: on 1000 bins their sampling noise grows with the bin count
  and a small window would look drifted. Empty cells in PSI are set to ``PSI_EPSILON`` (1e-4,
  the usual convention) on both sides, so a cell that is empty in one sample adds a large but
  finite term instead of infinity.
- Categorical methods compare the union of both sides' categories plus one cell for values
  folded by the size cap. Nulls are left out of every drift method: the null fraction is a data
  quality number, not a distribution change.

A method that cannot be computed (an empty window, an all-null column, a method that does not
apply to the column's kind) gives a result with status ``not_computable`` and the reason.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from scipy import stats

from charter.engines.summaries import (
    CategoricalSummary,
    ColumnSummary,
    FloatArray,
    IntArray,
    Kind,
    NotComputable,
    NumericSummary,
)

Status = Literal["pass", "warn", "breach", "not_computable"]
MethodName = Literal["psi", "ks", "wasserstein", "jensen_shannon", "chi2"]

PSI_EPSILON = 1e-4
DEFAULT_COARSE_BINS = 10
# The fallback when a named method does not apply to a column's kind (ks on categories).
DEFAULT_METHOD: Mapping[Kind, MethodName] = {"numeric": "psi", "categorical": "psi"}


@dataclass(frozen=True)
class AutoChoice:
    """What ``auto`` judges for one column kind: an effect size, its levels, and the two-sample
    test whose p-value must be below the significance level for any flag."""

    method: MethodName
    warn: float
    breach: float
    test: MethodName


AUTO: Mapping[Kind, AutoChoice] = {
    "numeric": AutoChoice("wasserstein", 0.05, 0.1, "ks"),
    "categorical": AutoChoice("jensen_shannon", 0.05, 0.1, "chi2"),
}
DEFAULT_SIGNIFICANCE = 0.01
TESTS: Mapping[Kind, MethodName] = {kind: choice.test for kind, choice in AUTO.items()}


@dataclass(frozen=True)
class Measurement:
    """What a method computed: the judged ``value``, the raw ``statistic`` and its p-value."""

    value: float
    statistic: float
    p_value: float | None = None
    detail: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class DriftResult:
    """One method's verdict on one column: ``value >= breach`` is a breach, ``>= warn`` a warning.

    ``value`` is ``None`` only when ``status`` is ``not_computable``, and then ``reason`` says why.
    """

    method: MethodName
    status: Status
    warn: float
    breach: float
    value: float | None = None
    statistic: float | None = None
    p_value: float | None = None
    reason: str | None = None
    detail: Mapping[str, float] = field(default_factory=dict)
    # The significance gate, when one applied: ``p_value`` is then the test's (ks or chi2).
    significance: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """The same keys whatever the status; ``reason`` only when not computable."""
        body: dict[str, Any] = {
            "method": self.method,
            "status": self.status,
            "value": self.value,
            "statistic": self.statistic,
            "p_value": self.p_value,
            "warn": self.warn,
            "breach": self.breach,
            "significance": self.significance,
            "detail": dict(self.detail),
        }
        if self.reason is not None:
            body["reason"] = self.reason
        return body


# -- distributions shared by the methods ----------------------------------------------------
def _empty_reason(reference: ColumnSummary, current: ColumnSummary) -> NotComputable | None:
    if reference.count == 0:
        return NotComputable(f"the reference has no non-null values ({reference.rows} rows)")
    if current.rows == 0:
        return NotComputable("the current window has no rows")
    if current.count == 0:
        return NotComputable(f"all {current.rows} values of the current window are null")
    return None


def _numeric_pair(reference: NumericSummary, current: NumericSummary) -> None:
    if not np.array_equal(reference.edges, current.edges):
        raise ValueError("reference and current summaries must share their histogram edges")


def _regroup(ref: IntArray, cur: IntArray, bins: int) -> tuple[IntArray, IntArray]:
    """Merge consecutive fine bins into ``bins`` groups of (about) equal reference mass.

    A fine bin joins group ``floor(k * reference mass strictly below it)``, in exact integer
    arithmetic, so the groups are the reference's k-quantile bins; the empty outer bins join the
    first and last groups, as in the usual open-ended PSI deciles.
    """
    below = np.concatenate(([0], np.cumsum(ref)[:-1]))
    group = np.minimum((below * bins) // max(int(ref.sum()), 1), bins - 1)
    r = np.bincount(group, weights=ref, minlength=bins)
    c = np.bincount(group, weights=cur, minlength=bins)
    used = np.bincount(group, minlength=bins) > 0
    return r[used].astype(np.int64), c[used].astype(np.int64)


def _category_counts(
    reference: CategoricalSummary, current: CategoricalSummary
) -> tuple[IntArray, IntArray]:
    keys = sorted(set(reference.counts) | set(current.counts))
    ref = [reference.counts.get(k, 0) for k in keys] + [reference.other_count]
    cur = [current.counts.get(k, 0) for k in keys] + [current.other_count]
    return np.asarray(ref, dtype=np.int64), np.asarray(cur, dtype=np.int64)


def _histograms(
    reference: ColumnSummary, current: ColumnSummary, bins: int | None
) -> tuple[IntArray, IntArray]:
    if isinstance(reference, NumericSummary) and isinstance(current, NumericSummary):
        _numeric_pair(reference, current)
        if bins is None:
            return reference.counts, current.counts
        return _regroup(reference.counts, current.counts, bins)
    if isinstance(reference, CategoricalSummary) and isinstance(current, CategoricalSummary):
        return _category_counts(reference, current)
    raise ValueError("reference and current summaries are of different kinds")


# -- the methods -----------------------------------------------------------------------------
def psi(
    reference: ColumnSummary, current: ColumnSummary, bins: int | None = DEFAULT_COARSE_BINS
) -> Measurement | NotComputable:
    """Population stability index ``sum((q - p) * ln(q / p))`` over reference-quantile bins
    (numeric; ``bins=None`` uses the fine grid) or categories."""
    if (reason := _empty_reason(reference, current)) is not None:
        return reason
    ref, cur = _histograms(reference, current, bins)
    p = np.maximum(ref / ref.sum(), PSI_EPSILON)
    q = np.maximum(cur / cur.sum(), PSI_EPSILON)
    value = float(np.sum((q - p) * np.log(q / p)))
    return Measurement(value, value, detail={"bins": float(ref.size)})


def jensen_shannon(
    reference: ColumnSummary, current: ColumnSummary, bins: int | None = DEFAULT_COARSE_BINS
) -> Measurement | NotComputable:
    """Jensen–Shannon distance in base 2 (in [0, 1]), the square root of the divergence, as
    ``scipy.spatial.distance.jensenshannon(p, q, base=2)`` on the same binned distributions."""
    if (reason := _empty_reason(reference, current)) is not None:
        return reason
    ref, cur = _histograms(reference, current, bins)
    p = ref / ref.sum()
    q = cur / cur.sum()
    m = (p + q) / 2
    divergence = (_kl_bits(p, m) + _kl_bits(q, m)) / 2
    value = math.sqrt(min(max(divergence, 0.0), 1.0))
    return Measurement(value, value, detail={"bins": float(ref.size)})


def _kl_bits(p: FloatArray, m: FloatArray) -> float:
    mask = p > 0  # 0 * log(0 / m) is 0; m > 0 wherever p > 0
    return float(np.sum(p[mask] * np.log2(p[mask] / m[mask])))


def kolmogorov_smirnov(
    reference: ColumnSummary, current: ColumnSummary
) -> Measurement | NotComputable:
    """Two-sample KS statistic over the shared fine grid, with its asymptotic p-value."""
    if not (isinstance(reference, NumericSummary) and isinstance(current, NumericSummary)):
        return NotComputable("ks applies to numeric columns only")
    if (reason := _empty_reason(reference, current)) is not None:
        return reason
    _numeric_pair(reference, current)
    n, m = reference.count, current.count
    p = reference.counts / n
    q = current.counts / m
    gap = np.abs(np.cumsum(p) - np.cumsum(q))[:-1]
    d = float(gap.max()) if gap.size else 0.0
    effective = max(1, round(n * m / (n + m)))  # scipy's n for kstwo; 1 + 1 rows would give 0
    p_value = float(np.clip(stats.kstwo.sf(d, effective), 0.0, 1.0))
    bound = float(np.maximum(p, q).max())
    return Measurement(d, d, p_value, detail={"max_bin_mass": bound})


def wasserstein(reference: ColumnSummary, current: ColumnSummary) -> Measurement | NotComputable:
    """Earth mover's distance (W1) between the binned distributions, each bin at its mean.

    The judged value is W1 divided by the reference's standard deviation, so one threshold fits
    columns of any unit. For a constant reference the divisor is ``|reference value|`` (or 1 if
    that is 0), so a change of a constant still registers.
    """
    if not (isinstance(reference, NumericSummary) and isinstance(current, NumericSummary)):
        return NotComputable("wasserstein applies to numeric columns only")
    if (reason := _empty_reason(reference, current)) is not None:
        return reason
    _numeric_pair(reference, current)
    ref_at, ref_mass = _atoms(reference)
    cur_at, cur_mass = _atoms(current)
    at = np.concatenate((ref_at, cur_at))
    order = np.argsort(at, kind="stable")
    cdf_gap = np.cumsum(np.concatenate((ref_mass, -cur_mass))[order])[:-1]
    distance = float(np.sum(np.abs(cdf_gap) * np.diff(at[order])))
    std = reference.std
    assert isinstance(std, float)  # reference.count > 0 was checked above
    scale = std if std > 0 else (abs(reference.total / reference.count) or 1.0)
    bound = (_binning_error(reference) + _binning_error(current)) / 2
    # A subnormal scale (a constant reference of 1e-309) would overflow the ratio to inf:
    # saturate at the largest float, which is still judged a breach, never a silent inf.
    value = min(distance / scale, sys.float_info.max)
    return Measurement(value, distance, detail={"bound": bound, "scale": scale})


def _atoms(summary: NumericSummary) -> tuple[FloatArray, FloatArray]:
    filled = summary.counts > 0
    means = summary.bin_sums[filled] / summary.counts[filled]
    # Rounding can push a bin's mean a hair outside the column's range; clip it back.
    means = np.clip(means, summary.minimum, summary.maximum)
    return means, summary.counts[filled] / summary.count


def _binning_error(summary: NumericSummary) -> float:
    """``sum(p_i * w_i)`` with each bin's width clipped to the summary's [min, max]."""
    assert summary.minimum is not None and summary.maximum is not None
    lower = np.concatenate(([summary.minimum], summary.edges))
    upper = np.concatenate((summary.edges, [summary.maximum]))
    width = np.clip(upper, summary.minimum, summary.maximum) - np.clip(
        lower, summary.minimum, summary.maximum
    )
    return float(np.sum(summary.counts / summary.count * np.maximum(width, 0.0)))


def chi_squared(reference: ColumnSummary, current: ColumnSummary) -> Measurement | NotComputable:
    """Pearson's chi-squared test of homogeneity on the 2 × categories table (no Yates
    correction), judged on Cramér's V = sqrt(chi2 / n), which does not grow with sample size."""
    if not (isinstance(reference, CategoricalSummary) and isinstance(current, CategoricalSummary)):
        return NotComputable("chi2 applies to categorical columns only")
    if (reason := _empty_reason(reference, current)) is not None:
        return reason
    table = np.vstack(_category_counts(reference, current)).astype(np.float64)
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2:
        # One category on both sides: identical distributions, nothing to test.
        return Measurement(0.0, 0.0, 1.0, detail={"dof": 0.0})
    total = table.sum()
    expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / total
    statistic = float(np.sum((table - expected) ** 2 / expected))
    dof = table.shape[1] - 1
    p_value = float(stats.chi2.sf(statistic, dof))
    cramers_v = math.sqrt(statistic / total)
    return Measurement(cramers_v, statistic, p_value, detail={"dof": float(dof)})


# -- judging -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Method:
    """A drift method: which column kinds it applies to and its default levels."""

    name: MethodName
    kinds: frozenset[Kind]
    warn: float
    breach: float
    compute: Callable[[ColumnSummary, ColumnSummary], Measurement | NotComputable]


_BOTH: frozenset[Kind] = frozenset({"numeric", "categorical"})
METHODS: Mapping[MethodName, Method] = {
    "psi": Method("psi", _BOTH, 0.1, 0.25, psi),
    "ks": Method("ks", frozenset({"numeric"}), 0.1, 0.2, kolmogorov_smirnov),
    "wasserstein": Method("wasserstein", frozenset({"numeric"}), 0.1, 0.2, wasserstein),
    "jensen_shannon": Method("jensen_shannon", _BOTH, 0.1, 0.2, jensen_shannon),
    "chi2": Method("chi2", frozenset({"categorical"}), 0.1, 0.2, chi_squared),
}


def judge(value: float, warn: float, breach: float) -> Status:
    """``breach`` at or above ``breach``, ``warn`` at or above ``warn``, else ``pass``."""
    if value >= breach:
        return "breach"
    if value >= warn:
        return "warn"
    return "pass"


def measure_drift(
    reference: ColumnSummary,
    current: ColumnSummary,
    method: MethodName | Literal["auto"] | None = None,
    *,
    warn: float | None = None,
    breach: float | None = None,
    significance: float | None = None,
) -> DriftResult:
    """Drift of ``current`` against ``reference`` by ``method``, judged against ``warn``/``breach``.

    ``None`` or ``"auto"``: the kind's :data:`AUTO` choice, its levels and a significance gate at
    :data:`DEFAULT_SIGNIFICANCE`. A named method: its levels (the table above) and no gate.
    With a ``significance``, a value whose two-sample test (:data:`TESTS`) has a p-value at or
    above it passes whatever its size, and the result's ``p_value`` is the test's."""
    if reference.kind != current.kind:
        raise ValueError("reference and current summaries are of different kinds")
    if method is None or method == "auto":
        auto = AUTO[reference.kind]
        chosen = METHODS[auto.method]
        default_warn, default_breach = auto.warn, auto.breach
        significance = DEFAULT_SIGNIFICANCE if significance is None else significance
    else:
        chosen = METHODS[method]
        default_warn, default_breach = chosen.warn, chosen.breach
    warn = default_warn if warn is None else warn
    breach = default_breach if breach is None else breach
    if breach < warn:
        raise ValueError(f"breach level {breach} is below warn level {warn}")
    if significance is not None and not 0 < significance < 1:
        raise ValueError(f"significance must be between 0 and 1, got {significance}")
    if reference.kind not in chosen.kinds:
        outcome: Measurement | NotComputable = NotComputable(
            f"{chosen.name} does not apply to {reference.kind} columns"
        )
    else:
        outcome = chosen.compute(reference, current)
    if isinstance(outcome, NotComputable):
        return DriftResult(
            chosen.name,
            "not_computable",
            warn,
            breach,
            reason=outcome.reason,
            significance=significance,
        )
    status = judge(outcome.value, warn, breach)
    p_value = outcome.p_value
    if significance is not None:
        p_value = _test_p_value(reference, current, chosen.name, outcome)
        if p_value >= significance:
            status = "pass"
    return DriftResult(
        method=chosen.name,
        status=status,
        warn=warn,
        breach=breach,
        value=outcome.value,
        statistic=outcome.statistic,
        p_value=p_value,
        detail=outcome.detail,
        significance=significance,
    )


def _test_p_value(
    reference: ColumnSummary, current: ColumnSummary, method: MethodName, outcome: Measurement
) -> float:
    """The p-value of the kind's two-sample test (the method's own when it is that test)."""
    test = TESTS[reference.kind]
    measured = outcome if method == test else METHODS[test].compute(reference, current)
    # Both tests are computable whenever the method was: they share _empty_reason.
    assert isinstance(measured, Measurement) and measured.p_value is not None
    return measured.p_value
