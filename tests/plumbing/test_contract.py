"""Data-contract validation: every row rule, batch rules, schema changes and type coercion."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import polars as pl
import pytest

from charter.engines.polars.contract import VIOLATIONS, BatchRuleResult, ValidationResult, validate
from charter.engines.polars.schema_drift import SchemaChange
from charter.errors import DataError
from charter.spec.model import DataContract

NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)


def contract(fields: dict[str, Any], **extra: Any) -> DataContract:
    """A contract keyed on ``id`` (an int field unless ``fields`` says otherwise)."""
    body: dict[str, Any] = {
        "source": {"kind": "parquet_dir", "path": "landing"},
        "key": "id",
        "fields": {"id": {"type": "int"}, **fields},
    }
    return DataContract.model_validate(body | extra)


def check(frame: pl.DataFrame, data: DataContract, **kwargs: Any) -> ValidationResult:
    result = validate(frame, data, now=NOW, **kwargs)
    assert result.valid.height + result.failed.height == frame.height
    return result


def reasons(result: ValidationResult) -> dict[int, list[str]]:
    """Failed rows' ids mapped to the rules they broke."""
    rows = result.failed.select("id", VIOLATIONS).rows()
    return {row_id: violations for row_id, violations in rows}


def frame(**columns: list[Any]) -> pl.DataFrame:
    return pl.DataFrame({"id": list(range(1, len(next(iter(columns.values()))) + 1)), **columns})


# -- row rules --------------------------------------------------------------------------------------
def test_not_null_fails_only_the_null_rows() -> None:
    result = check(
        frame(income=[1.0, None, 3.0]), contract({"income": {"type": "float", "nullable": False}})
    )
    assert reasons(result) == {2: ["income.not_null"]}
    assert result.valid["id"].to_list() == [1, 3]


def test_nullable_column_lets_nulls_through_every_other_rule() -> None:
    spec = {"type": "string", "allowed": ["a"], "pattern": "a"}
    result = check(frame(code=[None, "a", None]), contract({"code": spec}))
    assert result.failed.is_empty()


def test_min_and_max_are_inclusive_and_named_separately() -> None:
    data = contract({"ratio": {"type": "float", "min": 0, "max": 5}})
    result = check(frame(ratio=[-0.1, 0.0, 5.0, 5.1, None]), data)
    assert reasons(result) == {1: ["ratio.min"], 4: ["ratio.max"]}


def test_nan_is_outside_every_range() -> None:
    data = contract(
        {"ratio": {"type": "float", "min": 0, "max": 5}, "low": {"type": "float", "min": 0}}
    )
    result = check(frame(ratio=[float("nan"), 1.0], low=[1.0, float("nan")]), data)
    assert reasons(result) == {1: ["ratio.min", "ratio.max"], 2: ["low.min"]}


def test_fractional_bounds_on_an_int_field_compare_as_numbers() -> None:
    data = contract({"n": {"type": "int", "min": 0.5, "max": 4.5}})
    result = check(frame(n=[0, 1, 4, 5]), data)
    assert reasons(result) == {1: ["n.min"], 4: ["n.max"]}


def test_allowed_values() -> None:
    data = contract({"employment": {"type": "string", "allowed": ["salaried", "retired"]}})
    result = check(frame(employment=["salaried", "Salaried", "retired", "unknown"]), data)
    assert reasons(result) == {2: ["employment.allowed"], 4: ["employment.allowed"]}


def test_large_and_empty_allowed_sets() -> None:
    many = contract({"n": {"type": "int", "allowed": list(range(20))}})
    assert reasons(check(frame(n=[0, 19, 20, None]), many)) == {3: ["n.allowed"]}
    none = contract({"n": {"type": "int", "allowed": []}})
    assert reasons(check(frame(n=[0, None]), none)) == {1: ["n.allowed"]}


def test_allowed_numbers_on_a_text_field_are_compared_as_text() -> None:
    result = check(
        frame(grade=["1", "2", "3"]), contract({"grade": {"type": "string", "allowed": [1, 2]}})
    )
    assert reasons(result) == {3: ["grade.allowed"]}


def test_allowed_value_of_the_wrong_type_is_a_clear_error() -> None:
    with pytest.raises(DataError, match=r"flag\.allowed: True is not a string.*quote"):
        validate(frame(flag=["yes"]), contract({"flag": {"type": "string", "allowed": [True]}}))


