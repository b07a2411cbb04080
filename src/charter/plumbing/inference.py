"""A data contract read off a sample of the data: ``charter init NAME --from-data FILE``.

Each column of the file becomes a field contract: its type, whether it may be missing, a range
with a margin for numbers, the allowed values of a string column with few distinct values, and
uniqueness for the key. Every inferred value carries a note saying what it was read from, so the
owner reviews a proposal instead of writing a contract. The target column (``--target``) is not
part of the live data: it decides the task and becomes the charter's ``labels`` section.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import polars as pl

from charter.errors import CharterError, DataError
from charter.spec.inferred import InferredContract, InferredField

#: A string column with at most this many distinct values gets an ``allowed`` list.
MAX_ALLOWED = 20
#: The share of the observed range added below the minimum and above the maximum.
MARGIN = 0.10


_KINDS = {
    ".parquet": "parquet_dir",
    ".csv": "csv_dir",
    ".jsonl": "jsonl_dir",
    ".ndjson": "jsonl_dir",
}


def read_sample(path: Path) -> pl.DataFrame:
    """The whole file as a frame (Parquet, CSV with dates parsed, JSON Lines)."""
    suffix = path.suffix.lower()
    if suffix not in _KINDS:
        raise DataError(
            f"{path}: cannot infer a contract from a {suffix or 'suffix-less'} file",
            hint="Give a .parquet, .csv or .jsonl file.",
        )
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    try:
        if suffix == ".parquet":
            return pl.read_parquet(path)
        if suffix == ".csv":
            return pl.read_csv(path, try_parse_dates=True, infer_schema_length=10_000)
        return pl.read_ndjson(path)
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise DataError(f"{path}: cannot be read: {str(exc).splitlines()[0]}") from exc


def infer_contract(
    path: Path, *, key: str | None = None, event_time: str | None = None, target: str | None = None
) -> InferredContract:
    """Propose the data contract of the data in ``path``. Without ``key`` a column named ``id``
    (``key``, ...) is the key; without ``event_time`` one named ``event_at`` (``ts``, ...), or
    the only datetime column; otherwise the flag must be given."""
    frame = read_sample(path)
    if frame.height == 0:
        raise DataError(f"{path}: has no rows to infer a contract from")
    columns = frame.columns
    key = key or _guess(columns, ("id", "key", "row_id", "event_id"), "--key", path)
    times = [c for c in columns if isinstance(frame[c].dtype, pl.Datetime)]
    only_time = tuple(times) if len(times) == 1 else ()
    event_time = event_time or _guess(
        columns,
        ("event_at", "event_time", "timestamp", "ts", "created_at", *only_time),
        "--event-time",
        path,
    )
    for flag, column in (("--key", key), ("--event-time", event_time), ("--target", target)):
        if column is not None and column not in columns:
            raise CharterError(
                f"{flag} {column}: {path} has no such column",
                hint=f"Its columns: {', '.join(columns)}.",
            )
    if target in (key, event_time):
        raise CharterError(f"--target {target} is also the key or the event time")
    fields = [
        _infer(frame[name], path, key=name == key)
        for name in columns
        if name != target  # the target arrives later, as labels
    ]
    by_name = {f.name: f for f in fields}
    if by_name[event_time].type not in ("datetime", "date"):
        raise CharterError(
            f"--event-time {event_time}: the column holds {by_name[event_time].type} values, "
            "not timestamps",
            hint="Name a datetime column (CSV: ISO 8601 text such as 2026-01-05T10:00:00Z).",
        )
    task = "binary_classification" if target is None else _task(frame[target], path)
    classes = None
    if target is not None and task == "multiclass_classification":
        classes = sorted(str(v) for v in frame[target].drop_nulls().unique().to_list())
    return InferredContract(
        classes=classes,
        source=str(path),
        rows=frame.height,
        fields=fields,
        key=key,
        event_time=event_time,
        target=target,
        task=task,
        source_kind=_KINDS[path.suffix.lower()],
    )


def _guess(columns: list[str], names: tuple[str, ...], flag: str, path: Path) -> str:
    for name in names:
        if name in columns:
            return name
    raise CharterError(
        f"{path}: no column is obviously the {'key' if flag == '--key' else 'event time'}",
        hint=f"Name it with {flag} COLUMN (columns: {', '.join(columns)}).",
    )


def _type(series: pl.Series, path: Path) -> str:
    dtype = series.dtype
    if dtype.is_integer():
        return "int"
    if dtype.is_float() or dtype.is_decimal():
        return "float"
    if dtype == pl.Boolean:
        return "bool"
    if isinstance(dtype, pl.Datetime):
        return "datetime"
    if dtype == pl.Date:
        return "date"
    if dtype in (pl.String, pl.Categorical) or isinstance(dtype, pl.Enum):
        return "string"
    raise DataError(
        f"{path}: column {series.name!r} holds {dtype}, which a field contract cannot describe",
        hint="Field types are int, float, string, bool, datetime and date; drop or cast it.",
    )


def _infer(series: pl.Series, path: Path, *, key: bool) -> InferredField:
    kind = _type(series, path)
    rows, nulls = series.len(), series.null_count()
    seen = f"{rows:,} rows of {path.name}"
    if key:
        duplicates = rows - series.n_unique()
        if nulls or duplicates:
            raise DataError(
                f"{path}: the key {series.name!r} has {nulls} missing and {duplicates} repeated "
                "values; a key identifies one row",
                hint="Name another column with --key.",
            )
        return InferredField(series.name, kind, False, f"unique in {seen}", unique=True)
    notes = []
    nullable = nulls > 0
    fraction = None
    if nullable:
        fraction = min(1.0, max(0.01, round(2 * nulls / rows, 3)))
        notes.append(f"{nulls / rows:.1%} missing; allowed up to twice that")
    else:
        notes.append("never missing")
    low = high = None
    allowed = None
    values = series.drop_nulls()
    if kind in ("int", "float") and values.len():
        low, high = _bounds(values, integer=kind == "int")
        notes.append(f"observed {_number(values.min())} to {_number(values.max())}, 10% margin")
    elif kind == "string" and values.len():
        distinct = values.cast(pl.String).unique().sort()
        if distinct.len() <= MAX_ALLOWED:
            allowed = distinct.to_list()
            notes.append(f"{distinct.len()} distinct values")
        else:
            notes.append(f"{distinct.len():,} distinct values: no allowed list")
    return InferredField(
        series.name,
        kind,
        nullable,
        f"{'; '.join(notes)} in {seen}",
        min=low,
        max=high,
        allowed=allowed,
        max_null_fraction=fraction,
    )


def _bounds(values: pl.Series, *, integer: bool) -> tuple[float, float]:
    low, high = float(values.min()), float(values.max())  # type: ignore[arg-type]
    spread = high - low or abs(high) or 1.0
    margin = spread * MARGIN
    floor = low - margin
    if low >= 0 > floor:  # never negative in the sample: keep the sign as a rule
        floor = 0.0
    ceiling = high + margin
    if integer:
        return float(math.floor(floor)), float(math.ceil(ceiling))
    return _round(floor), _round(ceiling)


def _round(value: float) -> float:
    """``value`` to 4 significant digits: a bound to read, not a measurement."""
    if value == 0:
        return 0.0
    digits = 3 - math.floor(math.log10(abs(value)))
    return round(value, max(digits, 0)) if digits >= 0 else float(round(value, digits))


def _number(value: Any) -> str:
    return f"{value:,}" if isinstance(value, int) else f"{value:,.4g}"


MAX_CLASSES = 50  # more distinct text labels than this is more likely an identifier


def _task(series: pl.Series, path: Path) -> str:
    values = set(series.drop_nulls().unique().to_list())
    if values <= {0, 1} or values <= {True, False}:
        return "binary_classification"
    if series.dtype.is_numeric() and len(values) > 2:
        return "regression"
    if series.dtype == pl.String and 2 < len(values) <= MAX_CLASSES:
        return "multiclass_classification"
    shown = ", ".join(sorted(map(str, values))[:5])
    raise DataError(
        f"{path}: the target {series.name!r} holds {shown}: neither a 0/1 outcome, a number "
        f"nor 3 to {MAX_CLASSES} classes",
        hint="charter judges binary classification (0/1), multiclass classification (named "
        "classes) and regression; recode the target.",
    )
