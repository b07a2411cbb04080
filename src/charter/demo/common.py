"""What every chapter of the demo shares: who is who, the report, how a chapter speaks."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from charter.lifecycle.gate import Readiness
from charter.schemas.demo import DemoResult

CHARTER = "credit-default"
OWNER = "dana.ruiz@bank.example"
ENGINEER = "lee.chen@bank.example"  # an ML engineer: builds and operates, does not decide
TRAINING_START = datetime(2026, 2, 1, tzinfo=UTC)
LIVE_START = datetime(2026, 4, 2, tzinfo=UTC)  # a Thursday: weekly windows start on Thursdays

Narrate = Callable[[str, str], None]


@dataclass
class DemoReport:
    """What the demo did, for the summary and for scripts (``charter demo --json``)."""

    workspace: str
    charter: str = CHARTER
    chapters: list[dict[str, Any]] = field(default_factory=list)

    def add(self, title: str, **facts: Any) -> dict[str, Any]:
        chapter = {"chapter": title, **facts}
        self.chapters.append(chapter)
        return chapter

    def to_schema(self) -> DemoResult:
        return DemoResult(workspace=self.workspace, charter=self.charter, chapters=self.chapters)

    def to_dict(self) -> dict[str, Any]:
        return self.to_schema().to_json_dict()


def checklist(ready: Readiness) -> str:
    """The gate's checklist in one line per item, as the owner reads it."""
    head = "READY" if ready.ready else f"NOT READY ({len(ready.shortfall)} short)"
    lines = [f"version {ready.version} ({ready.status}): {head}"]
    lines += [f"  {'✓' if i.ok else '✗'} {i.name}: {i.evidence}" for i in ready.items]
    return "\n".join(lines)


def number(value: Any) -> str:
    return f"{value:.3f}" if isinstance(value, int | float) else "n/a"