def test_pattern_must_match_the_whole_value() -> None:
    data = contract({"code": {"type": "string", "pattern": "[A-Z]{2}[0-9]"}})
    result = check(frame(code=["AB1", "AB12", "xAB1", "ab1"]), data)
    assert reasons(result) == {2: ["code.pattern"], 3: ["code.pattern"], 4: ["code.pattern"]}


def test_pattern_alternatives_are_anchored_as_a_group() -> None:
    result = check(
        frame(code=["a", "b", "ab"]), contract({"code": {"type": "string", "pattern": "a|b"}})
    )
    assert reasons(result) == {3: ["code.pattern"]}


def test_pattern_polars_cannot_run_is_a_clear_error() -> None:
    data = contract({"code": {"type": "string", "pattern": "(?=a)a"}})
    with pytest.raises(DataError, match=r"code\.pattern .* not supported"):
        validate(frame(code=["a"]), data)


def test_duplicate_keys_fail_after_the_first_occurrence() -> None:
    batch = pl.DataFrame({"id": [7, 8, 7, 7, None, None], "x": [1, 2, 3, 4, 5, 6]})
    result = check(batch, contract({}))
    assert result.failed["x"].to_list() == [3, 4]
    assert result.failed[VIOLATIONS].to_list() == [["id.unique"], ["id.unique"]]
    assert result.valid["x"].to_list() == [1, 2, 5, 6]


@pytest.mark.parametrize(
    "keys",
    [[1, None, 1, 2, 2, None, 3], [3, 3, None, 2, 1, 1, None], [2, 1, 2, None, 1, 3, 3]],
    ids=["ascending", "descending", "unordered"],
)
def test_repeats_are_found_whether_or_not_keys_arrive_in_order(keys: list[int | None]) -> None:
    batch = pl.DataFrame({"id": keys, "row": range(len(keys))})
    expected = [i for i, k in enumerate(keys) if k is not None and k in keys[:i]]
    assert check(batch, contract({})).failed["row"].to_list() == expected


@pytest.mark.parametrize("kind", ["int", "string", "float", "datetime"])
def test_repeats_in_shuffled_keys_fail_after_their_first_occurrence(kind: str) -> None:
    """Keys out of order go through a sort (floats through hashing): every later copy fails,
    wherever it lies, and the first occurrence passes."""
    import random

    rng = random.Random(7)
    raw = [rng.randrange(400) if rng.random() > 0.05 else None for _ in range(1_000)]

    def as_value(k: int) -> Any:
        if kind == "string":
            return f"k{k}"
        if kind == "float":
            return k / 4
        if kind == "datetime":
            return f"2024-01-01T00:{k // 60 % 60:02d}:{k % 60:02d}Z"
        return k

    keys = [None if k is None else as_value(k) for k in raw]
    batch = pl.DataFrame({"id": keys, "row": range(len(keys))})
    expected = [i for i, k in enumerate(raw) if k is not None and k in set(raw[:i])]
    data = contract({"id": {"type": kind}})
    failed = check(batch, data).failed
    assert failed["row"].to_list() == expected
    assert set(failed[VIOLATIONS].explode().to_list()) == {"id.unique"}


def test_unique_field_other_than_the_key() -> None:
    result = check(
        frame(email=["a@x", "b@x", "a@x"]), contract({"email": {"type": "string", "unique": True}})
    )
    assert reasons(result) == {3: ["email.unique"]}


def test_keys_seen_in_earlier_batches_fail_across_batches() -> None:
    result = check(frame(x=[1, 2, 3]), contract({}), seen_keys=pl.Series([2, 99]))
    assert reasons(result) == {2: ["id.unique_across_batches"]}


def test_seen_values_per_column_from_a_mapping() -> None:
    data = contract({"email": {"type": "string", "unique": True}})
    seen = {"email": pl.Series(["b@x"])}
    result = check(frame(email=["a@x", "b@x"]), data, seen_keys=seen)
    assert reasons(result) == {2: ["email.unique_across_batches"]}


def test_seen_values_from_a_lookup_get_the_distinct_values_of_each_unique_column() -> None:
    asked: dict[str, list[Any]] = {}

    def lookup(column: str, values: pl.Series) -> pl.Series:
        asked[column] = sorted(values.to_list())
        return values.filter(values == 3)

    check(pl.DataFrame({"id": [3, 3, None, 1]}), contract({}), seen_keys=lookup)
    assert asked == {"id": [1, 3]}


def test_a_repeated_key_already_seen_fails_both_rules() -> None:
    result = check(pl.DataFrame({"id": [5, 5]}), contract({}), seen_keys=pl.Series([5]))
    assert result.failed[VIOLATIONS].to_list() == [
        ["id.unique_across_batches"],
        ["id.unique", "id.unique_across_batches"],
    ]


