"""Drift methods: hand-computed values, agreement with SciPy, and defined results on bad input."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from scipy.spatial.distance import jensenshannon as scipy_jensenshannon

from charter.engines.summaries import (
    CategoricalSummary,
    NotComputable,
    NumericSummary,
    reference_edges,
    summarise_like,
    summarise_reference,
)
from charter.monitoring.drift import (
    METHODS,
    Measurement,
    chi_squared,
    jensen_shannon,
    judge,
    kolmogorov_smirnov,
    measure_drift,
    psi,
    wasserstein,
)


def categorical(counts: dict[str, int]) -> CategoricalSummary:
    return CategoricalSummary(counts=counts)


def numeric_pair(
    reference: np.ndarray, current: np.ndarray, bins: int = 1000
) -> tuple[NumericSummary, NumericSummary]:
    edges = reference_edges(reference, bins=bins)
    return NumericSummary.from_series(reference, edges), NumericSummary.from_series(current, edges)


def measured(outcome: Measurement | NotComputable) -> Measurement:
    assert isinstance(outcome, Measurement), outcome
    return outcome


# -- hand-computed values --------------------------------------------------------------------


def test_psi_of_a_half_half_split_moving_to_a_quarter() -> None:
    # (0.25 - 0.5) ln(0.25 / 0.5) + (0.75 - 0.5) ln(0.75 / 0.5) = (ln 2 + ln 1.5) / 4 = ln(3) / 4
    result = measured(psi(categorical({"a": 2, "b": 2}), categorical({"a": 1, "b": 3})))
    assert result.value == pytest.approx(0.27465307216702745, abs=1e-12)


def test_psi_uses_the_epsilon_for_a_category_missing_from_the_reference() -> None:
    # p = (1, 1e-4), q = (0.5, 0.5): (0.5 - 1) ln 0.5 + (0.5 - 1e-4) ln(0.5 / 1e-4)
    result = measured(psi(categorical({"a": 4}), categorical({"a": 2, "b": 2})))
    expected = -0.5 * math.log(0.5) + (0.5 - 1e-4) * math.log(0.5 / 1e-4)
    assert result.value == pytest.approx(expected, abs=1e-12)
    assert result.value == pytest.approx(4.6043, abs=1e-4)


def test_jensen_shannon_of_a_certain_and_a_fair_coin() -> None:
    # p = (1, 0), q = (1/2, 1/2), m = (3/4, 1/4): JSD = 3/2 - (3/4) log2(3), distance = sqrt(JSD)
    result = measured(jensen_shannon(categorical({"a": 4}), categorical({"a": 2, "b": 2})))
    assert result.value == pytest.approx(0.5579230452841439, abs=1e-12)


def test_jensen_shannon_of_disjoint_distributions_is_one() -> None:
    result = measured(jensen_shannon(categorical({"a": 3}), categorical({"b": 5})))
    assert result.value == pytest.approx(1.0, abs=1e-12)


def test_identical_distributions_have_zero_drift_by_every_method() -> None:
    values = np.arange(100, dtype=np.float64)
    ref, cur = numeric_pair(values, values[::-1].copy())
    for method in ("psi", "ks", "wasserstein", "jensen_shannon"):
        result = measure_drift(ref, cur, method)
        assert (result.value, result.status) == (0.0, "pass"), method
    cat = categorical({"a": 5, "b": 5})
    assert measure_drift(cat, cat, "chi2").value == 0.0


# -- agreement with SciPy on raw samples -------------------------------------------------------

SAMPLES = [(2_000, 0.0, 1.0), (20_000, 0.1, 1.2), (200_000, 0.3, 0.8)]


@pytest.mark.parametrize(("n", "shift", "scale"), SAMPLES)
def test_ks_statistic_is_within_the_largest_bin_mass_of_scipy(
    n: int, shift: float, scale: float
) -> None:
    rng = np.random.default_rng(n)
    a, b = rng.normal(size=n), rng.normal(shift, scale, size=n // 2)
    result = measured(kolmogorov_smirnov(*numeric_pair(a, b)))
    exact = stats.ks_2samp(a, b, method="asymp").statistic
    # The grid's edges are a subset of the points scipy checks, so D can only be smaller, and
    # by at most the mass of one bin; with 1000 bins that is a few thousandths.
    assert exact - result.detail["max_bin_mass"] <= result.value <= exact + 1e-12
    assert result.detail["max_bin_mass"] < 0.01
    assert result.value == pytest.approx(exact, abs=0.002)


def test_ks_is_exact_when_every_value_is_an_edge() -> None:
    rng = np.random.default_rng(7)
    a = rng.integers(0, 50, size=30_000).astype(np.float64)
    b = rng.integers(2, 52, size=20_000).astype(np.float64)
    result = measured(kolmogorov_smirnov(*numeric_pair(a, b)))
    exact = stats.ks_2samp(a, b, method="asymp")
    assert result.value == pytest.approx(exact.statistic, abs=1e-12)
    assert result.p_value == pytest.approx(exact.pvalue, rel=1e-9, abs=1e-300)


@pytest.mark.parametrize(("n", "shift", "scale"), SAMPLES)
def test_wasserstein_is_within_its_binning_bound_of_scipy(
    n: int, shift: float, scale: float
) -> None:
    rng = np.random.default_rng(n + 1)
    a, b = rng.normal(size=n), rng.normal(shift, scale, size=n // 2)
    result = measured(wasserstein(*numeric_pair(a, b)))
    exact = stats.wasserstein_distance(a, b)
    assert abs(result.statistic - exact) <= result.detail["bound"]
    # The bound is loose (tail bins are wide); bin means make the real error far smaller:
    # observed up to ~0.2% with these samples, asserted at 0.5%.
    assert result.statistic == pytest.approx(exact, rel=5e-3)
    assert result.value == pytest.approx(result.statistic / np.std(a), rel=1e-9)


def test_jensen_shannon_on_the_fine_grid_matches_scipy() -> None:
    rng = np.random.default_rng(3)
    ref, cur = numeric_pair(rng.normal(size=5_000), rng.normal(0.4, 1, size=3_000), bins=50)
    result = measured(jensen_shannon(ref, cur, bins=None))
    assert result.value == pytest.approx(
        scipy_jensenshannon(ref.counts, cur.counts, base=2), abs=1e-12
    )


def test_chi_squared_matches_scipy_without_continuity_correction() -> None:
    reference = categorical({"a": 50, "b": 30, "c": 20})
    current = CategoricalSummary(counts={"a": 40, "b": 30, "c": 25, "new": 5}, other_count=2)
    result = measured(chi_squared(reference, current))
    table = [[50, 30, 20, 0, 0], [40, 30, 25, 5, 2]]
    expected = stats.chi2_contingency(table, correction=False)
    assert result.statistic == pytest.approx(expected.statistic, rel=1e-12)
    assert result.p_value == pytest.approx(expected.pvalue, rel=1e-9)
    assert result.value == pytest.approx(math.sqrt(expected.statistic / 202), rel=1e-12)


# -- default methods flag real shifts and only them ----------------------------------------------


@pytest.mark.parametrize(
    ("shift", "expected", "status"),
    # PSI of a normal shifted by `shift` sigmas, on its own deciles: sum (q - 0.1) ln(10 q)
    # with q = Phi(d_{i+1} - shift) - Phi(d_i - shift), d_i the normal deciles.
    [(0.0, 0.0, "pass"), (0.3, 0.08606, "pass"), (0.5, 0.23775, "warn"), (0.7, 0.46214, "breach")],
)
def test_psi_of_a_mean_shift_matches_its_theoretical_value(
    shift: float, expected: float, status: str
) -> None:
    rng = np.random.default_rng(11)
    reference = summarise_reference(pl.Series(rng.normal(size=1_000_000)), "numeric")
    current = summarise_like(reference, pl.Series(rng.normal(shift, 1, size=1_000_000)))
    result = measure_drift(reference, current, "psi")
    assert (result.method, result.status) == ("psi", status)
    # the sampling standard deviation of PSI at this size is about 0.002 (seen over seeds)
    assert result.value == pytest.approx(expected, abs=0.01)


def test_psi_regrouped_from_the_fine_grid_equals_psi_on_the_sample_deciles() -> None:
    rng = np.random.default_rng(2)
    a, b = rng.normal(size=200_000), rng.normal(0.5, 1, size=200_000)
    deciles = np.quantile(a, np.linspace(0, 1, 11)[1:-1])
    p = np.bincount(np.searchsorted(deciles, a), minlength=10) / a.size
    q = np.bincount(np.searchsorted(deciles, b), minlength=10) / b.size
    direct = float(np.sum((q - p) * np.log(q / p)))
    # group boundaries sit on the fine edge next to each decile: off by at most one fine bin
    assert measured(psi(*numeric_pair(a, b))).value == pytest.approx(direct, abs=1e-3)


def test_a_small_window_on_a_fine_grid_would_look_drifted_but_default_bins_do_not() -> None:
    rng = np.random.default_rng(5)
    reference = summarise_reference(pl.Series(rng.normal(size=200_000)), "numeric")
    small = summarise_like(reference, pl.Series(rng.normal(size=2_000)))
    assert measured(psi(reference, small, bins=None)).value > 0.25
    assert measure_drift(reference, small, "psi").status == "pass"
    assert measure_drift(reference, small, "jensen_shannon").status == "pass"


def test_a_constant_that_changes_value_is_a_breach() -> None:
    reference = summarise_reference(pl.Series([3.0] * 100), "numeric")
    same = summarise_like(reference, pl.Series([3.0] * 50))
    moved = summarise_like(reference, pl.Series([4.0] * 50))
    for method in ("psi", "ks", "wasserstein", "jensen_shannon"):
        assert measure_drift(reference, same, method).status == "pass", method
        assert measure_drift(reference, moved, method).status == "breach", method
    assert measured(wasserstein(reference, moved)).value == pytest.approx(1 / 3)


# -- judging and bad input -------------------------------------------------------------------------


def test_judge_applies_warn_and_breach_inclusively() -> None:
    assert [judge(v, 0.1, 0.25) for v in (0.0, 0.1, 0.2, 0.25, 3.0)] == [
        "pass",
        "warn",
        "warn",
        "breach",
        "breach",
    ]


def test_caller_levels_override_the_method_defaults() -> None:
    result = measure_drift(
        categorical({"a": 2, "b": 2}), categorical({"a": 1, "b": 3}), warn=0.3, breach=0.5
    )
    assert (result.status, result.warn, result.breach) == ("pass", 0.3, 0.5)
    with pytest.raises(ValueError, match="below warn"):
        measure_drift(categorical({"a": 1}), categorical({"a": 1}), warn=0.3, breach=0.2)


def test_default_levels_are_the_documented_ones() -> None:
    levels = {name: (m.warn, m.breach) for name, m in METHODS.items()}
    assert levels == {
        "psi": (0.1, 0.25),
        "ks": (0.1, 0.2),
        "wasserstein": (0.1, 0.2),
        "jensen_shannon": (0.1, 0.2),
        "chi2": (0.1, 0.2),
    }


def test_bad_windows_are_not_computable_with_a_reason() -> None:
    edges = np.array([0.0, 1.0])
    reference = NumericSummary.from_series([0.5, 0.7], edges)
    empty = NumericSummary.from_series([], edges)
    all_null = NumericSummary.from_series([np.nan, np.nan], edges)
    cases = {
        "the current window has no rows": (reference, empty),
        "all 2 values of the current window are null": (reference, all_null),
        "the reference has no non-null values (2 rows)": (all_null, reference),
    }
    for reason, (ref, cur) in cases.items():
        for method in ("psi", "ks", "wasserstein", "jensen_shannon"):
            result = measure_drift(ref, cur, method)
            assert (result.status, result.reason, result.value) == ("not_computable", reason, None)
            assert result.to_dict()["reason"] == reason
            assert result.to_dict()["value"] is None


def test_methods_for_the_other_kind_are_not_computable() -> None:
    cat = categorical({"a": 1})
    num = NumericSummary.from_series([1.0], np.array([0.0]))
    assert measure_drift(cat, cat, "ks").reason == "ks does not apply to categorical columns"
    assert measure_drift(num, num, "chi2").reason == "chi2 does not apply to numeric columns"


@settings(max_examples=100, deadline=None)
@given(
    reference=st.lists(st.floats(-1e3, 1e3) | st.none(), max_size=40),
    current=st.lists(st.floats(-1e3, 1e3) | st.none(), max_size=40),
)
def test_numeric_drift_is_never_a_silent_nan(
    reference: list[float | None], current: list[float | None]
) -> None:
    ref = summarise_reference(pl.Series(reference, dtype=pl.Float64), "numeric", bins=8)
    cur = summarise_like(ref, pl.Series(current, dtype=pl.Float64))
    for method in ("psi", "ks", "wasserstein", "jensen_shannon"):
        result = measure_drift(ref, cur, method)
        if result.status == "not_computable":
            assert result.reason
        else:
            assert result.value is not None and math.isfinite(result.value), result
            assert result.p_value is None or 0.0 <= result.p_value <= 1.0
