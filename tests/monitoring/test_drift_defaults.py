"""The default drift judgement ('auto'): its numbers against SciPy, its gate, and what it flags."""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl
import pytest
from pydantic import ValidationError
from scipy import stats
from scipy.spatial.distance import jensenshannon as scipy_jensenshannon

from charter.engines.summaries import (
    CategoricalSummary,
    ColumnSummary,
    NumericSummary,
    reference_edges,
    summarise_like,
    summarise_reference,
)
from charter.monitoring.drift import AUTO, DEFAULT_SIGNIFICANCE, measure_drift
from charter.monitoring.evaluation import column_drift
from charter.spec.model import AUTO_DRIFT_LEVELS, AUTO_SIGNIFICANCE, DriftPolicy

CATEGORIES = np.array(["a", "b", "c", "d", "e", "f"])
CATEGORY_P = np.array([0.35, 0.25, 0.15, 0.12, 0.08, 0.05])


def numeric_pair(a: np.ndarray, b: np.ndarray) -> tuple[NumericSummary, NumericSummary]:
    edges = reference_edges(a)
    return NumericSummary.from_series(a, edges), NumericSummary.from_series(b, edges)


def judged(reference: ColumnSummary, current: ColumnSummary, policy: DriftPolicy) -> dict[str, Any]:
    methods = column_drift(reference, current, policy)
    (name,) = [n for n, m in methods.items() if m["judged"]]
    return {"method": name, **methods[name]}


def normal_pair(
    n: int, shift: float, scale: float, seed: int
) -> tuple[ColumnSummary, ColumnSummary]:
    rng = np.random.default_rng(seed)
    reference = summarise_reference(pl.Series(rng.normal(size=n)), "numeric")
    current = summarise_like(reference, pl.Series(rng.normal(shift, scale, size=n)))
    return reference, current


def category_pair(n: int, moved: float, seed: int) -> tuple[ColumnSummary, ColumnSummary]:
    rng = np.random.default_rng(seed)
    q = CATEGORY_P.copy()
    q[0] -= moved
    q[4:] += moved / 2
    reference = summarise_reference(
        pl.Series(rng.choice(CATEGORIES, n, p=CATEGORY_P)), "categorical"
    )
    current = summarise_like(reference, pl.Series(rng.choice(CATEGORIES, n, p=q)))
    return reference, current


# -- the numbers, against SciPy ------------------------------------------------------------------


def test_auto_numeric_is_wasserstein_over_std_with_the_ks_p_value() -> None:
    rng = np.random.default_rng(21)
    # integers: every value is an edge, so the binned KS statistic and p-value are exact
    a = rng.integers(0, 40, size=20_000).astype(np.float64)
    b = rng.integers(1, 41, size=15_000).astype(np.float64)
    result = measure_drift(*numeric_pair(a, b))
    assert (result.method, result.significance) == ("wasserstein", DEFAULT_SIGNIFICANCE)
    assert result.value == pytest.approx(stats.wasserstein_distance(a, b) / np.std(a), rel=1e-9)
    assert result.p_value == pytest.approx(
        stats.ks_2samp(a, b, method="asymp").pvalue, rel=1e-9, abs=1e-300
    )
    # the values moved up by one (W1 ~0.93 as 0 and 40 differ in mass), std ~11.5: W1/std ~0.08
    assert result.value == pytest.approx(0.080, abs=0.003)
    assert (result.status, result.warn, result.breach) == ("warn", 0.05, 0.1)


def test_auto_categorical_is_jensen_shannon_with_the_chi_squared_p_value() -> None:
    reference = CategoricalSummary(counts={"a": 500, "b": 300, "c": 200})
    current = CategoricalSummary(counts={"a": 400, "b": 300, "c": 250, "new": 50})
    result = measure_drift(reference, current)
    table = [[500, 300, 200, 0], [400, 300, 250, 50]]
    assert result.method == "jensen_shannon"
    assert result.value == pytest.approx(scipy_jensenshannon(table[0], table[1], base=2), abs=1e-12)
    assert result.p_value == pytest.approx(
        stats.chi2_contingency(table, correction=False).pvalue, rel=1e-9
    )
    assert result.status == "breach"


def test_a_large_effect_on_too_few_rows_is_not_significant_and_passes() -> None:
    reference = CategoricalSummary(counts={"a": 6, "b": 4})
    current = CategoricalSummary(counts={"a": 4, "b": 6})
    result = measure_drift(reference, current)
    p = stats.chi2_contingency([[6, 4], [4, 6]], correction=False).pvalue
    assert result.value is not None and result.value > result.breach  # JS distance ~0.14
    assert result.p_value == pytest.approx(p, rel=1e-9)  # ~0.37
    assert result.status == "pass"
    # without the gate (a named method) the same numbers breach
    assert measure_drift(reference, current, "jensen_shannon", warn=0.05, breach=0.1).status == (
        "breach"
    )