def test_every_broken_rule_is_listed_in_contract_order() -> None:
    data = contract(
        {
            "income": {"type": "float", "nullable": False, "min": 0},
            "code": {"type": "string", "pattern": "[a-z]+", "allowed": ["ok"]},
        }
    )
    result = check(pl.DataFrame({"id": [1, 1], "income": [-1.0, None], "code": ["X1", "ok"]}), data)
    assert result.failed[VIOLATIONS].to_list() == [
        ["income.min", "code.allowed", "code.pattern"],
        ["id.unique", "income.not_null"],
    ]


def test_valid_and_failed_rows_keep_input_order() -> None:
    values = [float(v) for v in [3, -1, 4, -1, 5, -9, 2, 6]]
    result = check(frame(x=values), contract({"x": {"type": "float", "min": 0}}))
    assert result.valid["x"].to_list() == [3.0, 4.0, 5.0, 2.0, 6.0]
    assert result.failed["x"].to_list() == [-1.0, -1.0, -9.0]


def test_a_clean_batch_has_an_empty_failed_frame_with_the_violations_column() -> None:
    result = check(frame(x=[1.0]), contract({"x": {"type": "float"}}))
    assert result.failed.is_empty()
    assert result.failed.schema[VIOLATIONS] == pl.List(pl.String)
    assert result.violation_counts() == {}


def test_lazy_frames_are_accepted() -> None:
    result = validate(frame(x=[1.0, -1.0]).lazy(), contract({"x": {"type": "float", "min": 0}}))
    assert result.rows_in == 2 and result.failed.height == 1


def test_empty_batch() -> None:
    empty = pl.DataFrame(schema={"id": pl.Int64, "x": pl.Float64})
    result = check(empty, contract({"x": {"type": "float", "nullable": False}}))
    assert result.valid.height == result.failed.height == 0


def test_violation_counts_summarise_the_failed_rows() -> None:
    data = contract({"x": {"type": "float", "min": 0, "nullable": False}})
    result = check(frame(x=[-1.0, None, -2.0, 1.0]), data)
    assert result.violation_counts() == {"x.min": 2, "x.not_null": 1}


def test_a_reserved_violations_column_is_refused() -> None:
    with pytest.raises(DataError, match="_violations"):
        validate(frame(**{VIOLATIONS: [["x"]]}), contract({}))


# -- types ---------------------------------------------------------------------------------------
def test_text_that_parses_is_converted_and_text_that_does_not_fails_type() -> None:
    data = contract({"income": {"type": "float", "min": 0}})
    result = check(frame(income=["1.5", "abc", " 2 ", "-3", None]), data)
    assert reasons(result) == {2: ["income.type"], 4: ["income.min"]}
    assert result.valid.schema["income"] == pl.Float64
    assert result.valid["income"].to_list() == [1.5, 2.0, None]
    assert result.failed["income"].to_list() == ["abc", "-3"], "quarantine keeps the raw text"


def test_an_unparseable_value_of_a_non_nullable_field_fails_type_not_not_null() -> None:
    data = contract({"income": {"type": "float", "nullable": False}})
    result = check(frame(income=["x", None]), data)
    assert reasons(result) == {1: ["income.type"], 2: ["income.not_null"]}


@pytest.mark.parametrize(
    ("declared", "texts", "bad", "parsed"),
    [
        ("int", ["42", "42.0", "4.5", "x"], [3, 4], [42, 42]),
        ("bool", ["true", "FALSE", "1", "yes"], [4], [True, False, True]),
        ("date", ["2024-01-02", "2024-13-01"], [2], [date(2024, 1, 2)]),
        (
            "datetime",
            ["2024-01-02 03:04:05", "later", "2024-01-02T05:04:05+02:00", "2024-01-02"],
            [2],
            [datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)] * 2 + [datetime(2024, 1, 2, tzinfo=UTC)],
        ),
    ],
)
def test_text_is_parsed_as_the_declared_type(
    declared: str, texts: list[str], bad: list[int], parsed: list[Any]
) -> None:
    result = check(frame(v=texts), contract({"v": {"type": declared}}))
    assert sorted(reasons(result)) == bad
    assert all(v == ["v.type"] for v in reasons(result).values())
    assert result.valid["v"].to_list() == parsed


def test_floats_for_an_int_field_pass_when_whole() -> None:
    result = check(frame(n=[1.0, 2.5, None, float("nan")]), contract({"n": {"type": "int"}}))
    assert reasons(result) == {2: ["n.type"], 4: ["n.type"]}
    assert result.valid.schema["n"] == pl.Int64
    assert result.schema_changes == []


