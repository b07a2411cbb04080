"""Online records: a JSON body checked for shape, then turned into a frame the contract validates.

Shape errors (not JSON, not an object or a list of objects, a field the contract does not know)
are refused here, before anything is written: they are the caller's bug, not data. Whether a
value fits its field (type, range, allowed values) is the data contract's question, answered by
:func:`charter.engines.polars.contract.validate` like for any batch row, so that a record that breaks
a rule is quarantined with the rule's name, exactly as in batch ingestion.
"""

from __future__ import annotations

import json
from typing import Any

import polars as pl

from charter.engines.rules import VIOLATIONS
from charter.errors import RequestError
from charter.plumbing.ingest_batch import ROW
from charter.spec.model import DataContract

MAX_RECORDS = 10_000


def parse_json(body: bytes) -> Any:
    """The decoded JSON body, or a 400 naming where it broke."""
    if not body.strip():
        raise RequestError("the request body is empty; send JSON", status=400)
    try:
        return json.loads(body)
    except UnicodeDecodeError:
        raise RequestError("the request body is not UTF-8 text", status=400) from None
    except json.JSONDecodeError as exc:
        raise RequestError(
            f"the request body is not valid JSON: {exc.msg} at line {exc.lineno} column "
            f"{exc.colno}",
            status=400,
        ) from None


def as_records(payload: Any, known: set[str], what: str = "record") -> list[dict[str, Any]]:
    """One object or a list of objects, each naming only ``known`` fields."""
    records = payload if isinstance(payload, list) else [payload]
    if not records:
        raise RequestError(f"the list of {what}s is empty")
    if len(records) > MAX_RECORDS:
        raise RequestError(
            f"{len(records)} {what}s in one request; at most {MAX_RECORDS}",
            hint="Split them over several requests, or land them as a file for batch ingestion.",
            status=413,
        )
    for index, record in enumerate(records):
        where = f"{what} {index}" if isinstance(payload, list) else f"the {what}"
        if not isinstance(record, dict):
            raise RequestError(
                f"{where} is {_kind(record)}, not a JSON object of field: value",
                hint=f"Send one object, or a list of objects, e.g. {{{_example(known)}}}.",
            )
        unknown = sorted(set(record) - known)
        if unknown:
            raise RequestError(
                f"{where} has fields the contract does not know: {', '.join(unknown)}",
                hint=f"Known fields: {', '.join(sorted(known))}.",
            )
    return records


def record_fields(contract: DataContract) -> set[str]:
    """The fields an online record may carry: the contract's fields, key and event time."""
    known = set(contract.fields) | {contract.key}
    if contract.event_time:
        known.add(contract.event_time)
    return known - {ROW, VIOLATIONS}


def records_frame(records: list[dict[str, Any]], contract: DataContract) -> pl.DataFrame:
    """A frame of the records, one column per field any record names.

    A column whose values are all numbers, all booleans or all strings keeps that type; a mixed
    one is text, so that the contract's ``type`` rule names the values that do not fit (as it does
    for a CSV file) instead of the frame refusing the whole request.
    """
    names = [n for n in contract.fields if any(n in r for r in records)]
    names += sorted({n for r in records for n in r} - set(names))
    columns = [_column(name, [r.get(name) for r in records]) for name in names]
    return pl.DataFrame(columns, height=len(records)) if columns else pl.DataFrame()


def _column(name: str, values: list[Any]) -> pl.Series:
    kinds = {type(v) for v in values if v is not None}
    if not kinds:
        return pl.Series(name, values, dtype=pl.String)
    if kinds == {bool}:
        return pl.Series(name, values, dtype=pl.Boolean)
    if kinds <= {int, float}:
        dtype = pl.Int64 if kinds == {int} else pl.Float64
        return pl.Series(name, values, dtype=dtype, strict=False)
    texts = [v if isinstance(v, str) or v is None else json.dumps(v) for v in values]
    return pl.Series(name, texts, dtype=pl.String)


def _kind(value: Any) -> str:
    names = {list: "a list", str: "a string", bool: "a boolean", type(None): "null"}
    if isinstance(value, int | float) and not isinstance(value, bool):
        return "a number"
    return names.get(type(value), type(value).__name__)


def _example(known: set[str]) -> str:
    return ", ".join(f'"{n}": …' for n in sorted(known)[:3])
