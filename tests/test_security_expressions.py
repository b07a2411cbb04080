"""Segment expressions are bounded in size, terms and depth, and compile to a shallow mask."""

from __future__ import annotations

import polars as pl
import pytest

from charter.errors import ExpressionError
from charter.spec.expressions import MAX_TERMS, evaluate_row, parse, to_polars


def _depth(expr: pl.Expr) -> int:
    """How deeply the Polars expression nests, read from its tree rendering."""
    depth = best = 0
    for ch in str(expr):
        depth += ch == "["
        depth -= ch == "]"
        best = max(best, depth)
    return best


def test_a_long_and_chain_compiles_to_a_logarithmically_deep_mask() -> None:
    terms = 1_249
    text = " and ".join(f"a<{i % 9 + 1}" for i in range(terms))
    assert len(text) < 10_000
    mask = to_polars(parse(text))
    # a left fold would nest ~1,249 levels deep, which Polars optimises in quadratic time
    assert _depth(mask) < 40
    frame = pl.DataFrame({"a": [0, 1, 5, None]})
    assert frame.select(mask).to_series().to_list() == [True, False, False, False]
    assert evaluate_row(parse(text), {"a": 0}) is True


def test_a_long_or_chain_and_a_long_list_keep_their_meaning() -> None:
    text = " or ".join(f"a == {i}" for i in range(500))
    listed = "a in [" + ", ".join(str(i) for i in range(500)) + "]"
    frame = pl.DataFrame({"a": [3, 499, 500, None]})
    for segment in (text, listed):
        mask = to_polars(parse(segment))
        assert _depth(mask) < 40
        assert frame.select(mask).to_series().to_list() == [True, True, False, False]


def test_more_terms_than_the_limit_is_refused_with_a_message() -> None:
    text = "a in [" + ",".join("1" for _ in range(MAX_TERMS + 1)) + "]"
    assert len(text) < 10_000
    with pytest.raises(ExpressionError, match="too many terms"):
        parse(text)


def test_nesting_past_the_limit_is_refused_not_a_recursion_error() -> None:
    with pytest.raises(ExpressionError, match="nested too deeply"):
        parse("(" * 1_500 + "a == 1" + ")" * 1_500)
    with pytest.raises(ExpressionError, match="nested too deeply"):
        parse("not " * 1_500 + "a == 1")
