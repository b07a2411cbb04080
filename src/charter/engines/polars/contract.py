"""Validate a batch against its data contract: every row passes or is quarantined with its reasons.

The Polars engine's compiler of the contract's rules (:mod:`charter.engines.rules`, built once
from the charter) to Polars expressions. :func:`validate` is pure (no database, no clock unless
``now`` is omitted). It splits a batch into ``valid`` rows, ready to score, and ``failed`` rows, bound
for quarantine with a ``_violations`` list naming every rule each broke, so that
``valid.height + failed.height`` always equals the batch's height: nothing is silently dropped.

Row rules, named ``<column>.<rule>`` in ``_violations`` (in this order per column):

``missing``   a required column is absent: every row fails (see :mod:`.schema_drift`)
``type``      a non-null value cannot be read as the declared type
``not_null``  ``nullable: false`` and the value is null
``min``       the value is below ``min``; ``max``: above ``max`` (NaN fails both)
``allowed``   the value is not one of ``allowed``
``pattern``   the text does not match ``pattern`` *as a whole*: it is run as ``^(?:pattern)$``,
              by Polars' regex engine (no look-around, no back-references)
``unique``    the value already occurred earlier in this batch. The first occurrence passes, so
              one copy of a duplicated row survives; every later one fails
``unique_across_batches``
              the value was seen in an earlier batch (``seen_keys``)

A null fails ``not_null`` only: the other rules skip nulls. The contract's ``key`` is always unique
within and across batches; other fields are when they say ``unique: true``. ``min``/``max`` on a
``datetime`` or ``date`` field are Unix epoch seconds.

Batch rules are reported as :class:`BatchRuleResult`, and do not quarantine rows: a batch that is
small, stale or null-heavy is still made of rows that are individually fine, and an owner would
rather be alerted than lose them. They are ``volume.min_rows``, ``volume.max_rows``,
``<column>.max_null_fraction`` and ``freshness.max_age`` (newest event time versus ``now``).

The valid rows carry the contract's columns converted to their declared types; the failed rows
are kept exactly as they arrived, so that a replay after a fix sees the original values.

Speed: one boolean expression per rule, all evaluated in one Polars ``select`` (which runs them in
parallel); the rule columns are OR-ed into one row mask that splits the batch; ``_violations`` is
built only for the failing rows.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeAlias

import numpy as np
import polars as pl

from charter.engines.polars.rule_values import _allowed as _allowed
from charter.engines.polars.rule_values import _anchored as _anchored
from charter.engines.polars.rule_values import _bound as _bound
from charter.engines.polars.rule_values import conversion, each_rule
from charter.engines.polars.schema_drift import ColumnPlan, Reading, SchemaChange, plan_columns
from charter.engines.polars.small_batch import validate_small
from charter.engines.rules import (
    VALUE_RULES,
    VIOLATIONS,
    BatchRuleKind,
    BatchRuleResult,
    ContractRules,
    RowRule,
    RowRuleKind,
    contract_rules,
    judge_batch,
)
from charter.errors import DataError
from charter.spec.model import DataContract

__all__ = [
    "VIOLATIONS",
    "BatchRuleResult",
    "SeenKeys",
    "ValidationResult",
    "validate",
]

_FEW = 8  # allowed sets up to this size are tested by equality, larger ones by hashing
SeenKeys: TypeAlias = (
    pl.Series | Mapping[str, pl.Series] | Callable[[str, pl.Series], pl.Series] | None
)
"""What earlier batches held, for ``unique_across_batches``.

