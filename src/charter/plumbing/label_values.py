"""Which delivered labels are valid: a pure function of one delivery and the charter's labels.

Every row of a delivery is either valid (a key and an allowed label) or invalid with one reason:

- ``key.missing``: no key;
- ``label.missing``: no label;
- ``label.not_allowed`` (binary classification): not one of ``labels.values`` (default 0 and 1,
  also true/false), e.g. ``yes`` for a 0/1 target; (multiclass) not one of the classes listed in
  ``labels.values``, each recorded as its index in that list (0, 1, 2, ...);
- ``label.not_a_number`` (regression): not a finite number.

Invalid rows are quarantined with their reason. A binary delivery that holds *numbers* outside
``labels.values`` (a 0/2 target under a 0/1 charter) is refused whole, naming the values found:
recording its 0s and quarantining its 2s would leave only one class labelled and bias every
realized metric.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from charter.errors import DataError
from charter.spec.model import LabelSpec, label_text

ROW = "row"
EXAMPLES = 5  # invalid rows shown per delivery (all are quarantined)
_BOOLEANS = {"true": 1.0, "false": 0.0}


@dataclass(frozen=True)
class CheckedLabels:
    """One delivery, split: ``valid`` (row, key, label) and ``invalid`` (row, key, value, reason)."""

    valid: pl.DataFrame
    invalid: pl.DataFrame

    def by_reason(self) -> dict[str, int]:
        counts = self.invalid.get_column("reason").value_counts(sort=True)
        return {str(reason): int(n) for reason, n in counts.iter_rows()}

    def examples(self, limit: int = EXAMPLES) -> list[dict[str, object]]:
        return self.invalid.head(limit).to_dicts()


def check_labels(frame: pl.DataFrame, spec: LabelSpec, task: str, where: str) -> CheckedLabels:
    """Split ``frame`` (a delivery as read) into valid and invalid rows; raise :class:`DataError`
    when the delivery is refused whole (a missing column, numbers outside ``labels.values``)."""
    missing = [c for c in (spec.key, spec.target) if c not in frame.columns]
    if missing:
        raise DataError(
            f"{where}: no column {', '.join(map(repr, missing))} in the labels "
            f"(columns: {', '.join(frame.columns) or 'none'})"
        )
    key = frame[spec.key].cast(pl.String).str.strip_chars()
    text = _canonical(frame[spec.target])
    binary = task != "regression"  # a class label: one of labels.values
    if binary:
        codes = _codes(spec) if task == "binary_classification" else _class_codes(spec)
        label = text.replace_strict(codes, default=None, return_dtype=pl.Float64)
        bad_reason = "label.not_allowed"
    else:
        label = text.cast(pl.Float64, strict=False)
        label = pl.select(pl.when(label.is_finite()).then(label)).to_series()
        bad_reason = "label.not_a_number"
    rows = pl.DataFrame(
        {
            ROW: pl.int_range(frame.height, eager=True, dtype=pl.Int64),
            "key": key,
            "value": frame[spec.target].cast(pl.String),
            "text": text,
            "label": label,
        }
    )
    reason = (
        pl.when(pl.col("key").is_null() | (pl.col("key") == ""))
        .then(pl.lit("key.missing"))
        .when(pl.col("text").is_null() | (pl.col("text") == ""))
        .then(pl.lit("label.missing"))
        .when(pl.col("label").is_null())
        .then(pl.lit(bad_reason))
    )
    rows = rows.with_columns(reason=reason)
    if binary:
        _refuse_foreign_numbers(rows, spec, where)
    valid = rows.filter(pl.col("reason").is_null()).select(ROW, "key", "label")
    invalid = rows.filter(pl.col("reason").is_not_null()).select(ROW, "key", "value", "reason")
    return CheckedLabels(valid, invalid)


def _canonical(values: pl.Series) -> pl.Series:
    """Values as :func:`~charter.spec.model.label_text` writes them: ``1.0`` → ``1``,
    ``True`` → ``true``, `` Yes `` → ``yes``; nulls stay null."""
    text = values.cast(pl.String).str.strip_chars().str.to_lowercase()
    number = text.cast(pl.Float64, strict=False)
    integral = number.is_finite() & (number == number.floor())
    return pl.select(
        pl.when(integral)
        .then(number.cast(pl.Int64, strict=False).cast(pl.String))
        .when(number.is_not_null())
        .then(number.cast(pl.String))
        .otherwise(text)
    ).to_series()


def _codes(spec: LabelSpec) -> dict[str, float]:
    """Canonical text → 0.0 (negative) or 1.0 (positive); 0/1 also accept true/false."""
    negative, positive = (label_text(v) for v in spec.allowed_values())
    codes = {negative: 0.0, positive: 1.0}
    if (negative, positive) == ("0", "1"):
        codes.update(_BOOLEANS)
    return codes


def _class_codes(spec: LabelSpec) -> dict[str, float]:
    """Canonical text of each multiclass class → its index in ``labels.values``."""
    return {text: float(index) for index, text in enumerate(spec.classes())}


def _refuse_foreign_numbers(rows: pl.DataFrame, spec: LabelSpec, where: str) -> None:
    numbers = pl.col("text").cast(pl.Float64, strict=False)
    foreign = rows.filter((pl.col("reason") == "label.not_allowed") & numbers.is_not_null())
    if foreign.height == 0:
        return
    found = (
        rows.filter(numbers.is_not_null() | pl.col("label").is_not_null())
        .group_by("text")
        .agg(pl.len().alias("n"), pl.col(ROW).min().alias("first"))
        .sort("first")
    )
    values = ", ".join(f"{t} x {n}" for t, n, _ in found.iter_rows())
    first = ", ".join(str(r) for r in foreign.get_column(ROW).head(EXAMPLES).to_list())
    allowed = ", ".join(label_text(v) for v in spec.allowed_values())
    raise DataError(
        f"{where}: column {spec.target!r} holds the values {values}, but labels.values allows "
        f"only {allowed}: {foreign.height} rows hold a number outside them (first at rows "
        f"{first}). Nothing from this delivery was recorded. If the target is "
        "coded differently, declare them in `labels.values` (binary: [NEGATIVE, POSITIVE]); "
        "otherwise fix the file and send it again."
    )
