"""What every importer returns: the contract it could map, and what it could not."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

#: charter field types by the names other standards give them (lower case)
TYPE_NAMES: dict[str, str] = {
    "string": "string",
    "str": "string",
    "text": "string",
    "varchar": "string",
    "char": "string",
    "object": "string",
    "utf8": "string",
    "integer": "int",
    "int": "int",
    "bigint": "int",
    "smallint": "int",
    "tinyint": "int",
    "long": "int",
    "number": "float",
    "float": "float",
    "double": "float",
    "decimal": "float",
    "numeric": "float",
    "real": "float",
    "boolean": "bool",
    "bool": "bool",
    "timestamp": "datetime",
    "datetime": "datetime",
    "timestamp_ntz": "datetime",
    "timestamp_tz": "datetime",
    "date": "date",
}


def charter_type(name: str) -> str | None:
    """The charter type of a type name (``VARCHAR(20)``, ``int64``, ``datetime64[ns, UTC]``)."""
    text = name.strip().lower()
    base = text.split("(", 1)[0].split("[", 1)[0].strip()
    if base in TYPE_NAMES:
        return TYPE_NAMES[base]
    for prefix, kind in (
        ("uint", "int"),
        ("int", "int"),
        ("float", "float"),
        ("datetime", "datetime"),
        ("timestamp", "datetime"),
        ("bool", "bool"),
        ("string", "string"),
        ("date", "date"),
    ):
        if base.startswith(prefix):
            return kind
    return None


@dataclass(frozen=True)
class Unmapped:
    """One part of the imported (or exported) document that charter could not map."""

    where: str  # a path in the document, e.g. schema[0].properties[3].quality[1]
    what: str  # what it says and why charter cannot take it

    def to_dict(self) -> dict[str, str]:
        return {"where": self.where, "what": self.what}


@dataclass
class ImportedContract:
    """A data contract read from another standard, in the charter file's own terms.

    ``fields`` holds each column's contract as it is written under ``data.fields``; ``key``,
    ``event_time``, ``freshness`` and ``volume`` are None where the document says nothing (an
    existing charter keeps its own then).
    """

    source: str
    standard: str
    fields: dict[str, dict[str, Any]] = field(default_factory=dict)
    key: str | None = None
    event_time: str | None = None
    freshness: dict[str, str] = field(default_factory=dict)
    volume: dict[str, int] = field(default_factory=dict)
    unmapped: list[Unmapped] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def skip(self, where: str, what: str) -> None:
        self.unmapped.append(Unmapped(where, what))

    def field_of(self, name: str) -> dict[str, Any]:
        return self.fields.setdefault(name, {})


def length_pattern(min_length: int | None, max_length: int | None) -> str:
    """A pattern holding only a length rule (charter has no length rule of its own):
    ``(?s:.){2,10}``, run anchored as every charter pattern is."""
    low = "" if min_length is None else str(min_length)
    high = "" if max_length is None else str(max_length)
    if low == high and low:
        return f"(?s:.){{{low}}}"
    return f"(?s:.){{{low or 0},{high}}}"


def pattern_length(pattern: str) -> tuple[int | None, int | None] | None:
    """The (min, max) length a pattern written by :func:`length_pattern` says; None for any
    other pattern (exported as a pattern)."""
    import re

    found = re.fullmatch(r"\(\?s:\.\)\{(\d+)(?:(,)(\d*))?\}", pattern)
    if found is None:
        return None
    low, comma, high = found.group(1), found.group(2), found.group(3)
    if comma is None:
        lengths: tuple[int | None, int | None] = int(low), int(low)
    else:
        lengths = (int(low) or None), (int(high) if high else None)
    if lengths == (None, None) or length_pattern(*lengths) != pattern:
        return None  # no length at all, or not written the way an import writes one
    return lengths
