"""Durations in charter files: ``45s``, ``30m``, ``2h``, ``7d``, ``2w`` or compounds like ``1d12h``."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer, WithJsonSchema

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([smhdw])")
_WHOLE = re.compile(r"^\s*(?:\d+(?:\.\d+)?\s*[smhdw]\s*)+$")
PATTERN = r"^\s*(\d+(\.\d+)?\s*[smhdw]\s*)+$"
MAX_DAYS = 36_525
"""The longest duration a charter may give: 100 years (a longer one overflows ``timedelta``)."""
_MAX_TEXT = 100


def parse_duration(value: Any) -> timedelta:
    """Parse a duration; raise ``ValueError`` with a message fit for a charter author."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError(
            f"{value!r} is not a duration; write a number and a unit, e.g. 30m, 2h, 7d"
        )
    if isinstance(value, int | float):
        raise ValueError(f"{value!r} has no unit; write e.g. {value}h or {value}d")
    text = value.strip().lower()
    if len(text) > _MAX_TEXT:
        raise ValueError(f"a duration of {len(text)} characters is too long; write e.g. 7d")
    if not _WHOLE.match(text):
        raise ValueError(
            f"{value!r} is not a duration; write a number and a unit (s, m, h, d, w), "
            "e.g. 30m, 2h, 7d or 1d12h"
        )
    seconds = sum(float(n) * _UNITS[u] for n, u in _PART.findall(text))
    if seconds <= 0:
        raise ValueError(f"{value!r} must be longer than zero")
    if seconds > MAX_DAYS * 86400:
        raise ValueError(f"{value!r} is longer than the limit of 100 years ({MAX_DAYS}d)")
    return timedelta(seconds=seconds)


def format_duration(value: timedelta) -> str:
    """The shortest charter spelling of ``value`` (``timedelta(days=7)`` → ``7d``)."""
    seconds = int(value.total_seconds())
    if seconds != value.total_seconds():
        return f"{value.total_seconds()}s"
    parts = []
    for unit in ("w", "d", "h", "m", "s"):
        size = _UNITS[unit]
        if seconds >= size and unit != "w":
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return "".join(parts) or "0s"


def parse_duration_or_zero(value: Any) -> timedelta:
    """A duration, or zero written as ``0``, ``0s`` (any unit): for waits that may be skipped."""
    if isinstance(value, int | float) and not isinstance(value, bool) and value == 0:
        return timedelta(0)
    if isinstance(value, str) and re.fullmatch(r"\s*0+(\.0*)?\s*[smhdw]?\s*", value):
        return timedelta(0)
    return parse_duration(value)


Duration = Annotated[
    timedelta,
    BeforeValidator(parse_duration),
    PlainSerializer(format_duration, return_type=str),
    WithJsonSchema(
        {"type": "string", "pattern": PATTERN, "examples": ["30m", "2h", "7d", "1d12h"]}
    ),
]

SettleDuration = Annotated[
    timedelta,
    BeforeValidator(parse_duration_or_zero),
    PlainSerializer(format_duration, return_type=str),
    WithJsonSchema({"type": "string", "pattern": PATTERN, "examples": ["0s", "30s", "10m"]}),
]
"""A :data:`Duration` that may also be zero (``0s``): a settle period or a look-back window."""