A Series: values of the contract's key already seen. A mapping: such a Series per unique column.
A callable ``(column, values) -> Series``: given the batch's distinct non-null values of a unique
column, return those already seen (e.g. one indexed database query per batch).
"""


@dataclass(frozen=True)
class ValidationResult:
    """A batch split into valid and failed rows, with the batch rules and schema changes."""

    valid: pl.DataFrame
    failed: pl.DataFrame
    batch_rules: list[BatchRuleResult] = field(default_factory=list)
    schema_changes: list[SchemaChange] = field(default_factory=list)

    @property
    def rows_in(self) -> int:
        return self.valid.height + self.failed.height

    @property
    def batch_ok(self) -> bool:
        return all(result.ok for result in self.batch_rules)

    def violation_counts(self) -> dict[str, int]:
        """How many failed rows broke each rule, most frequent first."""
        if self.failed.is_empty():
            return {}
        counts = self.failed.get_column(VIOLATIONS).explode().value_counts(sort=True)
        return dict(zip(counts[VIOLATIONS].to_list(), counts["count"].to_list(), strict=True))


def validate(
    frame: pl.DataFrame | pl.LazyFrame,
    contract: DataContract | ContractRules,
    *,
    seen_keys: SeenKeys = None,
    now: datetime | None = None,
    small_batches: bool = True,
) -> ValidationResult:
    """Check every row and the batch as a whole against ``contract``; never drop a row.

    ``contract`` is a charter's data contract or its rules (:func:`~charter.engines.rules.contract_rules`,
    which a caller validating many batches builds once).

    A batch of a few rows is checked by the same rules compiled to Python
    (:mod:`.small_batch`), with the same result; ``small_batches=False`` always uses Polars.

    Raises :class:`~charter.errors.DataError` when the contract cannot be applied at all: the
    batch already has a ``_violations`` column, an ``allowed`` value is not of the field's type, or
    a ``pattern`` is not supported by Polars' regex engine.
    """
    df = frame.collect() if isinstance(frame, pl.LazyFrame) else frame
    refuse_reserved(df.columns)
    ir = contract if isinstance(contract, ContractRules) else contract_rules(contract)
    plans, changes = _planned(df.schema, ir)
    seen = _seen_lookup(seen_keys, ir.key)
    if small_batches:

        def judge(raw: pl.DataFrame, typed: pl.DataFrame) -> list[BatchRuleResult]:
            return _batch_rules(raw, typed, plans, ir, now)

        small = validate_small(df, ir, plans, changes, seen, now, judge)
        if small is not None:
            valid, failed, batch = small
            return ValidationResult(_absent(valid, plans), failed, batch, changes)
    typed, early = _convert(df, plans)
    rules = _row_rules(plans, ir, typed, seen)
    late = typed.select([expr.alias(name) for name, expr in rules if name not in early])
    if early.width:
        masks = pl.DataFrame([*late.get_columns(), *early.get_columns()])
        masks = masks.select(name for name, _ in rules)
    else:
        masks = late
    batch = _batch_rules(df, typed, plans, ir, now)
    valid, failed = _split(df, typed, masks)
    return ValidationResult(_absent(valid, plans), failed, batch, changes)


_PLANS: dict[int, tuple[ContractRules, dict[tuple[Any, ...], Any]]] = {}
_PLANS_KEPT = 32
_PLANS_LOCK = threading.Lock()


def _planned(
    schema: pl.Schema, rules: ContractRules
) -> tuple[list[ColumnPlan], list[SchemaChange]]:
    """:func:`plan_columns`, remembered per rules and schema: a batch of one row would spend
    most of its time building the same expressions (the ISO 8601 parser is a large one)."""
    key = tuple((name, repr(dtype)) for name, dtype in schema.items())
    with _PLANS_LOCK:
        held = _PLANS.get(id(rules))
        if held is None or held[0] is not rules:  # the id of rules no longer held
            if len(_PLANS) >= _PLANS_KEPT:
                _PLANS.pop(next(iter(_PLANS)))
            held = _PLANS[id(rules)] = (rules, {})
        found = held[1].get(key)
    if found is None:
        found = plan_columns(schema, rules)
        with _PLANS_LOCK:
            if len(held[1]) >= _PLANS_KEPT:
                held[1].pop(next(iter(held[1])))
            held[1][key] = found
    plans, changes = found
    return list(plans), list(changes)


def _absent(valid: pl.DataFrame, plans: list[ColumnPlan]) -> pl.DataFrame:
    """The valid rows with every absent optional column the contract types, as nulls."""
    absent = [p for p in plans if not p.present and p.dtype is not None]
    if absent:
        valid = valid.with_columns(pl.lit(None, p.dtype).alias(p.name) for p in absent)
    return valid


def refuse_reserved(columns: list[str]) -> None:
    """A :class:`~charter.errors.DataError` when the batch already has a ``_violations`` column."""
    if VIOLATIONS in columns:
        raise DataError(
            f"the batch has a column named {VIOLATIONS}, which charter reserves for quarantine",
            hint=f"drop {VIOLATIONS} before validating (e.g. when replaying quarantined rows)",
        )


def _convert(df: pl.DataFrame, plans: list[ColumnPlan]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The batch with contract columns in their declared types, and the rule masks that need the
    original values (``type``, and ``not_null`` of converted columns) — one pass over the batch."""
    converting = [p for p in plans if p.present and p.value is not None and _casts(p)]
    if not converting:
        return df, pl.DataFrame()
    exprs: list[pl.Expr] = []
    for plan in converting:
        exprs.extend(conversion(plan))
        if plan.spec is not None and not plan.spec.nullable:
            exprs.append(pl.col(plan.name).is_null().alias(f"{plan.name}.not_null"))
    converted = df.select(exprs)
    values = [plan.name for plan in converting]
    early = converted.drop(values)
    return df.with_columns(converted.select(values)), early


