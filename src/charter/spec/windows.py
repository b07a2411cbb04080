"""The window grammar of ``sufficiency.window`` and ``charter monitor --window``.

Two kinds of window:

- a **fixed duration** in the grammar of :mod:`.durations` (``30m``, ``1d``, ``7d``,
  ``1d12h``): windows of exactly that length, starting at ``sufficiency.window_origin`` plus a
  whole number of windows (default origin 1970-01-01T00:00Z, so ``1d`` starts at midnight UTC
  and ``7d`` on Thursdays);
- a **calendar** window, one unit of ``w`` (an ISO week, from Monday 00:00), ``mo`` (a month),
  ``q`` (a quarter: January, April, July, October) or ``y`` (a year), cut in the charter's
  ``timezone``: a month in Europe/Paris starts at local midnight on the 1st, whatever the
  daylight-saving offset, so its length in hours varies.

``1w`` is a calendar week; ``7d`` (and ``2w``, which is ``14d`` as it always was) are fixed
lengths from the origin. Write ``7d`` and a Monday ``window_origin`` for fixed weeks in UTC that
never follow daylight saving.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any

from pydantic import PlainSerializer, PlainValidator, WithJsonSchema

from charter.spec.durations import PATTERN, format_duration, parse_duration

CALENDAR_UNITS = {"w": "week", "mo": "month", "q": "quarter", "y": "year"}
_CALENDAR = re.compile(r"^\s*(\d+)\s*(w|mo|q|y)\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class CalendarWindow:
    """One calendar unit (``1w``, ``1mo``, ``1q``, ``1y``) in the charter's timezone."""

    unit: str

    def __str__(self) -> str:
        return f"1{self.unit}"


WindowValue = timedelta | CalendarWindow


def parse_window(value: Any) -> WindowValue:
    """A window: a fixed duration or a calendar unit; ``ValueError`` with a message for a
    charter author otherwise."""
    if isinstance(value, timedelta | CalendarWindow):
        return value
    if isinstance(value, str):
        calendar = _CALENDAR.match(value)
        if calendar is not None:
            count, unit = int(calendar.group(1)), calendar.group(2).lower()
            if count != 1 and unit != "w":
                raise ValueError(f"{value!r}: a calendar window is one unit: 1w, 1mo, 1q or 1y")
            if count == 1:
                return CalendarWindow(unit)
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise ValueError(f"{exc}; or a calendar window: 1w, 1mo, 1q, 1y") from None


def format_window(value: WindowValue) -> str:
    """The canonical spelling: ``7d``, ``1mo``."""
    return str(value) if isinstance(value, CalendarWindow) else format_duration(value)


def window_text(sufficiency: Any) -> str:
    """The canonical spelling of a sufficiency contract's window, e.g. ``7d``."""
    return format_window(sufficiency.window)


Window = Annotated[
    WindowValue,
    PlainValidator(parse_window),
    PlainSerializer(format_window, return_type=str),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": rf"(^\s*1\s*(w|mo|q|y)\s*$)|({PATTERN})",
            "examples": ["7d", "1d", "1w", "1mo", "1q"],
        }
    ),
]
