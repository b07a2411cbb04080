"""The contract's rules compiled to plain Python predicates, for batches of a few rows.

An online request carries one record, or a few. Polars runs a batch of any size through one
query per step, and a query's fixed cost (planning, the thread pool; the ISO 8601 parser alone is
a large expression) is tens of milliseconds on a busy machine, against microseconds of work per
row. Below :data:`SMALL_BATCH` rows, :func:`charter.engines.polars.contract.validate` therefore
compiles the same rules (:mod:`charter.engines.rules`) to Python predicates instead: same plans
(:func:`.schema_drift.plan_columns`), same conversions, same rule names in the same order, same
frames out. Conversions whose meaning is Polars' own (text to a number or a boolean, a
``pattern``, ``unique_across_batches``' lookup) are still run by Polars, on the batch's few
values; the ISO 8601 parser of :mod:`.timestamps` is ported value by value.

Where the two could disagree, this path declines and Polars validates the batch: column types
other than text, 64-bit integers, floats and booleans; text that is not plain ASCII in a parsed
date or time; a date outside Python's years 1-9999; a float ``unique`` column; a float
``allowed`` list longer than a handful. ``tests/engines/test_small_batch.py`` runs both over the
same records, every rule kind and failing values included, and requires equal results.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import polars as pl

from charter.engines.polars import schema_drift
from charter.engines.polars.rule_values import _allowed, _anchored, _bound, conversion, each_rule
from charter.engines.polars.schema_drift import ColumnPlan, Reading, SchemaChange
from charter.engines.polars.timestamps import DATE_PATTERN, DATETIME_PATTERN
from charter.engines.rules import (
    VALUE_RULES,
    VIOLATIONS,
    BatchRuleResult,
    ContractRules,
    RowRule,
    RowRuleKind,
)

SMALL_BATCH = 64
"""Batches of at most this many rows are validated here (when every column allows it)."""

_FEW = 8  # as in .contract: allowed sets up to this size are compared by equality
_SUPPORTED = (pl.String, pl.Int64, pl.Float64, pl.Boolean)
_BLANKS = " \t\n\r\x0b\x0c"  # what Polars' strip_chars() strips from ASCII text
_DATETIME = re.compile(DATETIME_PATTERN[1:-1], re.ASCII)
_DATE = re.compile(DATE_PATTERN[1:-1], re.ASCII)
_US = {"h": 3_600_000_000, "mi": 60_000_000, "s": 1_000_000}
Seen = Callable[[str, pl.Series], pl.Series | None]
Predicate = Callable[[int], bool]


class DeclinedError(Exception):
    """This batch is validated by Polars (a value or a type this path does not mirror exactly)."""


def validate_small(
    df: pl.DataFrame,
    rules: ContractRules,
    plans: list[ColumnPlan],
    changes: list[SchemaChange],
    seen: Seen,
    now: datetime | None,
    judge: Callable[[pl.DataFrame, pl.DataFrame], list[BatchRuleResult]],
) -> tuple[pl.DataFrame, pl.DataFrame, list[BatchRuleResult]] | None:
    """The valid rows (typed), the failed rows (as they arrived, with ``_violations``) and the
    batch rules, as the Polars compilation gives them; None when this batch is Polars' to do."""
    if df.height > SMALL_BATCH or any(dtype not in _SUPPORTED for dtype in df.dtypes):
        return None
    try:
        typed, errors = _convert(df, plans)
        checks = _row_checks(plans, rules, typed, errors, df, seen)
    except DeclinedError:
        return None
    reasons = [[name for name, broken in checks if broken(row)] for row in range(df.height)]
    bad = [bool(names) for names in reasons]
    batch = judge(df, typed)
    if not any(bad):
        valid = typed
        failed = df.clear().hstack([pl.Series(VIOLATIONS, [], pl.List(pl.String))])
    else:
        valid = typed.filter(pl.Series([not b for b in bad]))
        kept = [names for names in reasons if names]
        failed = df.filter(pl.Series(bad)).hstack([pl.Series(VIOLATIONS, kept, pl.List(pl.String))])
    return valid, failed, batch


