"""Checking charter files: every one in ``charters/``, or the one named."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from charter.errors import CharterError, CharterFileError
from charter.schemas.charters import CheckedCharter
from charter.spec.loader import load_charter_file
from charter.workspace import Workspace


@dataclass(frozen=True)
class CharterCheck:
    """One charter file judged: its name, file, and each problem (field path and what is wrong)."""

    name: str
    file: str
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_schema(self) -> CheckedCharter:
        return CheckedCharter(name=self.name, file=self.file, ok=self.ok, problems=self.problems)

    def to_dict(self) -> dict[str, Any]:
        return self.to_schema().to_json_dict()


def check_charters(ws: Workspace, target: str | None = None) -> list[CharterCheck]:
    """Validate ``target`` (a charter name or file) or, without one, every charter file here.
    Refuses when there is none to check; a file that does not validate is a result, not an
    error."""
    paths = [ws.charter_file(target)] if target else ws.charter_files()
    if not paths:
        raise CharterError(
            f"no charters in {ws.charters_dir}", hint="Create one with `charter init NAME`."
        )
    results = []
    for path in paths:
        try:
            loaded = load_charter_file(path)
        except CharterFileError as exc:
            results.append(CharterCheck(Path(path).stem, str(path), list(exc.problems)))
        else:
            results.append(CharterCheck(loaded.charter.name, str(path)))
    return results
