"""Column summaries: what they count, and that merging batches equals summarising the whole."""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from charter.engines.summaries import (
    CategoricalSummary,
    NumericSummary,
    bin_indices,
    merge_all,
    reference_edges,
    summarise_like,
    summarise_reference,
    summary_from_dict,
)

# -- numeric ---------------------------------------------------------------------------------


def test_reference_edges_bracket_the_reference_and_dedupe_ties() -> None:
    edges = reference_edges([3.0, 1.0, 2.0, 2.0, 2.0, np.nan], bins=4)
    assert edges.tolist() == [1.0, 2.0, np.nextafter(3.0, np.inf)]


def test_reference_edges_of_a_constant_column_separate_other_values() -> None:
    edges = reference_edges([5.0] * 10)
    summary = NumericSummary.from_series([4.0, 5.0, 5.0, 6.0], edges)
    # bins: below the reference, the constant itself, above the reference
    assert summary.counts.tolist() == [1, 2, 1]


def test_reference_edges_of_an_all_null_column_make_one_bin() -> None:
    edges = reference_edges(pl.Series([None, None], dtype=pl.Float64))
    assert edges.size == 0
    assert NumericSummary.from_series([1.0, 2.0], edges).counts.tolist() == [2]


def test_numeric_summary_counts_nulls_nan_and_infinities_as_null() -> None:
    values = pl.Series([1.0, None, float("nan"), float("inf"), 3.0, -float("inf")])
    summary = NumericSummary.from_series(values, np.array([0.0, 2.0, 4.0]))
    assert (summary.count, summary.null_count, summary.rows) == (2, 4, 6)
    assert summary.counts.tolist() == [0, 1, 1, 0]
    assert summary.bin_sums.tolist() == [0.0, 1.0, 3.0, 0.0]
    assert (summary.minimum, summary.maximum, summary.total) == (1.0, 3.0, 4.0)
    assert summary.mean == 2.0
    assert summary.std == 1.0


def test_a_value_equal_to_an_edge_falls_in_the_bin_it_opens() -> None:
    summary = NumericSummary.from_series([2.0], np.array([0.0, 2.0, 4.0]))
    assert summary.counts.tolist() == [0, 0, 1, 0]


def test_numeric_summary_counts_values_outside_the_contract_range() -> None:
    summary = NumericSummary.from_series(
        [-1.0, 0.0, 5.0, 5.5, 9.0], np.array([0.0]), valid_range=(0.0, 5.0)
    )
    assert (summary.below_range, summary.above_range) == (1, 2)


def test_an_empty_numeric_summary_has_no_mean() -> None:
    summary = NumericSummary.from_series(pl.Series([None], dtype=pl.Float64), np.array([0.0]))
    assert (summary.count, summary.null_count, summary.minimum) == (0, 1, None)
    assert summary.mean.reason == "no non-null values"  # type: ignore[union-attr]


def test_integer_and_boolean_series_are_numeric_but_strings_are_not() -> None:
    edges = np.array([0.5])
    assert NumericSummary.from_series(pl.Series([1, 0, 1]), edges).counts.tolist() == [1, 2]
    assert NumericSummary.from_series(pl.Series([True, False]), edges).counts.tolist() == [1, 1]
    with pytest.raises(TypeError, match="not numeric"):
        NumericSummary.from_series(pl.Series("city", ["a"]), edges)


def test_sum_of_squares_keeps_precision_when_the_mean_dwarfs_the_spread() -> None:
    values = 1e9 + np.array([0.0, 1.0, 2.0, 3.0])
    edges = reference_edges(values)
    merged = merge_all(NumericSummary.from_series(values[i : i + 1], edges) for i in range(4))
    assert isinstance(merged, NumericSummary)
    assert merged.std == pytest.approx(np.std(values), rel=1e-12)


def test_merging_summaries_on_different_edges_is_refused() -> None:
    a = NumericSummary.from_series([1.0], np.array([0.0]))
    b = NumericSummary.from_series([1.0], np.array([0.5]))
    with pytest.raises(ValueError, match="different edges"):
        a.merge(b)


@settings(max_examples=300, deadline=None)
@given(
    reference=st.lists(st.floats(-1e12, 1e12) | st.sampled_from([0.0, 1.0, 1e-300]), min_size=40),
    values=st.lists(st.floats(allow_nan=False, allow_infinity=False), max_size=200),
    bins=st.integers(min_value=32, max_value=2000),
)
def test_bin_indices_equal_a_binary_search_exactly(
    reference: list[float], values: list[float], bins: int
) -> None:
    edges = reference_edges(reference, bins=bins)
    x = np.asarray(values + reference, dtype=np.float64)
    expected = np.searchsorted(edges, x, side="right")
    assert bin_indices(edges, x).tolist() == expected.tolist()


