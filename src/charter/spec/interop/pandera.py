"""A Pandera schema object as a charter data contract, read by its public attributes.

Works with ``pandera.pandas`` and ``pandera.polars`` ``DataFrameSchema`` objects (and a
``DataFrameModel`` class, through its ``to_schema()``) without importing pandera: a schema has
``columns`` (name → column with ``dtype``, ``nullable``, ``unique``, ``required``,
``description`` and ``checks``), each check a ``name`` and its ``statistics``. What maps::

    dtype (int*, float*, str/string/object, bool, datetime*, date)    type
    nullable / unique / required                                       the same names
    greater_than_or_equal_to, less_than_or_equal_to, in_range          min / max
    greater_than, less_than (integers)                                 min / max ± 1
    isin, equal_to                                                     allowed
    str_matches (from the start), str_contains (anywhere)              pattern
    str_startswith, str_endswith                                       pattern
    str_length                                                         pattern (?s:.){min,max}

Every other check (custom checks, notin, ...) and a schema-wide ``unique`` are listed as
unmapped.
"""

from __future__ import annotations

import re
from typing import Any

from charter.errors import CharterError
from charter.spec.interop.common import ImportedContract, charter_type, length_pattern

_ANY = "(?s:.)*"


def read_pandera(schema: Any, *, source: str = "pandera schema") -> ImportedContract:
    """The data contract of a Pandera schema (or ``DataFrameModel`` class)."""
    if not hasattr(schema, "columns") and hasattr(schema, "to_schema"):
        schema = schema.to_schema()
    columns = getattr(schema, "columns", None)
    if not isinstance(columns, dict):
        raise CharterError(
            f"{source} is not a Pandera schema (it has no columns mapping)",
            hint="Give a pandera DataFrameSchema or DataFrameModel, as module:attribute.",
        )
    imported = ImportedContract(source=source, standard="Pandera")
    for name, column in columns.items():
        _read_column(imported, str(name), column)
    unique = getattr(schema, "unique", None)
    if unique:
        imported.skip("unique", f"{list(unique)} unique together: charter's key is one column")
    return imported


def _read_column(imported: ImportedContract, name: str, column: Any) -> None:
    where = f"columns[{name!r}]"
    if getattr(column, "regex", False):
        imported.skip(where, f"{name}: a column name pattern; charter names each column")
        return
    dtype = getattr(column, "dtype", None)
    kind = charter_type(str(dtype)) if dtype is not None else None
    if kind is None:
        kind = "string"
        imported.notes.append(f"{name}: dtype {dtype} has no charter type; type string assumed")
    spec: dict[str, Any] = {"type": kind}
    if not getattr(column, "nullable", True):
        spec["nullable"] = False
    if getattr(column, "required", True) is False:
        spec["required"] = False
    if getattr(column, "unique", False):
        spec["unique"] = True
    for i, check in enumerate(getattr(column, "checks", None) or []):
        if not _read_check(spec, check):
            stats = getattr(check, "statistics", None) or {}
            imported.skip(f"{where}.checks[{i}]", f"{name}: check {_name(check)} {stats}")
    if getattr(column, "description", None):
        spec["description"] = str(column.description)
    imported.fields[name] = spec


def _name(check: Any) -> str:
    return str(getattr(check, "name", None) or getattr(check, "error", None) or "custom")


def _read_check(spec: dict[str, Any], check: Any) -> bool:
    name, stats = _name(check), dict(getattr(check, "statistics", None) or {})
    if name == "greater_than_or_equal_to":
        spec["min"] = stats["min_value"]
    elif name == "less_than_or_equal_to":
        spec["max"] = stats["max_value"]
    elif name in ("greater_than", "less_than"):
        bound = stats["min_value" if name == "greater_than" else "max_value"]
        if spec["type"] != "int" or not float(bound).is_integer():
            return False
        spec["min" if name == "greater_than" else "max"] = int(bound) + (
            1 if name == "greater_than" else -1
        )
    elif name == "in_range":
        if (not stats.get("include_min", True) or not stats.get("include_max", True)) and spec[
            "type"
        ] != "int":
            return False
        step_low = 0 if stats.get("include_min", True) else 1
        step_high = 0 if stats.get("include_max", True) else -1
        spec["min"], spec["max"] = stats["min_value"] + step_low, stats["max_value"] + step_high
    elif name == "isin":
        spec["allowed"] = list(stats["allowed_values"])
    elif name == "equal_to":
        spec["allowed"] = [stats["value"]]
    elif name == "str_matches":
        spec["pattern"] = _from_start(str(stats["pattern"]))
    elif name == "str_contains":
        spec["pattern"] = f"{_ANY}(?:{stats['pattern']}){_ANY}"
    elif name == "str_startswith":
        spec["pattern"] = f"{re.escape(str(stats['string']))}{_ANY}"
    elif name == "str_endswith":
        spec["pattern"] = f"{_ANY}{re.escape(str(stats['string']))}"
    elif name == "str_length" and "pattern" not in spec:
        exact = stats.get("exact_value")
        low = exact if exact is not None else stats.get("min_value")
        high = exact if exact is not None else stats.get("max_value")
        spec["pattern"] = length_pattern(low, high)
    else:
        return False
    return True


def _from_start(pattern: str) -> str:
    """``str_matches`` matches from the start (``re.match``); charter matches the whole value."""
    body = pattern.removeprefix("^")
    if body.endswith("$") and not body.endswith("\\$"):
        return body[:-1]
    return f"(?:{body}){_ANY}"
