"""The segment-expression grammar: parsing, compiling to Polars, row evaluation, and its errors."""

from __future__ import annotations

import math
import subprocess
import sys
from typing import Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from charter.errors import ExpressionError
from charter.spec.expressions import (
    MAX_DEPTH,
    MAX_LENGTH,
    And,
    Between,
    Column,
    Comparison,
    Expression,
    InList,
    IsNull,
    Literal,
    Not,
    Or,
    compile_segment,
    evaluate_row,
    parse,
    to_polars,
    to_spark,
)


def eq(column: str, value: Any) -> Comparison:
    return Comparison(Column(column), "==", Literal(value))


# ---------------------------------------------------------------------------------------------
# Parsing: precedence and every operator


def test_or_binds_looser_than_and() -> None:
    assert parse("a == 1 or b == 2 and c == 3") == Or((eq("a", 1), And((eq("b", 2), eq("c", 3)))))


def test_not_binds_tighter_than_and() -> None:
    assert parse("not a == 1 and b == 2") == And((Not(eq("a", 1)), eq("b", 2)))


def test_parentheses_override_precedence() -> None:
    expected = And((Or((eq("a", 1), eq("b", 2))), eq("c", 3)))
    assert parse("(a == 1 or b == 2) and c == 3") == expected


def test_a_chain_of_and_is_one_flat_node() -> None:
    assert parse("a == 1 and b == 2 and c == 3") == And((eq("a", 1), eq("b", 2), eq("c", 3)))


def test_not_can_be_repeated() -> None:
    assert parse("not not a == 1") == Not(Not(eq("a", 1)))


@pytest.mark.parametrize("op", ["==", "!=", "<", "<=", ">", ">="])
def test_every_comparison_operator_parses(op: str) -> None:
    assert parse(f"income {op} 5") == Comparison(Column("income"), op, Literal(5))


def test_a_column_can_be_compared_with_a_column() -> None:
    assert parse("a < b") == Comparison(Column("a"), "<", Column("b"))


def test_a_literal_may_stand_on_the_left() -> None:
    assert parse("50000 < income") == Comparison(Literal(50000), "<", Column("income"))


def test_in_takes_brackets_or_parentheses() -> None:
    expected = InList(Column("region"), (Literal("n"), Literal("s")))
    assert parse("region in ['n', 's']") == expected
    assert parse("region in ('n', 's')") == expected


def test_not_in_is_the_negation_of_in() -> None:
    assert parse("x not in [1, 2]") == Not(InList(Column("x"), (Literal(1), Literal(2))))


def test_is_null_and_is_not_null() -> None:
    assert parse("x is null") == IsNull(Column("x"))
    assert parse("x is not null") == Not(IsNull(Column("x")))


def test_between_and_not_between() -> None:
    between = Between(Column("x"), Literal(1), Column("y"))
    assert parse("x between 1 and y") == between
    assert parse("x not between 1 and y") == Not(between)


def test_between_binds_its_own_and_before_the_logical_and() -> None:
    expected = And((Between(Column("x"), Literal(1), Literal(5)), eq("y", 2)))
    assert parse("x between 1 and 5 and y == 2") == expected


def test_keywords_are_case_insensitive_but_columns_are_not() -> None:
    text = "NOT Region IN ['n'] AnD x IS NOT NULL Or flag == TRUE Or y BETWEEN 1 AND 2"
    expected = Or(
        (
            And((Not(InList(Column("Region"), (Literal("n"),))), Not(IsNull(Column("x"))))),
            eq("flag", True),
            Between(Column("y"), Literal(1), Literal(2)),
        )
    )
    assert parse(text) == expected


def test_whitespace_does_not_matter() -> None:
    assert parse("a==1 and(b!='x')") == parse("  a ==\t1\n and ( b != 'x' )  ")


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("0", 0),
        ("42", 42),
        ("-7", -7),
        ("2.5", 2.5),
        ("-0.25", -0.25),
        (".5", 0.5),
        ("1e3", 1000.0),
        ("-1.5E-2", -0.015),
        ("9223372036854775807", 2**63 - 1),
        ("-9223372036854775808", -(2**63)),
        ("true", True),
        ("FALSE", False),
        ("'north'", "north"),
        ('"north"', "north"),
        ("''", ""),
        (r"'it\'s'", "it's"),
        (r'"say \"hi\""', 'say "hi"'),
        (r"'a\\b\n\t\r'", "a\\b\n\t\r"),
    ],
)
def test_literals(text: str, value: Any) -> None:
    parsed = parse(f"x == {text}")
    assert isinstance(parsed, Comparison)
    assert parsed.right == Literal(value)
    assert type(parsed.right.value) is type(value)


