"""The field-level diff of two charter texts: one ``path: old -> new`` per changed leaf.

Paths are dotted, with list positions in brackets (``sufficiency.metrics[0].at_least``), the way
charter names fields in its error messages. A field that appears has ``old`` None, one that goes
away has ``new`` None. The diff compares what the YAML says, so comments and layout do not count.
Both texts are concealed first (:func:`charter.spec.secrets.conceal`): a literal secret never
reaches a diff, the ledger or ``charter changes``; a changed secret shows as a changed reference.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from charter.errors import CharterFileError
from charter.redaction import redact_text
from charter.spec.loader import read_yaml
from charter.spec.secrets import conceal

#: Top-level fields whose change waits for the owner while a version is live.
GOVERNED = ("owner", "delegates", "sufficiency", "data", "labels", "operations")
_MISSING = object()


@dataclass(frozen=True)
class FieldChange:
    """One changed leaf of the charter."""

    path: str
    old: Any
    new: Any

    @property
    def section(self) -> str:
        """The top-level field this change is under (``sufficiency`` for ``sufficiency.window``)."""
        return self.path.split(".", 1)[0].split("[", 1)[0]

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "old": self.old, "new": self.new}

    def __str__(self) -> str:
        return f"{self.path}: {_show(self.old)} -> {_show(self.new)}"


def text_diff(old_text: str, new_text: str) -> list[FieldChange]:
    """The field-level diff from ``old_text`` to ``new_text`` (both charter YAML), concealed."""
    return field_diff(read_yaml(_concealed(old_text)), read_yaml(_concealed(new_text)))


def field_diff(old: Any, new: Any, path: str = "") -> list[FieldChange]:
    """Every leaf that differs between two parsed YAML values, in document order."""
    if isinstance(old, dict) and isinstance(new, dict):
        out: list[FieldChange] = []
        for key in [*old, *(k for k in new if k not in old)]:
            child = f"{path}.{key}" if path else str(key)
            out.extend(_pair(old.get(key, _MISSING), new.get(key, _MISSING), child))
        return out
    if isinstance(old, list) and isinstance(new, list):
        out = []
        for i in range(max(len(old), len(new))):
            a = old[i] if i < len(old) else _MISSING
            b = new[i] if i < len(new) else _MISSING
            out.extend(_pair(a, b, f"{path}[{i}]"))
        return out
    return [] if old == new else [FieldChange(path, _plain(old), _plain(new))]


def _pair(old: Any, new: Any, path: str) -> list[FieldChange]:
    if old is _MISSING:
        return [FieldChange(path, None, _plain(new))]
    if new is _MISSING:
        return [FieldChange(path, _plain(old), None)]
    return field_diff(old, new, path)


def governed_sections(changes: Sequence[FieldChange]) -> list[str]:
    """The governed top-level fields a diff touches, in :data:`GOVERNED` order."""
    touched = {c.section for c in changes}
    return [s for s in GOVERNED if s in touched]


def describe(changes: Sequence[FieldChange], *, limit: int = 3) -> str:
    """A one-line summary: the first ``limit`` changes, then how many more."""
    if not changes:
        return "no field changed (comments or layout only)"
    shown = "; ".join(str(c) for c in changes[:limit])
    more = len(changes) - limit
    return f"{shown}; and {more} more" if more > 0 else shown


def _concealed(text: str) -> str:
    """``text`` with its literal secrets concealed; a text charter cannot conceal (an old stored
    row written another way) is diffed with its URL values masked instead."""
    try:
        return conceal(text)
    except CharterFileError:
        return redact_text(text)


def _plain(value: Any) -> Any:
    """A JSON-safe copy (YAML may hold dates): what the ledger and ``--json`` carry."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def _show(value: Any) -> str:
    return "(absent)" if value is None else repr(value) if isinstance(value, str) else str(value)