def test_the_gate_applies_to_a_named_method_only_when_asked() -> None:
    reference = CategoricalSummary(counts={"a": 6, "b": 4})
    current = CategoricalSummary(counts={"a": 4, "b": 6})
    plain = measure_drift(reference, current, "psi")
    gated = measure_drift(reference, current, "psi", significance=0.01)
    assert (plain.status, plain.significance, plain.p_value) == ("warn", None, None)
    assert (gated.status, gated.significance) == ("pass", 0.01)
    assert gated.value == plain.value
    with pytest.raises(ValueError, match="between 0 and 1"):
        measure_drift(reference, current, significance=1.5)


# -- what the charter file's default flags ---------------------------------------------------------


@pytest.mark.parametrize(
    ("shift", "scale", "expected"),
    [
        (0.0, 1.0, "pass"),  # unchanged
        (0.02, 1.0, "pass"),  # trivial: significant on a million rows, but W1/std ~0.02
        (0.1, 1.0, "flag"),  # the modest location shift
        (0.0, 1.15, "flag"),  # the spread grown by 15%
    ],
)
def test_the_default_flags_modest_shifts_on_a_million_rows_and_not_trivial_ones(
    shift: float, scale: float, expected: str
) -> None:
    result = judged(*normal_pair(1_000_000, shift, scale, seed=14), DriftPolicy())
    assert result["method"] == "wasserstein"
    flagged = "flag" if result["status"] in ("warn", "breach") else "pass"
    assert flagged == expected, result


def test_the_old_default_psi_does_not_flag_the_modest_shift() -> None:
    # Why the default changed: PSI at warn 0.1 passes a 0.1 sd shift on a million rows.
    result = judged(*normal_pair(1_000_000, 0.1, 1.0, seed=14), DriftPolicy(method="psi"))
    assert (result["method"], result["status"]) == ("psi", "pass")
    assert "significance" not in result


def test_the_default_flags_a_category_mix_change_and_not_an_unchanged_column() -> None:
    moved = judged(*category_pair(1_000_000, 0.05, seed=3), DriftPolicy())
    same = judged(*category_pair(1_000_000, 0.0, seed=4), DriftPolicy())
    assert moved["method"] == same["method"] == "jensen_shannon"
    assert moved["status"] == "warn" and same["status"] == "pass"


def test_unchanged_small_windows_rarely_raise_a_false_alarm() -> None:
    flagged = sum(
        judged(*normal_pair(1_000, 0.0, 1.0, seed=seed), DriftPolicy())["status"] != "pass"
        for seed in range(40)
    )
    # 1% significance: about 0.4 expected in 40; PSI's old default is not gated at all.
    assert flagged <= 2


# -- the charter file's settings -------------------------------------------------------------------


def test_spec_defaults_mirror_the_drift_module() -> None:
    for choice in AUTO.values():
        assert (choice.warn, choice.breach) == AUTO_DRIFT_LEVELS
    assert AUTO_SIGNIFICANCE == DEFAULT_SIGNIFICANCE
    policy = DriftPolicy()
    assert (policy.method, policy.levels(), policy.gate()) == ("auto", (0.05, 0.1), 0.01)


def test_a_named_method_keeps_the_levels_it_had_and_no_gate() -> None:
    policy = DriftPolicy(method="ks")
    assert (policy.levels(), policy.gate()) == ((0.1, 0.25), None)
    assert DriftPolicy(method="psi", significance=0.05).gate() == 0.05


def test_levels_without_a_method_keep_meaning_psi_levels() -> None:
    policy = DriftPolicy.model_validate({"warn": 0.2})
    assert (policy.method, policy.levels(), policy.gate()) == ("psi", (0.2, 0.25), None)
    assert DriftPolicy.model_validate({"method": "auto", "warn": 0.02}).levels() == (0.02, 0.1)


def test_levels_out_of_order_are_refused_with_the_levels_in_force() -> None:
    with pytest.raises(ValidationError, match="at most breach"):
        DriftPolicy.model_validate({"method": "auto", "warn": 0.2})
    with pytest.raises(ValidationError, match="at least warn"):
        DriftPolicy.model_validate({"method": "psi", "breach": 0.05})
    with pytest.raises(ValidationError):
        DriftPolicy.model_validate({"significance": 0})
