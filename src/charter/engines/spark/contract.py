"""Validate a batch on Spark: the contract's rules compiled to Spark column expressions.

The rules are the ones every engine shares (:mod:`charter.engines.rules`), with the Polars
engine's semantics (:mod:`charter.engines.polars.contract` documents them): which rules apply to
a batch is decided by the same column plan (:func:`~charter.engines.polars.schema_drift.plan_columns`,
from the batch's schema alone), the literals of ``min``/``max``/``allowed`` are converted by the
same functions, and text is read as the same types (:mod:`.parsing`). Only the evaluation is
Spark's: one projection computes every rule as a boolean column, ``_violations`` is the
``array_compact`` of the broken rules' names in report order, and ``unique`` is a window over the
column ordered by arrival (the first occurrence passes). Valid and failed rows are split in
Spark and come back to the driver as Arrow, in the order they arrived.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import polars as pl
import pyarrow as pa
from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F  # noqa: N812 - Spark's own idiom

from charter.engines.polars.contract import (
    SeenKeys,
    ValidationResult,
    _allowed,
    _anchored,
    _bound,
    _seen_lookup,
    refuse_reserved,
)
from charter.engines.polars.schema_drift import DECLARED_DTYPES, ColumnPlan, Reading, plan_columns
from charter.engines.rules import (
    VALUE_RULES,
    VIOLATIONS,
    BatchRuleKind,
    BatchRuleResult,
    ContractRules,
    RowRule,
    RowRuleKind,
    judge_batch,
)
from charter.engines.spark.parsing import (
    integral,
    parse_bool,
    parse_dates,
    parse_datetimes,
    parse_int,
    strip,
)

ORDER = "__charter_order"
_SPARK_TYPES = {
    "int": "bigint",
    "float": "double",
    "string": "string",
    "bool": "boolean",
    "datetime": "timestamp",
    "date": "date",
}


def _typed_name(name: str) -> str:
    return f"__charter_typed.{name}"


def _rule_name(index: int) -> str:
    return f"__charter_rule_{index}"


@dataclass(frozen=True)
class _Reading:
    """One present contract column on Spark: its value in the declared type, its type error."""

    value: Column
    type_error: Column | None


def _read(plan: ColumnPlan, source: pl.DataType) -> _Reading | None:
    """How ``plan`` reads its column (None: an untyped column, used as it is)."""
    if plan.spec is None:
        return None
    col, declared = F.col(f"`{plan.name}`"), plan.spec.type
    target = _SPARK_TYPES[declared]
    if plan.reading is Reading.NATIVE:
        if isinstance(source, pl.Datetime):
            return _Reading(col, None)
        return _Reading(col.cast(target), None)
    if plan.reading is Reading.INCOMPATIBLE:
        return _Reading(F.lit(None).cast(target), col.isNotNull())
    if declared == "int" and source != pl.String:
        value = integral(col) if source.is_float() else col.try_cast("bigint")
    else:
        text = strip(col)
        value = {
            "int": lambda: parse_int(text),
            "float": lambda: text.try_cast("double"),
            "bool": lambda: parse_bool(text),
            "datetime": lambda: parse_datetimes(text),
            "date": lambda: parse_dates(text),
        }[declared]()
    return _Reading(value, col.isNotNull() & value.isNull())


def to_spark(spark: SparkSession, frame: pl.DataFrame) -> DataFrame:
    """The frame on Spark with its arrival order in :data:`ORDER`."""
    ordered = frame.with_row_index(ORDER).with_columns(pl.col(ORDER).cast(pl.Int64))
    return spark.createDataFrame(ordered.to_arrow())


def validate_on_spark(
    spark: SparkSession,
    frame: pl.DataFrame,
    rules: ContractRules,
    *,
    seen_keys: SeenKeys = None,
    now: datetime | None = None,
) -> ValidationResult:
    """:func:`charter.engines.polars.contract.validate`, evaluated by Spark."""
    refuse_reserved(frame.columns)
    schema = frame.schema
    plans, changes = plan_columns(schema, rules)
    sdf = to_spark(spark, frame)
    readings = {p.name: _read(p, schema[p.name]) for p in plans if p.present}
    typed_exprs = [
        reading.value.alias(_typed_name(name))
        for name, reading in readings.items()
        if reading is not None
    ]
    staged = sdf.select("*", *typed_exprs)
    typed_of = {
        name: F.col(f"`{_typed_name(name)}`") if r is not None else F.col(f"`{name}`")
        for name, r in readings.items()
    }
    staged, seen_columns = _mark_seen(spark, staged, plans, rules, typed_of, seen_keys)
    compiled: list[tuple[str, Column]] = []
    for plan, column in zip(plans, rules.columns, strict=True):
        for rule in column.rules:
            expr = _compile(rule, plan, readings, typed_of, seen_columns, schema)
            if expr is not None:
                compiled.append((rule.name, expr))
    judged = staged.select(
        "*", *[expr.alias(_rule_name(i)) for i, (_, expr) in enumerate(compiled)]
    )
    reasons = [F.when(F.col(_rule_name(i)), F.lit(name)) for i, (name, _) in enumerate(compiled)]
    violations = F.array_compact(F.array(*reasons)) if reasons else F.array().cast("array<string>")
    judged = judged.withColumn(VIOLATIONS, violations).cache()
    try:
        batch = _batch_rules(judged, plans, rules, typed_of, now)
        broken = F.size(F.col(VIOLATIONS)) > 0
        originals = [F.col(f"`{name}`") for name in frame.columns]
        typed_out = [
            typed_of[name].alias(name) if name in typed_of else F.col(f"`{name}`")
            for name in frame.columns
        ]
        valid_arrow = judged.filter(~broken).orderBy(ORDER).select(*typed_out).toArrow()
        failed_arrow = (
            judged.filter(broken).orderBy(ORDER).select(*originals, F.col(VIOLATIONS)).toArrow()
        )
    finally:
        judged.unpersist()
    valid = _as_polars(valid_arrow, _typed_schema(schema, plans))
    failed_schema = pl.Schema({**schema, VIOLATIONS: pl.List(pl.String)})
    failed = _as_polars(failed_arrow, failed_schema)
    absent = [p for p in plans if not p.present and p.dtype is not None]
    if absent:
        valid = valid.with_columns(pl.lit(None, p.dtype).alias(p.name) for p in absent)
    return ValidationResult(valid, failed, batch, changes)


def _typed_schema(schema: pl.Schema, plans: list[ColumnPlan]) -> pl.Schema:
    """What the Polars engine's valid rows hold: contract columns in their declared types."""
    out = dict(schema)
    for plan in plans:
        if not plan.present or plan.spec is None:
            continue
        source = schema[plan.name]
        native_time = plan.reading is Reading.NATIVE and isinstance(source, pl.Datetime)
        if not native_time:
            declared = DECLARED_DTYPES[plan.spec.type]
            parsed_time = plan.spec.type == "datetime" and plan.reading is not Reading.NATIVE
            out[plan.name] = pl.Datetime("us", "UTC") if parsed_time else declared
    return pl.Schema(out)