def test_backquotes_name_any_column() -> None:
    parsed = parse("`monthly income (€)` > 1 and `and` == 2 and `a``b` == 3")
    assert parsed.columns() == {"monthly income (€)", "and", "a`b"}


def test_columns_lists_every_column_referenced_once() -> None:
    text = "a == 1 or (not b in [1]) and c is null and d between e and 5 or a < f"
    assert parse(text).columns() == frozenset("abcdef")


def test_text_renders_canonically() -> None:
    assert str(parse("NOT (a==1 OR `b c`!='x\\'y') AND d IN (1,2)")) == (
        "not (a == 1 or `b c` != 'x\\'y') and d in [1, 2]"
    )


names = st.one_of(
    st.sampled_from(["a", "b_2", "Région", "and", "x y", "`", "*"]), st.text(min_size=1)
)
literals = st.one_of(
    st.integers(-(2**63), 2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(),
    st.booleans(),
).map(Literal)
operands = st.one_of(names.map(Column), literals)
any_leaf = st.one_of(
    st.builds(Comparison, names.map(Column), st.sampled_from(["==", "!=", "<", ">="]), operands),
    st.builds(Comparison, literals, st.sampled_from(["<=", ">"]), names.map(Column)),
    st.builds(
        InList,
        names.map(Column),
        st.one_of(
            st.lists(st.text().map(Literal), min_size=1, max_size=3),
            st.lists(st.integers().filter(lambda i: abs(i) < 2**63).map(Literal), min_size=1),
        ).map(tuple),
    ),
    st.builds(IsNull, names.map(Column)),
    st.builds(Between, names.map(Column), operands, operands),
)


def trees(leaf: st.SearchStrategy[Expression]) -> st.SearchStrategy[Expression]:
    def extend(children: st.SearchStrategy[Expression]) -> st.SearchStrategy[Expression]:
        groups = st.lists(children, min_size=2, max_size=3).map(tuple)
        return st.one_of(children.map(Not), groups.map(And), groups.map(Or))

    return st.recursive(leaf, extend, max_leaves=8)


@given(trees(any_leaf))
def test_rendered_text_parses_back_to_the_same_tree(expr: Expression) -> None:
    assert parse(str(expr)) == expr


# ---------------------------------------------------------------------------------------------
# Results on a real Polars frame


@pytest.fixture
def applicants() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "region": ["north", "south", None, "north", "east"],
            "income": [60_000, 40_000, 70_000, None, 50_000],
            "debt": [0.5, 1.5, None, 0.1, 2.0],
            "age": [30, 45, 52, 23, 61],
            "vip": [True, False, None, False, True],
        },
        schema={
            "region": pl.String,
            "income": pl.Int64,
            "debt": pl.Float64,
            "age": pl.Int64,
            "vip": pl.Boolean,
        },
    )


T, F = True, False


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("region == 'north'", [T, F, F, T, F]),
        ("region != 'north'", [F, T, F, F, T]),
        ("income > 50000", [T, F, T, F, F]),
        ("income >= 50000", [T, F, T, F, T]),
        ("income < 50000", [F, T, F, F, F]),
        ("income <= 50000", [F, T, F, F, T]),
        ("income == 50000.0", [F, F, F, F, T]),
        ("region == 'north' and income > 50000", [T, F, F, F, F]),
        ("region == 'north' or income > 50000", [T, F, T, T, F]),
        ("not region == 'north'", [F, T, F, F, T]),
        ("region in ['north', 'east']", [T, F, F, T, T]),
        ("region not in ['north', 'east']", [F, T, F, F, F]),
        ("age in [30, 61.0]", [T, F, F, F, T]),
        ("debt in [0.5, 2]", [T, F, F, F, T]),
        ("income is null", [F, F, F, T, F]),
        ("income is not null", [T, T, T, F, T]),
        ("age between 30 and 52", [T, T, T, F, F]),
        ("age not between 30 and 52", [F, F, F, T, T]),
        ("debt between 0.5 and 1.5", [T, T, F, F, F]),
        ("debt < age", [T, T, F, T, T]),
        ("vip == true", [T, F, F, F, T]),
        ("vip != true", [F, T, F, T, F]),
        ("30 < age", [F, T, T, F, T]),
        ("(region == 'north' or region == 'south') and not income < 50000", [T, F, F, F, F]),
    ],
)
def test_polars_mask_matches_hand_computed_rows(
    applicants: pl.DataFrame, text: str, expected: list[bool]
) -> None:
    assert applicants.select(to_polars(parse(text))).to_series().to_list() == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # row 2 has a null region and a null debt; row 3 has a null income.
        ("income > 0", [T, T, T, F, T]),
        ("not income > 0", [F, F, F, F, F]),
        ("income != 1", [T, T, T, F, T]),
        ("region not in ['north']", [F, T, F, F, T]),
        ("not (debt between 0 and 1)", [F, T, F, F, T]),
        ("income > 0 or region == 'south'", [T, T, T, F, T]),
        ("income > 0 or region == 'north'", [T, T, T, T, T]),
        ("income > 0 and age > 0", [T, T, T, F, T]),
        ("income is null or income <= 0", [F, F, F, T, F]),
        ("income < age or income >= age", [T, T, T, F, T]),
    ],
)
def test_a_row_whose_condition_touches_a_null_is_not_in_the_segment(
    applicants: pl.DataFrame, text: str, expected: list[bool]
) -> None:
    mask = applicants.select(to_polars(parse(text))).to_series()
    assert mask.null_count() == 0
    assert mask.to_list() == expected
    rows = applicants.iter_rows(named=True)
    assert [evaluate_row(parse(text), row) for row in rows] == expected


