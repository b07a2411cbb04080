"""What the rules' parameters become for a column of a batch: shared by the Polars, small-batch
and Spark compilations of :mod:`charter.engines.rules`, so each reads a bound, an ``allowed``
list and a ``pattern`` the same way (and refuses the same mistakes in a charter)."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import polars as pl

from charter.engines.polars.schema_drift import ColumnPlan
from charter.engines.polars.timestamps import parse_date, parse_timestamp
from charter.engines.rules import ContractRules, RowRule
from charter.errors import DataError

Compiled = TypeVar("Compiled")


def conversion(plan: ColumnPlan) -> list[pl.Expr]:
    """A present column read as its declared type, and ``<name>.type`` where a value failed."""
    assert plan.value is not None
    exprs = [plan.value.alias(plan.name)]
    if plan.type_error is not None:
        exprs.append(plan.type_error.fill_null(False).alias(f"{plan.name}.type"))
    return exprs


def each_rule(
    plans: list[ColumnPlan],
    contract: ContractRules,
    compile_rule: Callable[[RowRule, ColumnPlan], Compiled | None],
) -> list[tuple[str, Compiled]]:
    """Every row rule that applies to a batch, compiled, as ``(name, compiled)`` in report order
    (the contract's order); ``compile_rule`` returns None for a rule that does not apply."""
    compiled: list[tuple[str, Compiled]] = []
    for plan, column in zip(plans, contract.columns, strict=True):
        for rule in column.rules:
            found = compile_rule(rule, plan)
            if found is not None:
                compiled.append((rule.name, found))
    return compiled


def _bound(bound: float, rule: str, declared: str, dtype: pl.DataType) -> Any:
    """``min``/``max`` as a literal of the column's own type, so the comparison casts nothing."""
    if declared in ("datetime", "date"):
        instant = datetime.fromtimestamp(bound, UTC)
        if declared == "date":
            return instant.date()
        time_zone = dtype.time_zone if isinstance(dtype, pl.Datetime) else None
        return instant if time_zone else instant.replace(tzinfo=None)
    if declared == "int" and abs(bound) < 2**62:
        # For whole numbers, x < 0.5 is x < 1 and x > 4.5 is x > 4: compare integers with integers.
        return math.ceil(bound) if rule == "min" else math.floor(bound)
    return float(bound)


def _allowed(
    name: str, declared: str, allowed: tuple[str | int | float | bool, ...], dtype: pl.DataType
) -> pl.Series:
    values: list[Any] = []
    for value in allowed:
        converted = _allowed_value(declared, value)
        if converted is None:
            hint = (
                " (YAML reads yes/no/on/off as booleans: quote them)"
                if isinstance(value, bool)
                else ""
            )
            raise DataError(
                f"{name}.allowed: {value!r} is not a {declared}{hint}",
                hint=f"list only {declared} values in fields.{name}.allowed",
            )
        values.append(converted)
    return pl.Series(name, values, dtype=dtype)


def _allowed_value(declared: str, value: str | int | float | bool) -> Any:
    if declared == "bool":
        return value if isinstance(value, bool) else None
    if isinstance(value, bool):
        return None
    if declared == "string":
        return str(value)
    if declared == "int":
        if isinstance(value, float) and value.is_integer():
            return int(value)
        return value if isinstance(value, int) else None
    if declared == "float":
        return float(value) if isinstance(value, int | float) else None
    if not isinstance(value, str):
        return None
    return parse_date(value) if declared == "date" else parse_timestamp(value)


@functools.lru_cache(maxsize=256)
def _anchored(name: str, pattern: str) -> str:
    anchored = f"^(?:{pattern})$"
    try:
        pl.Series([""]).str.contains(anchored)
    except pl.exceptions.ComputeError as exc:
        raise DataError(
            f"{name}.pattern {pattern!r} is not supported by Polars' regular expressions: "
            f"{str(exc).splitlines()[-1].strip() if str(exc) else exc}",
            hint="rewrite it without look-around or back-references",
        ) from None
    return anchored
