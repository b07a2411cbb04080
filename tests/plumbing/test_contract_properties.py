"""Row accounting, proven over random batches and random contracts against a plain-Python reference.

The reference below re-implements the rules documented in :mod:`charter.engines.polars.contract` one row
at a time, without Polars. For every generated batch and contract, validation must put exactly the
rows the reference rejects into ``failed``, with exactly the reference's reasons in its order, and
every other row into ``valid``, in input order.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from charter.engines.polars.contract import VIOLATIONS, validate
from charter.spec.model import DataContract, FieldSpec

ROW = "row_no"  # identifies rows; not in the contract, so it is passed through as a new column
PATTERNS = ["[ab]+", "a|bc", "x?y*", "[a-c]{2}"]
TEXTS = ["a", "b", "ab", "bc", "xy", "y", "", "ca", "abc"]


@dataclass(frozen=True)
class Column:
    name: str
    kind: str  # int | float | string | float_text
    values: list[Any]
    spec: dict[str, Any]
    present: bool


def _values(kind: str, n: int) -> st.SearchStrategy[list[Any]]:
    element: st.SearchStrategy[Any]
    if kind == "int":
        element = st.one_of(st.none(), st.integers(-5, 5))
    elif kind == "float":
        element = st.one_of(st.none(), st.just(math.nan), st.floats(-10, 10, allow_nan=False))
    elif kind == "string":
        element = st.one_of(st.none(), st.sampled_from(TEXTS))
    else:  # text that should hold floats, some of it junk
        number = st.floats(-10, 10, allow_nan=False).map(repr)
        element = st.one_of(st.none(), number, st.sampled_from(["x", "1.2.3", "", "--1"]))
    return st.lists(element, min_size=n, max_size=n)


@st.composite
def _spec(draw: st.DrawFn, kind: str, is_key: bool) -> dict[str, Any]:
    declared = {"int": "int", "float": "float", "string": "string", "float_text": "float"}[kind]
    spec: dict[str, Any] = {"type": declared, "nullable": draw(st.booleans())}
    spec["required"] = draw(st.booleans())
    if declared in ("int", "float"):
        if draw(st.booleans()):
            spec["min"] = draw(st.integers(-6, 3))
        if draw(st.booleans()):
            spec["max"] = draw(st.integers(spec.get("min", -6), 6))
    if kind in ("int", "string") and draw(st.booleans()):
        pool = list(range(-5, 6)) if kind == "int" else TEXTS
        spec["allowed"] = draw(st.lists(st.sampled_from(pool), min_size=1, max_size=5))
    if kind == "string" and draw(st.booleans()):
        spec["pattern"] = draw(st.sampled_from(PATTERNS))
    if kind in ("int", "string") and not is_key:
        spec["unique"] = draw(st.booleans())
    return spec


@st.composite
def batches(draw: st.DrawFn) -> tuple[pl.DataFrame, DataContract, list[Column], list[Any]]:
    n = draw(st.integers(0, 30))
    kinds = [
        "int",
        *draw(st.lists(st.sampled_from(["int", "float", "string", "float_text"]), max_size=4)),
    ]
    columns = []
    for i, kind in enumerate(kinds):
        name = "id" if i == 0 else f"c{i}"
        spec = draw(_spec(kind, is_key=i == 0))
        present = draw(st.integers(0, 5)) > 0
        values = draw(_values(kind, n))
        if kind in ("int", "string") and draw(st.booleans()):
            values = _ordered(values, descending=draw(st.booleans()))
        columns.append(Column(name, kind, values, spec, present))
    data: dict[str, pl.Series] = {ROW: pl.Series(range(n), dtype=pl.Int64)}
    dtypes = {"int": pl.Int64, "float": pl.Float64, "string": pl.String, "float_text": pl.String}
    for column in columns:
        if column.present:
            data[column.name] = pl.Series(column.values, dtype=dtypes[column.kind], strict=False)
    contract = DataContract.model_validate(
        {
            "source": {"kind": "parquet_dir", "path": "p"},
            "key": "id",
            "fields": {column.name: column.spec for column in columns},
        }
    )
    seen = draw(st.lists(st.integers(-5, 5), max_size=4))
    return pl.DataFrame(data), contract, columns, seen


def _ordered(values: list[Any], *, descending: bool) -> list[Any]:
    """The non-null values sorted in place, nulls where they were (keys that arrive in order)."""
    ordered = iter(sorted((v for v in values if v is not None), reverse=descending))
    return [None if v is None else next(ordered) for v in values]


# -- the reference ---------------------------------------------------------------------------------
def _typed(column: Column, value: Any) -> tuple[Any, bool]:
    """(value in the declared type or None, whether a non-null value failed to convert)."""
    if value is None or column.kind != "float_text":
        return value, False
    try:
        return float(value.strip()), False
    except ValueError:
        return None, True


def reference(columns: list[Column], seen: list[Any], n: int) -> list[list[str]]:
    """Each row's violations, computed one value at a time in the documented order."""
    violations: list[list[str]] = [[] for _ in range(n)]
    for column in columns:
        spec = FieldSpec.model_validate(column.spec)
        name = column.name
        if not column.present:
            if spec.required:
                for row in violations:
                    row.append(f"{name}.missing")
            continue
        earlier: set[Any] = set()
        for i, raw in enumerate(column.values):
            value, bad_type = _typed(column, raw)
            broke = violations[i]
            if bad_type:
                broke.append(f"{name}.type")
            if raw is None and not spec.nullable:
                broke.append(f"{name}.not_null")
            if value is not None:
                nan = isinstance(value, float) and math.isnan(value)
                if spec.min is not None and (nan or value < spec.min):
                    broke.append(f"{name}.min")
                if spec.max is not None and (nan or value > spec.max):
                    broke.append(f"{name}.max")
                if spec.allowed is not None and value not in spec.allowed:
                    broke.append(f"{name}.allowed")
                if spec.pattern is not None and not re.fullmatch(spec.pattern, value):
                    broke.append(f"{name}.pattern")
            if name == "id" or spec.unique:
                if value is not None and value in earlier:
                    broke.append(f"{name}.unique")
                if value is not None:
                    earlier.add(value)
                if name == "id" and value is not None and value in seen:
                    broke.append(f"{name}.unique_across_batches")
    return violations


@settings(max_examples=300, deadline=None)
@given(batches())
def test_every_row_is_valid_or_failed_with_exactly_the_reference_reasons(
    case: tuple[pl.DataFrame, DataContract, list[Column], list[Any]],
) -> None:
    frame, contract, columns, seen = case
    result = validate(frame, contract, seen_keys=pl.Series(seen, dtype=pl.Int64))
    expected = reference(columns, seen, frame.height)

    assert result.valid.height + result.failed.height == frame.height
    failing = [i for i, broke in enumerate(expected) if broke]
    assert result.failed[ROW].to_list() == failing
    assert result.failed[VIOLATIONS].to_list() == [expected[i] for i in failing]
    assert result.valid[ROW].to_list() == [i for i, broke in enumerate(expected) if not broke]


@settings(max_examples=100, deadline=None)
@given(batches())
def test_lazy_and_eager_input_give_the_same_split(
    case: tuple[pl.DataFrame, DataContract, list[Column], list[Any]],
) -> None:
    frame, contract, _, _ = case
    eager = validate(frame, contract)
    lazy = validate(frame.lazy(), contract)
    assert eager.valid.equals(lazy.valid) and eager.failed.equals(lazy.failed)
