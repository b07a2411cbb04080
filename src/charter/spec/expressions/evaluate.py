"""Running a parsed segment: as a Polars or PySpark mask over a frame, or on one row.

Nulls follow SQL. A comparison with a null is *unknown*; ``and``/``or``/``not`` use three-valued
logic; a row whose condition ends up unknown is **not in the segment** (the Polars mask gets
``fill_null(False)`` at the very end). So ``not (income > 10)`` does not select rows whose income is
null: write ``income is null or income <= 10`` to include them. Float NaN equals itself and sorts
above every number, as in Polars and Spark. Comparing text with a number is an error (raised by
Polars when the mask is computed, and as :class:`ExpressionError` by :func:`evaluate_row`).

The Polars and Spark masks are built by one compiler over their column objects; the row evaluator
spells out the same three-valued logic in Python. ``pyspark`` is imported only by :func:`to_spark`.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from charter.errors import ExpressionError
from charter.spec.expressions.tree import (
    COMPARISONS,
    And,
    Between,
    Column,
    Comparison,
    Expression,
    InList,
    IsNull,
    Literal,
    Not,
    Operand,
    Or,
    Value,
)

if TYPE_CHECKING:
    import polars as pl
    from pyspark.sql import Column as SparkColumn


def _build(
    expr: Expression,
    column: Callable[[str], Any],
    literal: Callable[[Value], Any],
    is_null: Callable[[Any], Any],
) -> Any:
    """Compile for a column library whose objects overload ``== < & | ~`` with SQL null logic."""

    def operand(o: Operand) -> Any:
        return column(o.name) if isinstance(o, Column) else literal(o.value)

    def build(e: Expression) -> Any:
        return _build(e, column, literal, is_null)

    if isinstance(expr, Comparison):
        return COMPARISONS[expr.op](operand(expr.left), operand(expr.right))
    if isinstance(expr, InList):
        # An OR of equalities (how SQL defines IN) rather than Polars' is_in, which refuses an
        # integer column against a list of floats and the other way round.
        subject = operand(expr.column)
        return _balanced(operator.or_, [subject == operand(v) for v in expr.values])
    if isinstance(expr, IsNull):
        return is_null(operand(expr.column))
    if isinstance(expr, Between):
        subject = operand(expr.column)
        return (subject >= operand(expr.low)) & (subject <= operand(expr.high))
    if isinstance(expr, Not):
        return ~build(expr.operand)
    if isinstance(expr, And | Or):
        combine = operator.and_ if isinstance(expr, And) else operator.or_
        return _balanced(combine, [build(item) for item in expr.items])
    raise TypeError(f"not a segment expression: {expr!r}")


def _balanced(combine: Callable[[Any, Any], Any], items: list[Any]) -> Any:
    """Combine ``items`` pairwise as a balanced tree, so the result is ``log n`` deep.

    A left fold (``((a & b) & c) & …``) builds an expression ``n`` deep, and Polars' optimiser
    takes time quadratic in that depth: 1,200 ``and``-joined terms took seconds, where the
    balanced tree takes milliseconds. ``and``/``or`` are associative, also under SQL nulls.
    """
    while len(items) > 1:
        paired = [combine(a, b) for a, b in zip(items[::2], items[1::2], strict=False)]
        items = paired + ([items[-1]] if len(items) % 2 else [])
    return items[0]


def _polars_column(name: str) -> pl.Expr:
    import polars as pl
    import polars.selectors as cs

    # pl.col reads "*" as every column and "^...$" as a regex; by_name takes the name literally.
    if name == "*" or (name.startswith("^") and name.endswith("$")):
        return cs.by_name(name).as_expr()
    return pl.col(name)


def to_polars(expr: Expression) -> pl.Expr:
    """A boolean Polars expression, true exactly for the rows in the segment (never null)."""
    import polars as pl  # here, not at the top: `charter check` parses expressions without Polars

    mask: pl.Expr = _build(expr, _polars_column, pl.lit, lambda e: e.is_null())
    return mask.fill_null(False)


def to_spark(expr: Expression) -> SparkColumn:
    """A boolean PySpark column, true exactly for the rows in the segment (needs ``pyspark``)."""
    from pyspark.sql import functions as sf

    def column(name: str) -> Any:
        return sf.col("`" + name.replace("`", "``") + "`")

    mask = _build(expr, column, sf.lit, lambda c: c.isNull())
    return sf.coalesce(mask, sf.lit(False))


def evaluate_row(expr: Expression, row: Mapping[str, Any]) -> bool:
    """Whether one row is in the segment, by the same null rules as :func:`to_polars`."""
    return _truth(expr, row) is True


def _truth(expr: Expression, row: Mapping[str, Any]) -> bool | None:
    """SQL three-valued logic: None stands for unknown."""

    def value(o: Operand) -> Any:
        if isinstance(o, Literal):
            return o.value
        if o.name not in row:
            raise ExpressionError(str(expr), f"the row has no column {o.name!r}")
        return row[o.name]

    def compare(op: str, left: Any, right: Operand) -> bool | None:
        right = value(right)
        if left is None or right is None:
            return None
        try:
            if isinstance(left, str) != isinstance(right, str):
                raise TypeError
            return bool(COMPARISONS[op](_sort_key(left), _sort_key(right)))
        except TypeError:
            raise ExpressionError(str(expr), f"cannot compare {left!r} with {right!r}") from None

    if isinstance(expr, Comparison):
        return compare(expr.op, value(expr.left), expr.right)
    if isinstance(expr, InList):
        return _any([compare("==", value(expr.column), v) for v in expr.values])
    if isinstance(expr, IsNull):
        return value(expr.column) is None
    if isinstance(expr, Between):
        subject = value(expr.column)
        return _all([compare(">=", subject, expr.low), compare("<=", subject, expr.high)])
    if isinstance(expr, Not):
        inner = _truth(expr.operand, row)
        return None if inner is None else not inner
    if isinstance(expr, And | Or):
        results = [_truth(item, row) for item in expr.items]
        return _all(results) if isinstance(expr, And) else _any(results)
    raise TypeError(f"not a segment expression: {expr!r}")


def _sort_key(value: Any) -> tuple[int, Any]:
    """NaN equals itself and sorts above every number, as in Polars and Spark."""
    return (1, 0.0) if isinstance(value, float) and math.isnan(value) else (0, value)


def _all(values: list[bool | None]) -> bool | None:
    return False if False in values else (None if None in values else True)


def _any(values: list[bool | None]) -> bool | None:
    return True if True in values else (None if None in values else False)
