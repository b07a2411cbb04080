"""A Great Expectations expectation suite (its JSON, GE 0.x or 1.x) as a charter data contract.

Read without Great Expectations installed. What maps::

    expect_column_to_exist                          the column is a field
    expect_column_values_to_be_of_type /
      _be_in_type_list (one charter type)           type
    expect_column_values_to_not_be_null             nullable: false (mostly < 1: max_null_fraction)
    expect_column_values_to_be_unique               unique: true
    expect_column_values_to_be_between              min / max (strict bounds: integers only)
    expect_column_values_to_be_in_set               allowed
    expect_column_values_to_match_regex             pattern (GE searches; charter matches whole)
    expect_column_value_lengths_to_be_between       pattern (?s:.){min,max}, when no pattern
    expect_table_row_count_to_be_between            volume.min_rows / max_rows

A value rule with ``mostly`` below 1 tolerates failing rows, which charter does not (each row
passes or is quarantined): listed as unmapped, like every other expectation.
"""

from __future__ import annotations

import json
from typing import Any

from charter.errors import CharterFileError
from charter.spec.interop.common import ImportedContract, charter_type, length_pattern

_VALUE_RULES = {
    "expect_column_values_to_be_between",
    "expect_column_values_to_be_in_set",
    "expect_column_values_to_match_regex",
    "expect_column_value_lengths_to_be_between",
    "expect_column_values_to_be_unique",
}


def parse_suite(text: str, *, source: str) -> ImportedContract:
    """The data contract an expectation suite states; :class:`CharterFileError` if it is none."""
    try:
        suite = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CharterFileError(source, [f"line {exc.lineno}: not JSON: {exc.msg}"]) from None
    if not isinstance(suite, dict) or not isinstance(suite.get("expectations"), list):
        raise CharterFileError(source, ["an expectation suite has a list of expectations"])
    name = suite.get("name") or suite.get("expectation_suite_name") or "suite"
    imported = ImportedContract(source=source, standard=f"Great Expectations suite {name}")
    for i, expectation in enumerate(suite["expectations"]):
        where = f"expectations[{i}]"
        if not isinstance(expectation, dict):
            raise CharterFileError(source, [f"{where}: must be an object"])
        kind = str(expectation.get("type") or expectation.get("expectation_type") or "")
        kwargs = expectation.get("kwargs") or {}
        if not _read(imported, kind, kwargs, where):
            shown = ", ".join(f"{k}={v!r}" for k, v in kwargs.items())
            imported.skip(where, f"{kind}({shown}): charter has no such rule")
    for column, spec in imported.fields.items():
        if "type" not in spec:
            spec["type"] = _guess_type(spec)
            imported.notes.append(f"{column}: no type expectation; type {spec['type']} assumed")
        imported.fields[column] = {"type": spec.pop("type"), **spec}
    keys = [c for c, s in imported.fields.items() if s.get("unique") and s.get("nullable") is False]
    if len(keys) == 1:
        imported.key = keys[0]
        imported.notes.append(f"key {keys[0]}: the only unique, not-null column")
    return imported


def _read(imported: ImportedContract, kind: str, kwargs: dict[str, Any], where: str) -> bool:
    if kind == "expect_table_row_count_to_be_between":
        if kwargs.get("min_value") is not None:
            imported.volume["min_rows"] = int(kwargs["min_value"])
        if kwargs.get("max_value") is not None:
            imported.volume["max_rows"] = int(kwargs["max_value"])
        return True
    column = kwargs.get("column")
    if not isinstance(column, str):
        return False
    mostly = kwargs.get("mostly", 1)
    if kind == "expect_column_values_to_not_be_null":
        spec = imported.field_of(column)
        if mostly >= 1:
            spec["nullable"] = False
        else:
            spec["max_null_fraction"] = round(1 - float(mostly), 10)
        return True
    if kind in _VALUE_RULES and mostly < 1:
        return False
    if kind == "expect_column_to_exist":
        imported.field_of(column)
        return True
    if kind in ("expect_column_values_to_be_of_type", "expect_column_values_to_be_in_type_list"):
        names = [kwargs.get("type_")] if "type_" in kwargs else kwargs.get("type_list") or []
        types = {charter_type(str(n)) for n in names if n}
        if len(types) != 1 or None in types:
            return False
        imported.field_of(column)["type"] = types.pop()
        return True
    spec = imported.field_of(column)
    if kind == "expect_column_values_to_be_unique":
        spec["unique"] = True
        return True
    if kind == "expect_column_values_to_be_in_set" and isinstance(kwargs.get("value_set"), list):
        spec["allowed"] = list(kwargs["value_set"])
        return True
    if kind == "expect_column_values_to_match_regex" and isinstance(kwargs.get("regex"), str):
        spec["pattern"] = _whole_match(kwargs["regex"])
        return True
    if kind == "expect_column_value_lengths_to_be_between" and "pattern" not in spec:
        spec["pattern"] = length_pattern(kwargs.get("min_value"), kwargs.get("max_value"))
        return True
    if kind == "expect_column_values_to_be_between":
        return _between(spec, kwargs)
    return False


def _between(spec: dict[str, Any], kwargs: dict[str, Any]) -> bool:
    for bound, key, strict, step in (
        ("min_value", "min", "strict_min", 1),
        ("max_value", "max", "strict_max", -1),
    ):
        value = kwargs.get(bound)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int | float):
            return False
        if kwargs.get(strict):
            if not float(value).is_integer():
                return False
            spec.setdefault("type", "int")
            value = int(value) + step
        spec[key] = value
    return True


def _whole_match(regex: str) -> str:
    """GE finds ``regex`` anywhere in the value; charter's pattern must match it whole."""
    head = "" if regex.startswith("^") else "(?s:.)*"
    tail = "" if regex.endswith("$") and not regex.endswith("\\$") else "(?s:.)*"
    body = regex.removeprefix("^")
    body = body[:-1] if tail == "" else body
    return f"{head}(?:{body}){tail}" if head or tail else body


def _guess_type(spec: dict[str, Any]) -> str:
    bounds = [spec.get("min"), spec.get("max")]
    if any(isinstance(b, int | float) for b in bounds):
        return "float"
    allowed = spec.get("allowed") or []
    if allowed and all(isinstance(v, bool) for v in allowed):
        return "bool"
    if allowed and all(isinstance(v, int) and not isinstance(v, bool) for v in allowed):
        return "int"
    return "string"
