"""Putting an imported data contract into ``charters/NAME.yaml``.

A new charter is the ``charter init`` scaffold with the imported ``data`` block. An existing one
keeps every line but its ``data`` block, which is replaced (its source, features and prediction
column carried over, and its key, event time, freshness and volume where the import says
nothing); the result must pass ``charter check`` before anything is written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from charter.errors import CharterError
from charter.spec.interop.common import ImportedContract
from charter.spec.loader import load_charter_file, parse_charter
from charter.spec.model import NAME_PATTERN
from charter.spec.scaffold import flow, render_with_data
from charter.spec.yaml_reader import load_yaml


@dataclass(frozen=True)
class Written:
    """Where the contract went, and whether the charter file is new."""

    path: Path
    created: bool
    key: str
    event_time: str | None


def write_contract(
    charters_dir: Path,
    name: str,
    imported: ImportedContract,
    *,
    key: str | None = None,
    event_time: str | None = None,
) -> Written:
    """Create or update ``charters_dir/NAME.yaml`` with ``imported``; refuse (writing nothing)
    when the result would not pass ``charter check``."""
    if not re.fullmatch(NAME_PATTERN, name):
        raise CharterError(
            f"{name!r} is not a valid charter name",
            hint="Use lower-case letters, digits, '-' and '_', starting with a letter or digit.",
        )
    path = charters_dir / f"{name}.yaml"
    existing = load_charter_file(path).charter.data if path.exists() else None
    old: dict[str, Any] = (
        existing.model_dump(mode="json", exclude_none=True, exclude_defaults=True)
        if existing
        else {}
    )
    if existing is not None:
        old["source"] = existing.source.model_dump(mode="json", exclude_defaults=True)
        old["source"]["kind"] = existing.source.kind
    chosen_key = key or imported.key or _kept(old.get("key"), imported)
    if chosen_key is None:
        raise CharterError(
            f"{imported.source} names no single key column for {name}",
            hint="Pass --key COLUMN (the column identifying a row; labels join on it).",
        )
    time = event_time or imported.event_time or _kept(old.get("event_time"), imported)
    data = _data(name, imported, old, chosen_key, time)
    block = _render(imported, data)
    if existing is None:
        text = render_with_data(name, block, key=chosen_key)
    else:
        text = _replace_data(path.read_text(encoding="utf-8"), block, str(path))
    parse_charter(text, source=str(path))
    charters_dir.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return Written(path, existing is None, chosen_key, time)


def _kept(value: Any, imported: ImportedContract) -> str | None:
    """An existing charter's key or event time, while the imported fields still hold it."""
    return str(value) if value is not None and value in imported.fields else None


def _data(
    name: str, imported: ImportedContract, old: dict[str, Any], key: str, time: str | None
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "source": old.get("source") or {"kind": "parquet_dir", "path": f"landing/{name}/"},
        "key": key,
    }
    if time is not None:
        data["event_time"] = time
    freshness = {**old.get("freshness", {}), **imported.freshness}
    if freshness:
        data["freshness"] = freshness
    volume = {**old.get("volume", {}), **imported.volume}
    if volume:
        data["volume"] = volume
    data["fields"] = imported.fields
    for kept in ("features", "prediction"):
        if kept in old:
            data[kept] = old[kept]
    return data


def _render(imported: ImportedContract, data: dict[str, Any]) -> str:
    lines = [
        f"# Imported from {imported.source} ({imported.standard}): review every line.",
        "data:",
    ]
    for key, value in data.items():
        if key == "fields":
            continue
        lines.append(f"  {key}: {flow(value)}")
    lines.append("  fields:")
    width = max((len(flow(n)) for n in data["fields"]), default=0) + 1
    for column, spec in data["fields"].items():
        lines.append(f"    {(flow(column) + ':').ljust(width)} {flow(spec)}")
    return "\n".join(lines) + "\n"


def _replace_data(text: str, block: str, source: str) -> str:
    """``text`` with its top-level ``data`` entry replaced by ``block``, every other line kept."""
    _, root = load_yaml(text)
    if not isinstance(root, yaml.MappingNode):
        raise CharterError(f"{source}: not a YAML mapping of charter fields")
    lines = text.splitlines(keepends=True)
    for i, (key, value) in enumerate(root.value):
        if getattr(key, "value", None) != "data":
            continue
        start = key.start_mark.line
        if i + 1 < len(root.value):
            end = root.value[i + 1][0].start_mark.line
        else:
            end = len(lines) if value.end_mark.column == 0 else value.end_mark.line + 1
        while end > start + 1 and (not lines[end - 1].strip() or lines[end - 1].startswith("#")):
            end -= 1  # blank lines and top-level comments before the next entry belong to it
        if start and lines[start - 1].startswith(("# Imported from ", "# Inferred from ")):
            start -= 1  # the previous import's own header: this block brings a new one
        return "".join(lines[:start]) + block + "".join(lines[end:])
    raise CharterError(f"{source}: the charter has no data entry to replace")