def _as_polars(table: pa.Table, schema: pl.Schema) -> pl.DataFrame:
    frame = pl.from_arrow(table, rechunk=False)
    assert isinstance(frame, pl.DataFrame)
    if frame.height == 0 and frame.width == 0:
        return pl.DataFrame(schema=schema)
    return frame.cast(schema, strict=False)


def _mark_seen(
    spark: SparkSession,
    staged: DataFrame,
    plans: list[ColumnPlan],
    rules: ContractRules,
    typed_of: dict[str, Column],
    seen_keys: SeenKeys,
) -> tuple[DataFrame, dict[str, Column]]:
    """For each unique column, a boolean column: its value was seen in an earlier batch.

    The caller's lookup (:data:`SeenKeys`) is asked with the batch's distinct values, collected to
    the driver; the values it returns are broadcast and joined back."""
    lookup = _seen_lookup(seen_keys, rules.key)
    marks: dict[str, Column] = {}
    for plan, column in zip(plans, rules.columns, strict=True):
        if not plan.present or column.of(RowRuleKind.UNIQUE_ACROSS_BATCHES) is None:
            continue
        name = plan.name
        distinct = staged.select(typed_of[name].alias("v")).where("v IS NOT NULL").distinct()
        values_frame = pl.from_arrow(distinct.toArrow())
        assert isinstance(values_frame, pl.DataFrame)
        values = values_frame.to_series().alias(name)
        earlier = lookup(name, values)
        if earlier is None:
            continue
        flag = f"__charter_seen.{name}"
        if earlier.len() == 0:
            marks[name] = F.lit(False)
            continue
        seen_df = spark.createDataFrame(
            pl.DataFrame({"v": earlier.cast(values.dtype, strict=False)}).unique().to_arrow()
        ).select(F.col("v").alias(f"__charter_seen_value.{name}"), F.lit(True).alias(flag))
        value_col = F.col(f"`__charter_seen_value.{name}`")
        staged = staged.join(F.broadcast(seen_df), typed_of[name] == value_col, "left").drop(
            value_col
        )
        marks[name] = F.coalesce(F.col(f"`{flag}`"), F.lit(False))
    return staged, marks


