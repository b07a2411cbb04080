"""Charter file results: ``charter init`` and ``charter check``."""

from __future__ import annotations

from charter.schemas.base import Result


class Initialised(Result):
    """``charter init NAME --json``: the scaffolded file."""

    name: str
    file: str


class CheckedCharter(Result):
    """One charter file checked: ``problems`` name the field path and what is wrong."""

    name: str
    file: str
    ok: bool
    problems: list[str]


class CheckResult(Result):
    """``charter check --json``."""

    ok: bool
    charters: list[CheckedCharter]
