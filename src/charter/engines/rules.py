"""The data contract's rules as a small typed intermediate representation, for every engine.

:func:`contract_rules` reads a charter's :class:`~charter.spec.model.DataContract` once and
lists what it asks of a batch: per column, the row rules in the order they are reported, and the
batch rules. An engine compiles this to its own expressions (the Polars engine in
:mod:`charter.engines.polars.contract`), the way a segment expression is one tree that each
engine evaluates. Nothing here knows how rules are evaluated.

Row rules are named ``<column>.<kind>`` in quarantine's ``_violations`` list; batch rules are
``volume.min_rows``, ``volume.max_rows``, ``<column>.max_null_fraction`` and
``freshness.max_age``. Which row rules apply to one batch also depends on the batch (a missing
column, a column that arrived in an incompatible type): the engine decides that from the batch's
schema, keeping the order given here.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal

from charter.spec.model import DataContract, FieldSpec

VIOLATIONS = "_violations"
"""The list column on quarantined rows naming every rule each row broke."""

AllowedValue = str | int | float | bool
Observed = int | float | timedelta | None
ChangeKind = Literal["new_column", "missing_column", "type_changed"]


class RowRuleKind(enum.StrEnum):
    """What a row rule checks; the value is the suffix of its name (``<column>.<kind>``)."""

    MISSING = "missing"  # a required column is absent: every row fails
    TYPE = "type"  # a non-null value cannot be read as the declared type
    NOT_NULL = "not_null"  # ``nullable: false`` and the value is null
    MIN = "min"  # below ``bound`` (NaN fails too)
    MAX = "max"  # above ``bound``
    ALLOWED = "allowed"  # not one of ``allowed``
    PATTERN = "pattern"  # does not match ``pattern`` as a whole
    UNIQUE = "unique"  # occurred earlier in this batch
    UNIQUE_ACROSS_BATCHES = "unique_across_batches"  # seen in an earlier batch


VALUE_RULES = frozenset(
    {RowRuleKind.MIN, RowRuleKind.MAX, RowRuleKind.ALLOWED, RowRuleKind.PATTERN}
)
"""Rules on a column's values: skipped when the column arrived in an incompatible type."""


class BatchRuleKind(enum.StrEnum):
    """What a batch rule checks."""

    MIN_ROWS = "min_rows"
    MAX_ROWS = "max_rows"
    MAX_NULL_FRACTION = "max_null_fraction"
    MAX_AGE = "max_age"


@dataclass(frozen=True)
class RowRule:
    """One row rule on one column, with the parameter its kind takes (the others stay None)."""

    column: str
    kind: RowRuleKind
    declared: str | None = None  # the field's declared type; None for an untyped column
    bound: float | None = None  # MIN, MAX
    allowed: tuple[AllowedValue, ...] | None = None  # ALLOWED
    pattern: str | None = None  # PATTERN

    @property
    def name(self) -> str:
        return f"{self.column}.{self.kind}"


@dataclass(frozen=True)
class ColumnRules:
    """A column the contract names, its field (None when untyped) and its rules in report order."""

    column: str
    spec: FieldSpec | None
    rules: tuple[RowRule, ...]

    @property
    def required(self) -> bool:
        return self.spec.required if self.spec is not None else True

    def of(self, kind: RowRuleKind) -> RowRule | None:
        return next((rule for rule in self.rules if rule.kind is kind), None)


@dataclass(frozen=True)
class BatchRule:
    """One batch rule: ``limit`` is what the contract expects; ``column`` for per-column rules."""

    kind: BatchRuleKind
    limit: int | float | timedelta
    column: str | None = None

    @property
    def name(self) -> str:
        if self.kind in (BatchRuleKind.MIN_ROWS, BatchRuleKind.MAX_ROWS):
            return f"volume.{self.kind}"
        if self.kind is BatchRuleKind.MAX_AGE:
            return f"freshness.{self.kind}"
        return f"{self.column}.{self.kind}"


@dataclass(frozen=True)
class ContractRules:
    """Everything a data contract asks of a batch, ready for an engine to compile."""

    key: str
    event_time: str | None
    columns: tuple[ColumnRules, ...]
    batch: tuple[BatchRule, ...]

    def column(self, name: str) -> ColumnRules | None:
        return next((c for c in self.columns if c.column == name), None)


@dataclass(frozen=True)
class BatchRuleResult:
    """The verdict of one batch-level rule: what was observed against what the contract expects."""

    rule: str
    ok: bool
    observed: Observed
    expected: int | float | timedelta

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready; durations become seconds."""

        def plain(value: Observed) -> int | float | None:
            return value.total_seconds() if isinstance(value, timedelta) else value

        return {
            "rule": self.rule,
            "ok": self.ok,
            "observed": plain(self.observed),
            "expected": plain(self.expected),
        }


@dataclass(frozen=True)
class SchemaChange:
    """A difference between a batch's columns and the contract, reported by column name."""

    kind: ChangeKind
    column: str
    detail: str

    def to_dict(self) -> dict[str, str]:
        return {"kind": self.kind, "column": self.column, "detail": self.detail}