def test_odd_column_names_are_taken_literally_by_polars() -> None:
    frame = pl.DataFrame({"*": [1, 2], "^a$": [3, 4], "a": [5, 6], "x y": [7, 8]})
    text = "`*` == 2 or `^a$` == 3 or `x y` == 0"
    assert frame.select(to_polars(parse(text))).to_series().to_list() == [T, T]


def test_nan_equals_itself_and_sorts_above_numbers_in_both_evaluators() -> None:
    frame = pl.DataFrame({"f": [math.nan, 1.0], "g": [math.nan, 2.0]})
    for text in ["f == g", "f > 1000", "f != g", "f < g", "f in [1.0]", "f between 0 and g"]:
        expr = parse(text)
        expected = frame.select(to_polars(expr)).to_series().to_list()
        assert [evaluate_row(expr, row) for row in frame.iter_rows(named=True)] == expected
    assert evaluate_row(parse("f == g"), {"f": math.nan, "g": math.nan})
    assert evaluate_row(parse("f > 1e300"), {"f": math.nan})


def test_a_long_chain_within_the_length_limit_compiles_and_evaluates() -> None:
    text = " or ".join(f"a=={i % 100}" for i in range(1000))
    assert len(text) <= MAX_LENGTH
    expr = parse(text)
    frame = pl.DataFrame({"a": [5, 5000]})
    assert frame.select(to_polars(expr)).to_series().to_list() == [T, F]
    assert evaluate_row(expr, {"a": 99})


# ---------------------------------------------------------------------------------------------
# evaluate_row agrees with to_polars (property-based)

NUMERIC, SCHEMA = (
    ["a", "b", "f"],
    {
        "a": pl.Int64,
        "b": pl.Int64,
        "f": pl.Float64,
        "s": pl.String,
        "flag": pl.Boolean,
    },
)
numbers = st.one_of(st.integers(-3, 3), st.sampled_from([-1.5, 0.0, 0.5, 2.25]))
texts = st.sampled_from(["", "a", "b", "ab", "é"])
ops = st.sampled_from(["==", "!=", "<", "<=", ">", ">="])
numeric_column = st.sampled_from(NUMERIC).map(Column)
numeric_operand = st.one_of(numeric_column, numbers.map(Literal))
text_operand = st.one_of(st.just(Column("s")), texts.map(Literal))
typed_leaf = st.one_of(
    st.builds(Comparison, numeric_column, ops, numeric_operand),
    st.builds(Comparison, numbers.map(Literal), ops, numeric_column),
    st.builds(Comparison, st.just(Column("s")), ops, text_operand),
    st.builds(Comparison, st.just(Column("flag")), ops, st.booleans().map(Literal)),
    st.builds(InList, numeric_column, st.lists(numbers.map(Literal), min_size=1).map(tuple)),
    st.builds(InList, st.just(Column("s")), st.lists(texts.map(Literal), min_size=1).map(tuple)),
    st.builds(IsNull, st.sampled_from(list(SCHEMA)).map(Column)),
    st.builds(Between, numeric_column, numeric_operand, numeric_operand),
    st.builds(Between, st.just(Column("s")), text_operand, text_operand),
)


