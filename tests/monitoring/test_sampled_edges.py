"""Reference edges placed on a sample (``EDGE_SAMPLE``) when the reference is large: their rank
error, and drift values against ones computed independently on the raw values (NumPy, SciPy)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from charter.engines.summaries import EDGE_SAMPLE, NumericSummary, reference_edges
from charter.monitoring.drift import Measurement, kolmogorov_smirnov, psi, wasserstein

ROWS = 2 * EDGE_SAMPLE + 100_001  # large enough to be sampled


@pytest.fixture(scope="module")
def reference() -> np.ndarray:
    rng = np.random.default_rng(11)
    values = rng.lognormal(0.0, 1.0, ROWS)
    values[rng.random(ROWS) < 0.01] = np.nan
    return values


def measured(outcome: object) -> float:
    assert isinstance(outcome, Measurement), outcome
    return outcome.value


def _ranks(edges: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Fraction of the finite reference values below each edge, by a full sort."""
    finite = np.sort(values[np.isfinite(values)])
    return np.searchsorted(finite, edges, side="left") / finite.size


def test_sampled_edges_are_within_half_a_percent_of_rank_of_their_quantiles(
    reference: np.ndarray,
) -> None:
    edges = reference_edges(reference)
    finite = reference[np.isfinite(reference)]

    assert edges.size == 1001  # continuous values: no ties collapsed
    assert edges[0] == finite.min()
    assert edges[-1] == np.nextafter(finite.max(), np.inf)
    error = np.abs(_ranks(edges[1:-1], reference) - np.arange(1, 1000) / 1000)
    assert error.max() <= 0.005  # EDGE_SAMPLE's stated bound
    assert np.median(error) <= 0.002  # typically about one fine bin


def test_sampled_edges_are_the_same_every_time(reference: np.ndarray) -> None:
    assert np.array_equal(reference_edges(reference), reference_edges(reference.copy()))


def test_a_reference_up_to_twice_the_sample_gets_exact_quantiles() -> None:
    values = np.random.default_rng(3).normal(0.0, 1.0, 2 * EDGE_SAMPLE)
    ordered = np.sort(values)
    positions = (np.arange(1, 1000) * (values.size - 1)) // 1000
    assert np.array_equal(reference_edges(values)[1:-1], ordered[positions])


def test_every_fine_bin_holds_about_a_thousandth_of_the_reference(
    reference: np.ndarray,
) -> None:
    summary = NumericSummary.from_series(reference, reference_edges(reference))
    share = summary.counts[1:-1] / summary.count

    assert summary.counts[0] == summary.counts[-1] == 0
    assert share.max() <= 0.0015  # KS from the grid is within this of the raw statistic


def test_drift_on_sampled_edges_agrees_with_the_raw_values(reference: np.ndarray) -> None:
    rng = np.random.default_rng(12)
    current = rng.lognormal(0.1, 1.1, 400_000)
    edges = reference_edges(reference)
    ref = NumericSummary.from_series(reference, edges)
    cur = NumericSummary.from_series(current, edges)
    raw = reference[np.isfinite(reference)]

    exact_d = stats.ks_2samp(raw, current, method="asymp").statistic
    assert measured(kolmogorov_smirnov(ref, cur)) == pytest.approx(exact_d, abs=0.0015)
    exact_w = stats.wasserstein_distance(raw, current) / np.std(raw)
    assert measured(wasserstein(ref, cur)) == pytest.approx(exact_w, rel=2e-3)

    # PSI on exact reference deciles, written directly; the sampled deciles move its value
    # by far less than the 0.1 between levels
    deciles = np.quantile(raw, np.linspace(0, 1, 11)[1:-1])
    p = np.bincount(np.searchsorted(deciles, raw, side="right"), minlength=10) / raw.size
    q = np.bincount(np.searchsorted(deciles, current, side="right"), minlength=10) / current.size
    exact_psi = float(np.sum((q - p) * np.log(q / p)))
    assert measured(psi(ref, cur)) == pytest.approx(exact_psi, rel=0.02)


def test_drift_of_a_sample_of_the_reference_itself_stays_near_zero(reference: np.ndarray) -> None:
    edges = reference_edges(reference)
    ref = NumericSummary.from_series(reference, edges)
    same = NumericSummary.from_series(np.random.default_rng(13).choice(reference, 300_000), edges)
    assert measured(psi(ref, same)) < 0.001
    assert measured(kolmogorov_smirnov(ref, same)) < 0.005
