"""Compare a batch's columns with the data contract, and say how each column is read.

Upstream systems rename, drop and retype columns without telling anyone. Each batch's schema is
compared with the contract and every difference is reported by name as a :class:`SchemaChange`:

``new_column``
    a column the contract does not mention (it is passed through untouched);
``missing_column``
    a column the contract names is absent. If it is required, every row of the batch is
    quarantined with ``<column>.missing``; if it is optional, its rules are skipped and the valid
    rows get the column filled with nulls, so what downstream sees keeps one shape;
``type_changed``
    the column's type cannot represent the declared type (e.g. a ``float`` field arriving as
    booleans, a ``string`` field arriving as integers). Every non-null value fails
    ``<column>.type``.

A column the contract names is *read* as its declared type in one of three ways (:class:`Reading`):

- ``native``: its type belongs to the declared type's family (any integer width for ``int``; any
  integer or float for ``float``; String, Categorical or Enum for ``string``; any Datetime unit or
  time zone for ``datetime``; a column of nothing but nulls for anything). It is cast losslessly;
- ``parsed``: its type can hold the declared type but not every value is one: text for any type
  (CSV and JSON deliver text), floats or UInt64 for ``int``. Each value is converted; a non-null
  value that does not convert fails ``<column>.type`` and the others pass on, converted. This is
  not a schema change: the values, not the column, are wrong;
- ``incompatible``: a ``type_changed`` schema change, as above.

Text is parsed leniently about surrounding blanks: ``int`` accepts ``"42"`` and ``"42.0"`` (an
integral float, as pandas writes integer columns with gaps); ``float`` accepts what Polars parses,
including ``nan`` and ``inf``; ``bool`` accepts ``true``/``false``/``1``/``0`` in any case;
``datetime`` accepts ISO 8601 in every form :mod:`charter.engines.polars.timestamps` lists
(``2024-06-01``, ``2024-06-01 10:00``, ``2024-06-01T10:00:00.5+02:00``, ``20240601T100000Z``, ...),
read as UTC (an offset is converted; none means UTC already); ``date`` accepts the ISO 8601 date
forms (``2024-06-01``, ``20240601``, ``2024-153``, ``2024-W22-6``).

The key, the event-time column and a ``prediction`` column are contract columns even when they are
not listed under ``fields``: they are then required but untyped.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

import polars as pl

from charter.engines.polars.timestamps import parse_dates, parse_datetimes
from charter.engines.rules import ChangeKind, ContractRules, SchemaChange
from charter.spec.model import FieldSpec

__all__ = ["ChangeKind", "ColumnPlan", "Reading", "SchemaChange", "plan_columns"]

DECLARED_DTYPES: dict[str, pl.DataType] = {
    "int": pl.Int64(),
    "float": pl.Float64(),
    "string": pl.String(),
    "bool": pl.Boolean(),
    "datetime": pl.Datetime("us"),
    "date": pl.Date(),
}
_TRUTH = {"true": True, "false": False, "1": True, "0": False}


class Reading(enum.Enum):
    """How a present column becomes its declared type."""

    NATIVE = "native"
    PARSED = "parsed"
    INCOMPATIBLE = "incompatible"


@dataclass(frozen=True)
class ColumnPlan:
    """One contract column: is it there, and how is it read as its declared type.

    ``value`` evaluates, on the batch as it arrived, to the column in its declared type (``None``
    when the column is absent, or untyped and used as it is). ``type_error`` is true where a
    non-null value did not convert (``None`` when no value can fail).
    """

    name: str
    spec: FieldSpec | None
    present: bool
    reading: Reading
    value: pl.Expr | None
    type_error: pl.Expr | None

    @property
    def required(self) -> bool:
        return self.spec.required if self.spec is not None else True

    @property
    def dtype(self) -> pl.DataType | None:
        return DECLARED_DTYPES[self.spec.type] if self.spec is not None else None


def plan_columns(
    schema: pl.Schema, rules: ContractRules
) -> tuple[list[ColumnPlan], list[SchemaChange]]:
    """Plan how each contract column is read from a batch with ``schema``; list the changes."""
    plans: list[ColumnPlan] = []
    changes: list[SchemaChange] = []
    for name, spec in ((column.column, column.spec) for column in rules.columns):
        if name not in schema:
            plan = ColumnPlan(name, spec, False, Reading.NATIVE, None, None)
            consequence = (
                f"every row is quarantined as {name}.missing"
                if plan.required
                else "optional: its rules are skipped and valid rows get nulls"
            )
            changes.append(SchemaChange("missing_column", name, f"absent; {consequence}"))
        elif spec is None:
            plan = ColumnPlan(name, None, True, Reading.NATIVE, None, None)
        else:
            plan = _read(name, spec, schema[name])
            if plan.reading is Reading.INCOMPATIBLE:
                detail = (
                    f"declared {spec.type}, arrived as {schema[name]}; "
                    f"every non-null value fails {name}.type"
                )
                changes.append(SchemaChange("type_changed", name, detail))
        plans.append(plan)
    known = {plan.name for plan in plans}
    for name, dtype in schema.items():
        if name not in known:
            detail = f"{dtype} column not in the contract; passed through unchecked"
            changes.append(SchemaChange("new_column", name, detail))
    return plans, changes


def _read(name: str, spec: FieldSpec, dtype: pl.DataType) -> ColumnPlan:
    col = pl.col(name)
    reading = _reading(spec.type, dtype)
    if reading is Reading.NATIVE:
        target = dtype if isinstance(dtype, pl.Datetime) else DECLARED_DTYPES[spec.type]
        value = col if dtype == target else col.cast(target)
        return ColumnPlan(name, spec, True, reading, value, None)
    if reading is Reading.INCOMPATIBLE:
        value = pl.lit(None, DECLARED_DTYPES[spec.type])
        return ColumnPlan(name, spec, True, reading, value, col.is_not_null())
    value = _parse(col, spec.type, dtype)
    return ColumnPlan(name, spec, True, reading, value, col.is_not_null() & value.is_null())


def _reading(declared: str, dtype: pl.DataType) -> Reading:
    if dtype == pl.Null:
        return Reading.NATIVE
    if dtype == pl.String:
        return Reading.NATIVE if declared == "string" else Reading.PARSED
    native = {
        "int": dtype.is_integer() and dtype not in (pl.UInt64, pl.Int128),
        "float": dtype.is_float() or dtype.is_integer() or dtype.is_decimal(),
        "string": isinstance(dtype, pl.Categorical | pl.Enum),
        "bool": dtype == pl.Boolean,
        "datetime": isinstance(dtype, pl.Datetime),
        "date": dtype == pl.Date,
    }
    if native[declared]:
        return Reading.NATIVE
    if declared == "int" and (dtype.is_float() or dtype.is_integer()):
        return Reading.PARSED
    return Reading.INCOMPATIBLE


def _parse(col: pl.Expr, declared: str, dtype: pl.DataType) -> pl.Expr:
    """The per-value conversion of a ``parsed`` column; null where a value does not convert."""
    if declared == "int" and dtype != pl.String:
        return _integral(col) if dtype.is_float() else col.cast(pl.Int64, strict=False)
    text = col.str.strip_chars()
    if declared == "int":
        return pl.coalesce(
            text.cast(pl.Int64, strict=False), _integral(text.cast(pl.Float64, strict=False))
        )
    if declared == "float":
        return text.cast(pl.Float64, strict=False)
    if declared == "bool":
        lowered = text.str.to_lowercase()
        return lowered.replace_strict(_TRUTH, default=None, return_dtype=pl.Boolean)
    if declared == "datetime":
        return parse_datetimes(text)
    return parse_dates(text)


def _integral(floats: pl.Expr) -> pl.Expr:
    """Floats that hold a whole number in the Int64 range, as Int64; null otherwise."""
    return pl.when(floats.round() == floats).then(floats.cast(pl.Int64, strict=False))