@st.composite
def frames(draw: st.DrawFn) -> pl.DataFrame:
    height = draw(st.integers(0, 8))

    def column(values: st.SearchStrategy[Any]) -> list[Any]:
        return draw(st.lists(st.one_of(st.none(), values), min_size=height, max_size=height))

    floats = st.one_of(numbers.map(float), st.just(math.nan))
    data = {
        "a": column(st.integers(-3, 3)),
        "b": column(st.integers(-3, 3)),
        "f": column(floats),
        "s": column(texts),
        "flag": column(st.booleans()),
    }
    return pl.DataFrame(data, schema=SCHEMA)


@settings(max_examples=300, deadline=None)
@given(frames(), trees(typed_leaf))
def test_evaluate_row_agrees_with_polars(frame: pl.DataFrame, expr: Expression) -> None:
    expected = frame.select(to_polars(expr)).to_series().to_list()
    assert [evaluate_row(expr, row) for row in frame.iter_rows(named=True)] == expected


def test_evaluate_row_refuses_a_row_without_the_column() -> None:
    with pytest.raises(ExpressionError, match="the row has no column 'income'"):
        evaluate_row(parse("income > 1"), {"region": "north"})


def test_evaluate_row_refuses_to_compare_text_with_a_number() -> None:
    with pytest.raises(ExpressionError, match="cannot compare 'high' with 5"):
        evaluate_row(parse("income > 5"), {"income": "high"})


# ---------------------------------------------------------------------------------------------
# compile_segment checks the columns


def test_compile_segment_accepts_known_columns() -> None:
    expr = compile_segment("region == 'north'", ["region", "income"])
    assert expr == eq("region", "north")


def test_compile_segment_without_columns_only_parses() -> None:
    assert compile_segment("anything == 1") == eq("anything", 1)


def test_compile_segment_names_unknown_columns_and_lists_the_available_ones() -> None:
    with pytest.raises(ExpressionError) as caught:
        compile_segment("regoin == 'n' and zzz > 1", ["region", "income"])
    message = caught.value.message
    assert "unknown columns 'regoin' (did you mean 'region'?), 'zzz'" in message
    assert "available columns: income, region" in message


# ---------------------------------------------------------------------------------------------
# Errors: what, and where


@pytest.mark.parametrize(
    ("text", "message", "position"),
    [
        ("", "the expression is empty", 0),
        ("   ", "the expression is empty", 0),
        ("region ==", "expected a value after '==', found the end of the expression", 9),
        ("region == and x", "expected a value after '==', found 'and'", 10),
        ("region = 'n'", "unknown operator '=' (did you mean '=='?)", 7),
        ("a <> 1", "unknown operator '<>' (did you mean '!='?)", 2),
        ("a => 1", "unknown operator '=>' (did you mean '>='?)", 2),
        ("a =< 1", "unknown operator '=<' (did you mean '<='?)", 2),
        ("a == 1 && b == 2", "unknown operator '&&' (did you mean 'and'?)", 7),
        ("a == 1 || b == 2", "unknown operator '||' (did you mean 'or'?)", 7),
        ("!a", "unknown operator '!' (did you mean '!=' or 'not'?)", 0),
        ("region == 'north", "unterminated string (no closing ')", 10),
        ('region == "north', 'unterminated string (no closing ")', 10),
        ("region == 'north\\'", "unterminated string", 10),
        ("region == 'a\\qb'", "unknown escape '\\q' in text", 12),
        ("`odd name == 1", "unterminated column name (no closing `)", 0),
        ("`` == 1", "empty column name", 0),
        ("a == 1 b", "unexpected 'b' after a complete condition", 7),
        ("a == 1 'x'", "unexpected 'x' after a complete condition", 7),
        ("a == 1)", "unmatched ')'", 6),
        ("(a == 1", "unclosed '(': expected ')', found the end of the expression", 7),
        ("a == 1 and", "expected a column, 'not' or '(', found the end of the expression", 10),
        ("and a == 1", "expected a column, 'not' or '(', found 'and'", 0),
        ("a", "expected an operator after column 'a'", 1),
        ("a b", "expected an operator after column 'a'", 2),
        ("'x'", "expected a comparison operator after 'x'", 3),
        ("1 == 2", "'1 == 2' compares two values; name a column", 0),
        ("a == null", "null never equals anything; write 'is null' or 'is not null'", 5),
        ("a is nul", "expected 'null' after 'is', found 'nul'", 5),
        ("a is 1", "expected 'null' after 'is', found '1'", 5),
        ("a not like 'x'", "expected 'in' or 'between' after 'not', found 'like'", 6),
        ("a in 'x'", "expected a list like ['a', 'b'] after 'in', found 'x'", 5),
        ("a in []", "expected a value in the list, found ']'", 6),
        ("a in [1,]", "expected a value in the list, found ']'", 8),
        ("a in [1 2]", "expected ',' or ']' in the list, found '2'", 8),
        ("a in (1]", "expected ',' or ')' in the list, found ']'", 7),
        ("a in [north]", "a list holds values, not columns (quote text: 'north')", 6),
        ("a in [1, 'x']", "a list cannot mix text with numbers or booleans", 5),
        ("a in [null]", "null never equals anything", 6),
        ("a between 1", "expected 'and' to close 'between', found the end of the expression", 11),
        ("a between 1 or 2", "expected 'and' to close 'between', found 'or'", 12),
        ("a == 12abc", "malformed number '12abc'", 5),
        ("a == 1.2.3", "malformed number '1.2.3'", 5),
        ("a == 1e", "malformed number '1e'", 5),
        ("a == -", "unexpected character '-'", 5),
        ("a == 9223372036854775808", "integer 9223372036854775808 is outside the 64-bit range", 5),
        ("a == 1e999", "number 1e999 is too large", 5),
        ("a.b == 1", "unexpected character '.'", 1),
        ("a == $x", "unexpected character '$'", 5),
    ],
)
def test_malformed_input_says_what_is_wrong_and_where(
    text: str, message: str, position: int
) -> None:
    with pytest.raises(ExpressionError) as caught:
        parse(text)
    assert message in caught.value.message
    assert caught.value.position == position
    assert caught.value.expression == text
    assert f"at position {position}" in str(caught.value)