def test_narrow_numeric_types_are_widened_without_a_schema_change() -> None:
    batch = pl.DataFrame(
        {"id": pl.Series([1, 2], dtype=pl.Int32), "x": pl.Series([1, 2], dtype=pl.Int8)}
    )
    result = check(batch, contract({"x": {"type": "float", "max": 1}}))
    assert result.valid.schema["id"] == pl.Int64 and result.valid.schema["x"] == pl.Float64
    assert reasons(result) == {2: ["x.max"]} and result.schema_changes == []


def test_categorical_text_is_read_as_string() -> None:
    batch = frame(kind=pl.Series(["a", "b"], dtype=pl.Categorical).to_list())
    batch = batch.with_columns(pl.col("kind").cast(pl.Categorical))
    result = check(batch, contract({"kind": {"type": "string", "allowed": ["a"], "pattern": "a"}}))
    assert reasons(result) == {2: ["kind.allowed", "kind.pattern"]}
    assert result.valid.schema["kind"] == pl.String


def test_datetime_bounds_are_epoch_seconds() -> None:
    start = datetime(2024, 1, 1, tzinfo=UTC).timestamp()
    data = contract(
        {"at": {"type": "datetime", "min": start}, "on": {"type": "date", "min": start}}
    )
    batch = frame(
        at=[datetime(2023, 12, 31, 23), datetime(2024, 1, 1)],
        on=[date(2024, 1, 1), date(2023, 12, 31)],
    )
    assert reasons(check(batch, data)) == {1: ["at.min"], 2: ["on.min"]}


def test_a_column_of_nothing_but_nulls_is_read_as_any_type() -> None:
    batch = pl.DataFrame({"id": [1, 2], "x": [None, None]})
    result = check(batch, contract({"x": {"type": "datetime"}}))
    assert result.failed.is_empty() and result.schema_changes == []
    assert isinstance(result.valid.schema["x"], pl.Datetime)


# -- schema changes ------------------------------------------------------------------------------
def test_new_column_is_reported_and_passed_through() -> None:
    result = check(frame(x=[1.0], extra=["e"]), contract({"x": {"type": "float"}}))
    assert [(c.kind, c.column) for c in result.schema_changes] == [("new_column", "extra")]
    assert result.valid["extra"].to_list() == ["e"]


def test_missing_required_column_quarantines_every_row() -> None:
    data = contract({"x": {"type": "float"}, "income": {"type": "float", "min": 0}})
    result = check(frame(x=[1.0, -1.0]), data)
    assert result.valid.is_empty()
    assert reasons(result) == {1: ["income.missing"], 2: ["income.missing"]}
    change = result.schema_changes[0]
    assert (change.kind, change.column) == ("missing_column", "income")
    assert "income.missing" in change.detail


def test_missing_optional_column_is_filled_with_nulls_for_valid_rows() -> None:
    data = contract(
        {"x": {"type": "float"}, "bonus": {"type": "float", "required": False, "nullable": False}}
    )
    result = check(frame(x=[1.0]), data)
    assert result.failed.is_empty()
    assert result.valid.schema["bonus"] == pl.Float64 and result.valid["bonus"].to_list() == [None]
    assert [c.kind for c in result.schema_changes] == ["missing_column"]


def test_a_missing_key_is_a_missing_required_column_even_when_unlisted() -> None:
    data = DataContract.model_validate(
        {
            "source": {"kind": "parquet_dir", "path": "p"},
            "key": "k",
            "fields": {"x": {"type": "int"}},
        }
    )
    result = check(pl.DataFrame({"x": [1]}), data)
    assert result.failed[VIOLATIONS].to_list() == [["k.missing"]]


def test_an_absent_optional_key_leaves_only_conversion_rules() -> None:
    data = contract(
        {"id": {"type": "int", "required": False}, "x": {"type": "float", "nullable": False}}
    )
    result = check(pl.DataFrame({"x": ["1", "a", None]}), data)
    assert result.failed[VIOLATIONS].to_list() == [["x.type"], ["x.not_null"]]
    assert result.valid.columns == ["x", "id"]


def test_type_changed_column_fails_every_non_null_value() -> None:
    data = contract({"income": {"type": "float", "nullable": False}})
    result = check(frame(income=[True, None, False]), data)
    assert result.schema_changes == [
        SchemaChange(
            "type_changed",
            "income",
            "declared float, arrived as Boolean; every non-null value fails income.type",
        )
    ]
    assert reasons(result) == {1: ["income.type"], 2: ["income.not_null"], 3: ["income.type"]}


