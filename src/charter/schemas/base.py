"""What every result schema shares: the base model and the types whose JSON form is fixed.

The JSON of these models is what ``--json`` prints, so the serialised form of each type is the one
the hand-written ``to_dict`` methods produced before the schemas existed: a timestamp is
``datetime.isoformat()`` (``2026-03-05T00:00:00+00:00``, not pydantic's ``Z``), a number keeps
whether it was an integer, and free-form parts (a window's evidence, an alert's details) pass
through untouched.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, PlainSerializer, WithJsonSchema


def _isoformat(value: datetime) -> str:
    return value.isoformat()


Timestamp = Annotated[
    datetime,
    PlainSerializer(_isoformat, return_type=str, when_used="always"),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]
"""An aware date-time, printed as ``datetime.isoformat()``."""

Number = int | float
"""A number that stays an integer when it is one (``1`` is not printed as ``1.0``)."""

Facts = dict[str, Any]
"""A free-form JSON object: evidence, details, lineage: its keys depend on the data."""


class Result(BaseModel):
    """A result a user or a script sees: exactly these keys, in this order, nothing else."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    def to_json_dict(self) -> dict[str, Any]:
        """The ``--json`` form: keys in declaration order, timestamps as ISO text.

        Free-form parts keep their Python values (``json.dumps(default=str)`` prints them, as
        before), so the output is the same text the hand-written ``to_dict`` methods printed.
        """
        return self.model_dump()