@pytest.mark.parametrize(
    "text",
    [
        "region == 'a'; drop table x",
        "region == 'a' -- comment",
        "__import__('os')",
        "__import__('os').system('ls') == 0",
        "region == 'a' or 1=1",
        "exec('x') == 1",
        "region == {'a': 1}",
        "lambda: 0",
        "income > 1 if True else 0",
    ],
)
def test_injection_looking_input_is_a_parse_error(text: str) -> None:
    with pytest.raises(ExpressionError):
        parse(text)


def test_nesting_is_limited() -> None:
    parse("(" * MAX_DEPTH + "a == 1" + ")" * MAX_DEPTH)
    parse("not " * MAX_DEPTH + "a == 1")
    with pytest.raises(ExpressionError, match=f"nested too deeply \\(more than {MAX_DEPTH}"):
        parse("(" * (MAX_DEPTH + 1) + "a == 1" + ")" * (MAX_DEPTH + 1))
    with pytest.raises(ExpressionError, match="nested too deeply"):
        parse("not " * (MAX_DEPTH + 1) + "a == 1")
    with pytest.raises(ExpressionError, match="nested too deeply"):
        parse("(not " * 40 + "a == 1" + ")" * 40)


def test_length_is_limited() -> None:
    parse("a == 1".ljust(MAX_LENGTH))
    with pytest.raises(ExpressionError, match=f"over the limit of {MAX_LENGTH}") as caught:
        parse("a == 1".ljust(MAX_LENGTH + 1))
    assert len(caught.value.expression) < 100


def test_expression_errors_are_charter_errors_with_a_json_shape() -> None:
    with pytest.raises(ExpressionError) as caught:
        parse("a = 1")
    assert caught.value.to_dict() == {
        "type": "ExpressionError",
        "message": "expression 'a = 1': unknown operator '=' (did you mean '=='?) at position 2",
    }


# ---------------------------------------------------------------------------------------------
# Spark: imported only when used


def test_importing_the_module_does_not_import_pyspark() -> None:
    code = "import sys, charter.spec.expressions; print('pyspark' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


@pytest.mark.slow
def test_spark_mask_matches_polars(applicants: pl.DataFrame) -> None:
    pytest.importorskip("pyspark")
    from pyspark.sql import SparkSession

    spark = SparkSession.builder.master("local[1]").appName("charter-tests").getOrCreate()
    try:
        frame = spark.createDataFrame(applicants.to_pandas())
        for text in [
            "region == 'north' and income > 50000",
            "not income > 0",
            "region not in ['north']",
            "age between 30 and 52 or vip is null",
        ]:
            expr = parse(text)
            expected = applicants.select(to_polars(expr)).to_series().to_list()
            rows = frame.select(to_spark(expr).alias("m")).collect()
            assert [row["m"] for row in rows] == expected
    finally:
        spark.stop()