def _casts(plan: ColumnPlan) -> bool:
    """Does reading this column change it? (A native column already in its type is left alone.)"""
    return plan.reading is not Reading.NATIVE or not _is_bare_column(plan.value, plan.name)


def _is_bare_column(expr: pl.Expr | None, name: str) -> bool:
    return expr is not None and expr.meta.eq(pl.col(name))


def _row_rules(
    plans: list[ColumnPlan],
    contract: ContractRules,
    typed: pl.DataFrame,
    seen: Callable[[str, pl.Series], pl.Series | None],
) -> list[tuple[str, pl.Expr]]:
    """Every row rule that applies to this batch as ``(name, expression true where the row breaks
    it)``, in report order: the contract's rules, kept or skipped by how each column arrived."""
    return each_rule(plans, contract, lambda rule, plan: _compile(rule, plan, typed, seen))


def _compile(
    rule: RowRule,
    plan: ColumnPlan,
    typed: pl.DataFrame,
    seen: Callable[[str, pl.Series], pl.Series | None],
) -> pl.Expr | None:
    """One rule as a Polars expression on ``typed``; None when it does not apply to this batch."""
    name, kind = rule.column, rule.kind
    if not plan.present:
        return (
            pl.repeat(True, typed.height) if kind is RowRuleKind.MISSING and plan.required else None
        )
    col = pl.col(name)
    if kind is RowRuleKind.MISSING:
        return None
    if kind is RowRuleKind.TYPE:
        return col if plan.type_error is not None else None  # computed while converting
    if kind is RowRuleKind.NOT_NULL:
        return col.is_null()
    if kind in VALUE_RULES:
        if plan.reading is Reading.INCOMPATIBLE:
            return None
        return _value_rule(rule, typed.schema[name])
    if kind is RowRuleKind.UNIQUE:
        return _repeated(typed.get_column(name))
    earlier = seen(name, typed.get_column(name))  # UNIQUE_ACROSS_BATCHES
    if earlier is None:
        return None
    return col.is_in(earlier.cast(typed.schema[name], strict=False).implode()).fill_null(False)


def _repeated(values: pl.Series) -> pl.Expr:
    """True for every non-null value that already occurred earlier in the column.

    Keys often arrive in order (sequences, timestamps). Then equal values are neighbours and a
    comparison with the previous non-null value finds repeats in one pass, several times faster
    than hashing every value; the order check costs one more pass and stops at the first
    disorder. Integer, temporal and text values in any order go through one sort
    (:func:`_later_copies`); floats are hashed (``is_first_distinct``), whose notion of equal
    (NaN, -0.0) a sort need not share.
    """
    col = pl.col(values.name)
    present = values.drop_nulls() if values.has_nulls() else values
    orderable = values.dtype.is_numeric() or values.dtype.is_temporal() or values.dtype == pl.String
    if orderable and (present.is_sorted() or present.is_sorted(descending=True)):
        return col.is_not_null() & col.eq(col.forward_fill().shift(1)).fill_null(False)
    if values.dtype.is_integer() or values.dtype.is_temporal() or values.dtype == pl.String:
        # Run inside the rules' one ``select``, beside the other rules rather than before them.
        return col.map_batches(_later_copies, return_dtype=pl.Boolean, is_elementwise=False)
    return col.is_not_null() & ~col.is_first_distinct()


def _later_copies(values: pl.Series) -> pl.Series:
    """Keys in any order: one count per value (dense integers, :func:`_dense_repeats`) or one
    sort (equal neighbours once sorted) finds the repeated values,
    and only the rows holding one of them are hashed to tell the first occurrence from the
    later ones. Several times faster than hashing every row (``is_first_distinct``) when, as
    with keys, repeats are rare."""
    present = values.drop_nulls()
    repeated = _dense_repeats(present) if values.dtype.is_integer() else None
    if repeated is None:
        ordered = present.sort()
        repeated = ordered.filter(ordered.eq(ordered.shift(1)).fill_null(False)).unique()
    later = pl.repeat(False, values.len(), dtype=pl.Boolean, eager=True).alias(values.name)
    if repeated.is_empty():
        return later
    rows = values.is_in(repeated.implode()).fill_null(False).arg_true()
    copies = rows.filter(~values.gather(rows).is_first_distinct())
    return later.scatter(copies, True) if copies.len() else later


