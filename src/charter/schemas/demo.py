"""The demo's result: ``charter demo --json``."""

from __future__ import annotations

from pydantic import Field

from charter.schemas.base import Facts, Result


class DemoResult(Result):
    """What the demo did: the workspace it wrote and, per chapter of the story, its facts."""

    workspace: str
    charter: str
    chapters: list[Facts] = Field(
        description="One object per chapter, named by its `chapter` key; the other keys are the "
        "facts of that chapter (versions, verdicts, decisions) and differ between chapters."
    )