def test_bin_indices_on_a_million_skewed_values_equal_a_binary_search() -> None:
    rng = np.random.default_rng(0)
    edges = reference_edges(rng.lognormal(2, 1, 100_000))
    x = rng.lognormal(2.2, 1.2, 1_000_000)
    assert np.array_equal(bin_indices(edges, x), np.searchsorted(edges, x, side="right"))


finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False)
maybe_null = st.one_of(finite, st.just(math.nan), st.just(math.inf), st.none())


@settings(max_examples=200, deadline=None)
@given(
    values=st.lists(maybe_null, min_size=0, max_size=200),
    reference=st.lists(finite, min_size=1, max_size=50),
    cuts=st.lists(st.integers(min_value=0, max_value=200), max_size=6),
    bins=st.integers(min_value=1, max_value=30),
)
def test_numeric_merge_of_any_split_equals_the_whole(
    values: list[float | None], reference: list[float], cuts: list[int], bins: int
) -> None:
    edges = reference_edges(reference, bins=bins)
    series = pl.Series(values, dtype=pl.Float64)
    whole = NumericSummary.from_series(series, edges, valid_range=(-10.0, 10.0))
    bounds = [0, *sorted(min(c, len(values)) for c in cuts), len(values)]
    parts = [
        NumericSummary.from_series(series[a:b], edges, valid_range=(-10.0, 10.0))
        for a, b in itertools.pairwise(bounds)
    ]
    merged = merge_all(reversed(parts))  # order does not matter either
    assert isinstance(merged, NumericSummary)
    assert merged.counts.tolist() == whole.counts.tolist()
    exact = ("count", "null_count", "minimum", "maximum", "below_range", "above_range")
    for name in exact:
        assert getattr(merged, name) == getattr(whole, name), name
    np.testing.assert_allclose(merged.bin_sums, whole.bin_sums, rtol=1e-9, atol=1e-6)
    assert merged.total == pytest.approx(whole.total, rel=1e-9, abs=1e-6)
    assert merged.m2 == pytest.approx(whole.m2, rel=1e-7, abs=1e-3)


@given(values=st.lists(maybe_null, max_size=50))
def test_numeric_summary_survives_a_json_round_trip_exactly(values: list[float | None]) -> None:
    summary = NumericSummary.from_series(
        pl.Series(values, dtype=pl.Float64), np.array([-1.5, 0.1, 7.0]), valid_range=(0.0, None)
    )
    assert summary_from_dict(json.loads(json.dumps(summary.to_dict()))) == summary


# -- categorical ---------------------------------------------------------------------------


def test_categorical_summary_counts_values_with_nulls_apart() -> None:
    summary = CategoricalSummary.from_series(pl.Series(["a", "b", None, "a"]))
    assert summary.counts == {"a": 2, "b": 1}
    assert (summary.null_count, summary.count, summary.rows) == (1, 3, 4)


def test_categorical_summary_counts_values_unseen_in_the_reference() -> None:
    reference = summarise_reference(pl.Series(["a", "b"]), "categorical")
    current = summarise_like(reference, pl.Series(["a", "z", "z", "y", None]))
    assert isinstance(current, CategoricalSummary)
    assert current.unseen_count == 3
    assert current.counts == {"a": 1, "z": 2, "y": 1}


def test_categorical_cap_folds_extra_values_into_other_but_keeps_known_ones() -> None:
    values = pl.Series([f"v{i}" for i in range(10)] * 2)
    summary = CategoricalSummary.from_series(values, known=["v7", "v8"], cap=3)
    assert summary.counts["v7"] == 2 and summary.counts["v8"] == 2
    assert len(summary.counts) == 5
    assert summary.other_count == 10
    assert summary.count == 20


def test_categorical_non_string_values_compare_as_strings() -> None:
    summary = CategoricalSummary.from_series(pl.Series([True, False, True]))
    assert summary.counts == {"true": 2, "false": 1}


alphabet = st.sampled_from([f"c{i}" for i in range(12)] + [None])


@settings(max_examples=200, deadline=None)
@given(
    values=st.lists(alphabet, max_size=120),
    cuts=st.lists(st.integers(min_value=0, max_value=120), max_size=6),
    known=st.one_of(st.none(), st.sets(st.sampled_from([f"c{i}" for i in range(12)]))),
    cap=st.integers(min_value=0, max_value=8),
)
def test_categorical_merge_of_any_split_equals_the_whole(
    values: list[str | None], cuts: list[int], known: set[str] | None, cap: int
) -> None:
    series = pl.Series(values, dtype=pl.String)
    whole = CategoricalSummary.from_series(series, known=known, cap=cap)
    bounds = [0, *sorted(min(c, len(values)) for c in cuts), len(values)]
    parts = [
        CategoricalSummary.from_series(series[a:b], known=known, cap=cap)
        for a, b in itertools.pairwise(bounds)
    ]
    assert merge_all(parts) == whole
    assert merge_all(reversed(parts)) == whole
    assert summary_from_dict(json.loads(json.dumps(whole.to_dict()))) == whole