# -- conversion ---------------------------------------------------------------------------------
def _convert(
    df: pl.DataFrame, plans: list[ColumnPlan]
) -> tuple[pl.DataFrame, dict[str, list[bool]]]:
    """The batch with contract columns in their declared types, and per converted column which
    rows failed ``type`` (as :func:`.contract._convert`, which it mirrors)."""
    columns = {name: df.get_column(name) for name in df.columns}
    errors: dict[str, list[bool]] = {}
    by_polars: list[ColumnPlan] = []
    for plan in plans:
        if not plan.present or plan.value is None or plan.spec is None:
            continue
        dtype = df.schema[plan.name]
        if plan.reading is Reading.PARSED and plan.spec.type in ("datetime", "date"):
            assert dtype == pl.String  # records of text, Int64, Float64, Boolean only
            raw = columns[plan.name].to_list()
            parse = _instant if plan.spec.type == "datetime" else _calendar_day
            values = [None if text is None else parse(text) for text in raw]
            target = schema_drift.DECLARED_DTYPES[plan.spec.type]
            if plan.spec.type == "datetime":
                target = pl.Datetime("us", "UTC")
            columns[plan.name] = pl.Series(plan.name, values, dtype=target)
            errors[plan.name] = [
                r is not None and v is None for r, v in zip(raw, values, strict=True)
            ]
        elif plan.reading is Reading.INCOMPATIBLE:
            target = schema_drift.DECLARED_DTYPES[plan.spec.type]
            raw_nulls = columns[plan.name].is_null().to_list()
            columns[plan.name] = pl.Series(plan.name, [None] * df.height, dtype=target)
            errors[plan.name] = [not n for n in raw_nulls]
        elif plan.reading is Reading.PARSED or not plan.value.meta.eq(pl.col(plan.name)):
            by_polars.append(plan)  # a number or a boolean read from text, or a cast
    if by_polars:  # small expressions of Polars' own meaning, on a handful of values
        converted = df.select_seq([e for plan in by_polars for e in conversion(plan)])
        for plan in by_polars:
            columns[plan.name] = converted.get_column(plan.name)
            if plan.type_error is not None:
                errors[plan.name] = converted.get_column(f"{plan.name}.type").to_list()
    typed = pl.DataFrame(list(columns.values()), height=df.height) if columns else df
    return typed, errors


def _instant(text: str) -> datetime | None:
    """One value as :func:`.timestamps.parse_datetimes` reads it (aware, UTC), or None."""
    match = _DATETIME.fullmatch(_ascii(text).strip(_BLANKS))
    if match is None:
        return None
    field = match.groupdict()
    day = _day(field)
    hour, minute, second = (_int(field[name]) for name in ("h", "mi", "s"))
    digits = field["f"]
    fraction = float(digits) / 10.0 ** len(digits) if digits is not None else 0.0
    unit = _US["h"] if minute is None else _US["mi"] if second is None else _US["s"]
    h, mi, s = hour or 0, minute or 0, second or 0
    micros = h * _US["h"] + mi * _US["mi"] + s * _US["s"] + round(fraction * unit)
    sign = -1 if field["zs"] == "-" else 1
    zone_hours, zone_minutes = _int(field["zh"]) or 0, _int(field["zm"]) or 0
    offset = sign * (zone_hours * 60 + zone_minutes) * _US["mi"]
    valid = (
        h <= 24
        and mi <= 59
        and s <= 60
        and (h < 24 or micros == 24 * _US["h"])
        and zone_hours <= 23
        and zone_minutes <= 59
    )
    if not valid or day is None:
        return None
    try:
        return datetime.combine(day, time(), UTC) + timedelta(microseconds=micros - offset)
    except OverflowError:
        raise DeclinedError from None  # outside years 1-9999: Polars' dates reach further


def _calendar_day(text: str) -> date | None:
    """One value as :func:`.timestamps.parse_dates` reads it, or None."""
    match = _DATE.fullmatch(_ascii(text).strip(_BLANKS))
    return None if match is None else _day(match.groupdict())


def _day(field: dict[str, str | None]) -> date | None:
    """The date of whichever form matched (``.timestamps._day``)."""
    try:
        year = field["y"] or field["by"]
        if year is not None:
            month, day = field["mo"] or field["bmo"], field["d"] or field["bd"]
            _real_year(int(year))
            try:
                return date(int(year), int(month or 0), int(day or 0))
            except ValueError:
                return None  # not a real day: Polars' to_date(strict=False) is null too
        if field["oy"] is not None:
            year_, ordinal = int(field["oy"]), int(field["od"] or 0)
            _real_year(year_)
            found = date(year_, 1, 1) + timedelta(days=ordinal - 1)
            return found if ordinal >= 1 and found.year == year_ else None
        week_year, week = int(field["wy"] or 0), int(field["ww"] or 0)
        _real_year(week_year)
        weekday = int(field["wd"] or 1)
        jan4 = date(week_year, 1, 4)
        found = jan4 + timedelta(days=(week - 1) * 7 + weekday - jan4.isoweekday())
        return found if week >= 1 and found.isocalendar().year == week_year else None
    except OverflowError:
        raise DeclinedError from None