def _dense_repeats(present: pl.Series) -> pl.Series | None:
    """Integer keys within a span of at most twice their count (shuffled sequence numbers):
    the values held more than once, by one count per value of the span (direct addressing, one
    pass, no sort); None for sparser keys."""
    if present.len() == 0:
        return None
    low, high = present.min(), present.max()
    assert isinstance(low, int) and isinstance(high, int)
    if high - low > 2 * present.len():
        return None
    counts = np.bincount((present - low).cast(pl.Int64).to_numpy(), minlength=high - low + 1)
    return pl.Series(present.name, np.flatnonzero(counts > 1)).cast(present.dtype) + low


def _value_rule(rule: RowRule, dtype: pl.DataType) -> pl.Expr:
    """``min``, ``max``, ``allowed`` or ``pattern``: true where a non-null value breaks it."""
    name, col = rule.column, pl.col(rule.column)
    assert rule.declared is not None
    if rule.kind is RowRuleKind.ALLOWED:
        return (~_one_of(col, _allowed(name, rule.declared, rule.allowed or (), dtype))).fill_null(
            False
        )
    if rule.kind is RowRuleKind.PATTERN:
        assert rule.pattern is not None
        return (~col.str.contains(_anchored(name, rule.pattern))).fill_null(False)
    assert rule.bound is not None
    limit = _bound(rule.bound, rule.kind, rule.declared, dtype)
    # Polars orders NaN above every number, so NaN is already "> max"; below min it is not.
    if rule.kind is RowRuleKind.MAX:
        above: pl.Expr = col > limit
        return above.fill_null(False)
    broken: pl.Expr = col < limit
    if dtype.is_float():
        broken = broken | col.is_nan()
    return broken.fill_null(False)


def _one_of(col: pl.Expr, allowed: pl.Series) -> pl.Expr:
    """Membership; a handful of equality tests is several times faster than a hashed lookup."""
    if 0 < allowed.len() <= _FEW:
        return pl.any_horizontal([col == pl.lit(value, allowed.dtype) for value in allowed])
    return col.is_in(allowed.implode())


def _seen_lookup(seen_keys: SeenKeys, key: str) -> Callable[[str, pl.Series], pl.Series | None]:
    """Normalise the three forms of ``seen_keys`` to: (column, its values) -> seen values or None."""

    def lookup(column: str, values: pl.Series) -> pl.Series | None:
        if seen_keys is None:
            return None
        if isinstance(seen_keys, pl.Series):
            return seen_keys if column == key else None
        if isinstance(seen_keys, Mapping):
            return seen_keys.get(column)
        return seen_keys(column, values.drop_nulls().unique())

    return lookup


def _split(
    df: pl.DataFrame, typed: pl.DataFrame, masks: pl.DataFrame
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Valid rows (typed) and failed rows (as they arrived, with ``_violations``), in input order."""
    empty_failed = df.clear().with_columns(pl.lit(None, pl.List(pl.String)).alias(VIOLATIONS))
    if masks.width == 0:
        return typed, empty_failed
    bad = masks.select(pl.any_horizontal(pl.all())).to_series()
    if not bad.any():
        return typed, empty_failed
    # One (row, rule) pair per broken rule, column by column, then gathered per row: with few
    # failing rows this is far cheaper than a list built from a when/then per rule and row.
    pairs = masks.filter(bad).with_row_index("_row").unpivot(index="_row", variable_name="rule")
    reasons = (
        pairs.filter(pl.col("value"))
        .group_by("_row", maintain_order=True)
        .agg(pl.col("rule").alias(VIOLATIONS))
        .sort("_row")
    )
    return typed.filter(~bad), df.filter(bad).hstack([reasons.get_column(VIOLATIONS)])


def _batch_rules(
    df: pl.DataFrame,
    typed: pl.DataFrame,
    plans: list[ColumnPlan],
    contract: ContractRules,
    now: datetime | None,
) -> list[BatchRuleResult]:
    present = {plan.name for plan in plans if plan.present}
    nulls, newest = {}, {}
    for rule in contract.batch:
        column = rule.column
        if rule.kind is BatchRuleKind.MAX_NULL_FRACTION and column in present:
            assert column is not None
            nulls[column] = df.get_column(column).null_count()
        if rule.kind is BatchRuleKind.MAX_AGE and column is not None and column in typed.columns:
            newest[column] = typed.get_column(column).max()
    return judge_batch(contract, df.height, nulls, newest, now)
