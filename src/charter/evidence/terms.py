"""The charter in force at a pack's head, even when the store no longer keeps its text.

The store keeps the text of the terms in force and of every change (its new text). A text that
was replaced (the first one, after a change was accepted) is gone, but the ledger holds the
field-level diff from it to its successor: applying that diff backwards to the successor's
parsed YAML gives the earlier charter's fields (not its comments or layout), which is what the
pack needs (owner, sufficiency, data contract, retention). The pack says which it used.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import yaml
from pydantic import ValidationError

from charter.errors import CharterFileError
from charter.spec.loader import parse_charter
from charter.spec.model import Charter
from charter.spec.yaml_reader import YamlProblem, read_yaml

_TOKEN = re.compile(r"([^.\[\]]+)|\[(\d+)\]")
_MAX_STEPS = 1_000


@dataclass(frozen=True)
class TermsAt:
    """The charter in force (None: not recoverable), its text when kept, and how it was found:
    ``kept`` (the stored text), ``reconstructed`` (a later text with diffs undone) or
    ``unknown``."""

    charter: Charter | None
    text: str | None
    how: str


def terms_at(
    sha: str | None, texts: Mapping[str, str], changes: Sequence[Mapping[str, Any]]
) -> TermsAt:
    if sha is None:
        return TermsAt(None, None, "unknown")
    if sha in texts:
        return TermsAt(_parse(texts[sha]), texts[sha], "kept")
    data = _data_of(sha, texts, changes, 0)
    if data is None:
        return TermsAt(None, None, "unknown")
    try:
        return TermsAt(Charter.model_validate(data), None, "reconstructed")
    except ValidationError:
        return TermsAt(None, None, "unknown")


def _data_of(
    sha: str, texts: Mapping[str, str], changes: Sequence[Mapping[str, Any]], depth: int
) -> Any:
    if sha in texts:
        try:
            return read_yaml(texts[sha])
        except (YamlProblem, yaml.YAMLError):
            return None
    if depth > _MAX_STEPS:
        return None
    for change in changes:
        if change.get("from_sha256") == sha and change.get("to_sha256") != sha:
            later = _data_of(str(change.get("to_sha256")), texts, changes, depth + 1)
            if later is not None:
                return undo(later, change.get("diff") or [])
    return None


def undo(data: Any, diff: Sequence[Mapping[str, Any]]) -> Any:
    """``data`` with each change of ``diff`` (``path``, ``old``, ``new``) put back to ``old``."""
    for change in reversed(list(diff)):
        tokens = [name if name else int(index) for name, index in _TOKEN.findall(change["path"])]
        if tokens:
            data = _put(data, tokens, change.get("old"))
    return data


def _put(node: Any, tokens: list[str | int], value: Any) -> Any:
    head, rest = tokens[0], tokens[1:]
    if isinstance(head, int):
        items = list(node) if isinstance(node, list) else []
        if not rest:
            if value is None:
                return items[:head] + items[head + 1 :]
            while len(items) <= head:
                items.append(None)
            items[head] = value
            return items
        while len(items) <= head:
            items.append({})
        items[head] = _put(items[head], rest, value)
        return items
    mapping = dict(node) if isinstance(node, dict) else {}
    if not rest:
        if value is None:
            mapping.pop(head, None)
        else:
            mapping[head] = value
        return mapping
    mapping[head] = _put(mapping.get(head), rest, value)
    return mapping


def _parse(text: str) -> Charter | None:
    try:
        return parse_charter(text).charter
    except CharterFileError:
        return None