def _compile(
    rule: RowRule,
    plan: ColumnPlan,
    readings: dict[str, _Reading | None],
    typed_of: dict[str, Column],
    seen: dict[str, Column],
    schema: pl.Schema,
) -> Column | None:
    """One rule as a Spark column true where a row breaks it; None when it does not apply."""
    kind = rule.kind
    if not plan.present:
        return F.lit(True) if kind is RowRuleKind.MISSING and plan.required else None
    original, typed = F.col(f"`{plan.name}`"), typed_of[plan.name]
    reading = readings[plan.name]
    if kind is RowRuleKind.MISSING:
        return None
    if kind is RowRuleKind.TYPE:
        error = reading.type_error if reading is not None else None
        return F.coalesce(error, F.lit(False)) if error is not None else None
    if kind is RowRuleKind.NOT_NULL:
        return original.isNull()
    if kind in VALUE_RULES:
        if plan.reading is Reading.INCOMPATIBLE:
            return None
        return _value_rule(rule, typed, _typed_schema(schema, [plan])[plan.name])
    if kind is RowRuleKind.UNIQUE:
        order = Window.partitionBy(typed).orderBy(ORDER)
        return typed.isNotNull() & (F.row_number().over(order) > 1)
    return seen.get(plan.name)  # UNIQUE_ACROSS_BATCHES


def _value_rule(rule: RowRule, typed: Column, dtype: pl.DataType) -> Column:
    assert rule.declared is not None
    if rule.kind is RowRuleKind.ALLOWED:
        values = _allowed(rule.column, rule.declared, rule.allowed or (), dtype).to_list()
        return F.coalesce(~typed.isin(values), F.lit(False))
    if rule.kind is RowRuleKind.PATTERN:
        assert rule.pattern is not None
        return F.coalesce(~typed.rlike(_anchored(rule.column, rule.pattern)), F.lit(False))
    assert rule.bound is not None
    limit = F.lit(_bound(rule.bound, rule.kind, rule.declared, dtype))
    if rule.kind is RowRuleKind.MAX:  # Spark, like Polars, orders NaN above every number
        return F.coalesce(typed > limit, F.lit(False))
    broken = typed < limit
    if dtype.is_float():
        broken = broken | F.isnan(typed)
    return F.coalesce(broken, F.lit(False))


def _batch_rules(
    judged: DataFrame,
    plans: list[ColumnPlan],
    rules: ContractRules,
    typed_of: dict[str, Column],
    now: datetime | None,
) -> list[BatchRuleResult]:
    """The batch rules from one Spark aggregation (row and null counts, newest event time)."""
    present = {plan.name for plan in plans if plan.present}
    aggs: list[Column] = [F.count(F.lit(1)).alias("rows")]
    for i, rule in enumerate(rules.batch):
        if rule.kind is BatchRuleKind.MAX_NULL_FRACTION and rule.column in present:
            aggs.append(F.count_if(F.col(f"`{rule.column}`").isNull()).alias(f"nulls{i}"))
        if rule.kind is BatchRuleKind.MAX_AGE and rule.column in typed_of:
            aggs.append(F.max(typed_of[rule.column]).alias(f"newest{i}"))
    facts = pl.from_arrow(judged.agg(*aggs).toArrow())
    assert isinstance(facts, pl.DataFrame)
    row = facts.row(0, named=True)
    nulls, newest = {}, {}
    for i, rule in enumerate(rules.batch):
        if f"nulls{i}" in row:
            assert rule.column is not None
            nulls[rule.column] = int(row[f"nulls{i}"])
        if f"newest{i}" in row:
            assert rule.column is not None
            newest[rule.column] = row[f"newest{i}"]
    return judge_batch(rules, int(row["rows"]), nulls, newest, now)