def _real_year(year: int) -> None:
    if not 1 <= year <= 9998:  # year 0 and the edge of 9999 are Polars' (proleptic, wider)
        raise DeclinedError


def _ascii(text: str) -> str:
    if not text.isascii():
        raise DeclinedError  # Unicode digits and blanks: Polars' regex and strip have their own sets
    return text


def _int(text: str | None) -> int | None:
    return None if text is None else int(text)


# -- rules --------------------------------------------------------------------------------------
def _row_checks(
    plans: list[ColumnPlan],
    contract: ContractRules,
    typed: pl.DataFrame,
    errors: dict[str, list[bool]],
    df: pl.DataFrame,
    seen: Seen,
) -> list[tuple[str, Predicate]]:
    """Every row rule that applies, in report order (``.contract._row_rules``), as a predicate
    of the row index that is true where the row breaks it."""
    return each_rule(
        plans, contract, lambda rule, plan: _compile(rule, plan, typed, errors, df, seen)
    )


def _compile(
    rule: RowRule,
    plan: ColumnPlan,
    typed: pl.DataFrame,
    errors: dict[str, list[bool]],
    df: pl.DataFrame,
    seen: Seen,
) -> Predicate | None:
    name, kind = rule.column, rule.kind
    if not plan.present:
        return _always if kind is RowRuleKind.MISSING and plan.required else None
    if kind is RowRuleKind.MISSING:
        return None
    if kind is RowRuleKind.TYPE:
        failed = errors.get(name)
        return failed.__getitem__ if failed is not None and plan.type_error is not None else None
    if kind is RowRuleKind.NOT_NULL:
        nulls = df.get_column(name).is_null().to_list()  # the value as it arrived
        return nulls.__getitem__
    values = typed.get_column(name)
    if kind in VALUE_RULES:
        if plan.reading is Reading.INCOMPATIBLE:
            return None
        return _value_rule(rule, values)
    if values.dtype == pl.Float64:
        raise DeclinedError  # NaN and -0.0 as Polars hashes them
    items = values.to_list()
    if kind is RowRuleKind.UNIQUE:
        repeats, earlier = [], set()
        for value in items:
            repeats.append(value is not None and value in earlier)
            earlier.add(value)
        return repeats.__getitem__
    found = seen(name, values)  # UNIQUE_ACROSS_BATCHES
    if found is None:
        return None
    known = set(found.cast(values.dtype, strict=False).drop_nulls().to_list())
    hits = [value is not None and value in known for value in items]
    return hits.__getitem__


def _always(row: int) -> bool:
    return True


def _value_rule(rule: RowRule, values: pl.Series) -> Predicate:
    """``min``, ``max``, ``allowed`` or ``pattern`` (``.contract._value_rule``)."""
    assert rule.declared is not None
    if rule.kind is RowRuleKind.PATTERN:
        assert rule.pattern is not None
        matched = values.str.contains(_anchored(rule.column, rule.pattern)).to_list()
        broken = [m is False for m in matched]
        return broken.__getitem__
    items = values.to_list()
    floats = values.dtype == pl.Float64
    if rule.kind is RowRuleKind.ALLOWED:
        allowed = _allowed(rule.column, rule.declared, rule.allowed or (), values.dtype).to_list()
        if floats and len(allowed) > _FEW:
            raise DeclinedError
        outside = [v is not None and not any(_same(v, a) for a in allowed) for v in items]
        return outside.__getitem__
    assert rule.bound is not None
    if values.dtype not in (pl.Int64, pl.Float64, pl.Date) and not values.dtype.is_temporal():
        raise DeclinedError  # min/max apply to numbers and times only (the charter file says so)
    limit = _bound(rule.bound, rule.kind, rule.declared, values.dtype)
    if values.dtype == pl.Int64 and isinstance(limit, float):
        items = [None if v is None else float(v) for v in items]  # Polars' supertype: Float64
    if rule.kind is RowRuleKind.MAX:  # Polars orders NaN above every number
        above = [v is not None and (v > limit or (floats and math.isnan(v))) for v in items]
        return above.__getitem__
    below = [v is not None and (v < limit or (floats and math.isnan(v))) for v in items]
    return below.__getitem__


def _same(value: Any, allowed: Any) -> bool:
    """Polars' equality: NaN equals NaN."""
    if isinstance(value, float) and isinstance(allowed, float):
        return value == allowed or (math.isnan(value) and math.isnan(allowed))
    return bool(value == allowed)