@pytest.mark.parametrize(
    ("declared", "values"),
    [
        ("string", [1, 2]),
        ("int", [date(2024, 1, 1)]),
        ("date", [datetime(2024, 1, 1)]),
        ("bool", [1, 0]),
    ],
)
def test_types_that_cannot_represent_the_declared_type_are_changes(
    declared: str, values: list[Any]
) -> None:
    result = check(frame(v=values), contract({"v": {"type": declared}}))
    assert [c.kind for c in result.schema_changes] == ["type_changed"]
    assert result.valid.is_empty()


def test_schema_change_serialises() -> None:
    assert SchemaChange("new_column", "x", "d").to_dict() == {
        "kind": "new_column",
        "column": "x",
        "detail": "d",
    }


# -- batch rules ---------------------------------------------------------------------------------
def test_volume_rules_are_reported_without_quarantining() -> None:
    data = contract({}, volume={"min_rows": 3, "max_rows": 10})
    result = check(frame(x=[1, 2]), data)
    assert result.batch_rules == [
        BatchRuleResult("volume.min_rows", False, 2, 3),
        BatchRuleResult("volume.max_rows", True, 2, 10),
    ]
    assert not result.batch_ok and result.failed.is_empty()


def test_max_null_fraction_counts_the_nulls_as_they_arrived() -> None:
    data = contract({"x": {"type": "float", "max_null_fraction": 0.25}})
    result = check(frame(x=[None, "1", "bad", "2"]), data)
    assert result.batch_rules == [BatchRuleResult("x.max_null_fraction", True, 0.25, 0.25)]
    result = check(frame(x=[None, None, "1", "2"]), data)
    assert result.batch_rules[0].ok is False and result.batch_rules[0].observed == 0.5


def test_freshness_compares_the_newest_event_with_now() -> None:
    data = contract({"at": {"type": "datetime"}}, event_time="at", freshness={"max_age": "2h"})
    fresh = frame(at=[NOW - timedelta(hours=5), NOW - timedelta(hours=1)])
    assert check(fresh, data).batch_rules == [
        BatchRuleResult("freshness.max_age", True, timedelta(hours=1), timedelta(hours=2))
    ]
    stale = frame(at=[(NOW - timedelta(hours=3)).replace(tzinfo=None)])  # naive means UTC
    rule = check(stale, data).batch_rules[0]
    assert (rule.ok, rule.observed) == (False, timedelta(hours=3))
    assert rule.to_dict() == {
        "rule": "freshness.max_age",
        "ok": False,
        "observed": 10800.0,
        "expected": 7200.0,
    }


def test_freshness_of_text_timestamps_and_dates() -> None:
    data = contract({"at": {"type": "datetime"}}, event_time="at", freshness={"max_age": "1d"})
    rule = check(frame(at=["2024-06-01T10:00:00+00:00", "junk"]), data).batch_rules[0]
    assert (rule.ok, rule.observed) == (True, timedelta(hours=2))
    on_date = contract({"on": {"type": "date"}}, event_time="on", freshness={"max_age": "1d"})
    rule = check(frame(on=[date(2024, 5, 30)]), on_date).batch_rules[0]
    assert (rule.ok, rule.observed) == (False, timedelta(days=2, hours=12))


def test_freshness_fails_when_there_is_no_event_time_to_judge() -> None:
    data = contract({"at": {"type": "datetime"}}, event_time="at", freshness={"max_age": "1h"})
    rule = check(frame(at=[None, None]), data).batch_rules[0]
    assert (rule.ok, rule.observed) == (False, None)


# -- scale ---------------------------------------------------------------------------------------
def test_two_hundred_thousand_rows_are_validated_with_every_failure_found() -> None:
    n = 200_000
    ids = pl.int_range(0, n, eager=True)
    batch = pl.DataFrame(
        {
            "id": ids.clone().scatter(n - 1, 0),  # the last row repeats the first key
            "x": (ids % 1000).cast(pl.Float64) - 1.0,  # -1.0 every 1000 rows
            "code": pl.Series(["AB12"] * n).scatter(5, "bad"),
        }
    )
    data = contract(
        {"x": {"type": "float", "min": 0}, "code": {"type": "string", "pattern": "[A-Z]{2}[0-9]+"}}
    )
    result = check(batch, data, seen_keys=pl.Series([3]))
    assert result.failed.height == 200 + 1 + 1 + 1