def judge_batch(
    rules: ContractRules,
    rows: int,
    null_counts: Mapping[str, int],
    newest: Mapping[str, Any],
    now: datetime | None,
) -> list[BatchRuleResult]:
    """The batch rules' verdicts from what an engine counted: the batch's rows, the nulls of each
    present column a ``max_null_fraction`` names (an absent column is not judged), and the
    newest value of the event-time column (absent or all null: ``freshness.max_age`` fails)."""
    results: list[BatchRuleResult] = []
    for rule in rules.batch:
        if rule.kind is BatchRuleKind.MIN_ROWS:
            assert isinstance(rule.limit, int)
            results.append(BatchRuleResult(rule.name, rows >= rule.limit, rows, rule.limit))
        elif rule.kind is BatchRuleKind.MAX_ROWS:
            assert isinstance(rule.limit, int)
            results.append(BatchRuleResult(rule.name, rows <= rule.limit, rows, rule.limit))
        elif rule.kind is BatchRuleKind.MAX_NULL_FRACTION:
            if rule.column is not None and rule.column in null_counts:
                assert not isinstance(rule.limit, timedelta)
                share = null_counts[rule.column] / rows if rows else 0.0
                results.append(BatchRuleResult(rule.name, share <= rule.limit, share, rule.limit))
        else:  # MAX_AGE
            assert rule.column is not None and isinstance(rule.limit, timedelta)
            age = _age(newest.get(rule.column), now)
            ok = age is not None and age <= rule.limit
            results.append(BatchRuleResult(rule.name, ok, age, rule.limit))
    return results


def _age(newest: Any, now: datetime | None) -> timedelta | None:
    """How old the newest event is; None when there is no event time to judge (which fails)."""
    if isinstance(newest, datetime):
        instant = newest if newest.tzinfo else newest.replace(tzinfo=UTC)
    elif isinstance(newest, date):
        instant = datetime.combine(newest, time(), tzinfo=UTC)
    else:
        return None
    current = now or datetime.now(UTC)
    current = current if current.tzinfo else current.replace(tzinfo=UTC)
    return current - instant


def contract_columns(contract: DataContract) -> dict[str, FieldSpec | None]:
    """Every column the contract names, in order: the fields, then key/time/prediction if unlisted."""
    columns: dict[str, FieldSpec | None] = dict(contract.fields)
    named = [contract.key, contract.event_time]
    if contract.prediction is not None:
        named.append(contract.prediction.column)
    for name in named:
        if name is not None and name not in columns:
            columns[name] = None
    return columns


def contract_rules(contract: DataContract) -> ContractRules:
    """The one place a data contract becomes rules (see the module docstring for their order)."""
    columns = tuple(
        ColumnRules(name, spec, _row_rules(name, spec, unique=name == contract.key))
        for name, spec in contract_columns(contract).items()
    )
    batch: list[BatchRule] = []
    if contract.volume.min_rows is not None:
        batch.append(BatchRule(BatchRuleKind.MIN_ROWS, contract.volume.min_rows))
    if contract.volume.max_rows is not None:
        batch.append(BatchRule(BatchRuleKind.MAX_ROWS, contract.volume.max_rows))
    for name, spec in contract_columns(contract).items():
        if spec is not None and spec.max_null_fraction is not None:
            batch.append(BatchRule(BatchRuleKind.MAX_NULL_FRACTION, spec.max_null_fraction, name))
    max_age = contract.freshness.max_age
    if max_age is not None and contract.event_time is not None:
        batch.append(BatchRule(BatchRuleKind.MAX_AGE, max_age, contract.event_time))
    return ContractRules(contract.key, contract.event_time, columns, tuple(batch))


def _row_rules(name: str, spec: FieldSpec | None, *, unique: bool) -> tuple[RowRule, ...]:
    declared = spec.type if spec is not None else None
    rules = [RowRule(name, RowRuleKind.MISSING, declared)]
    if spec is not None:
        rules.append(RowRule(name, RowRuleKind.TYPE, declared))
        if not spec.nullable:
            rules.append(RowRule(name, RowRuleKind.NOT_NULL, declared))
        if spec.min is not None:
            rules.append(RowRule(name, RowRuleKind.MIN, declared, bound=spec.min))
        if spec.max is not None:
            rules.append(RowRule(name, RowRuleKind.MAX, declared, bound=spec.max))
        if spec.allowed is not None:
            rules.append(RowRule(name, RowRuleKind.ALLOWED, declared, allowed=tuple(spec.allowed)))
        if spec.pattern is not None:
            rules.append(RowRule(name, RowRuleKind.PATTERN, declared, pattern=spec.pattern))
    if unique or (spec is not None and spec.unique):
        rules.append(RowRule(name, RowRuleKind.UNIQUE, declared))
        rules.append(RowRule(name, RowRuleKind.UNIQUE_ACROSS_BATCHES, declared))
    return tuple(rules)
