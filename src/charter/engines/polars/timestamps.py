"""ISO 8601 timestamps and dates in text: the one parser every text column and value goes through.

A ``datetime`` value in a CSV or JSON file, in an ``allowed`` list or in a text event-time column
is read by :func:`parse_datetimes`, a ``date`` by :func:`parse_dates`. Both are Polars
expressions (vectorised, one regular expression per column), and null where a value is not an
ISO 8601 date or time of day, so that validation can quarantine that one row as ``<field>.type``.

Accepted, in the extended (``2026-04-01T10:00:00``) and the basic (``20260401T100000``) format:

- a calendar date ``2026-04-01``, an ordinal date ``2026-091`` or a week date ``2026-W14-3``
  (``2026-W14`` is the Monday of that week);
- an optional time of day after ``T`` (or a space, as RFC 3339 and most databases write it):
  ``10``, ``10:00``, ``10:00:00``, with a decimal fraction (``.`` or ``,``, up to nanoseconds,
  kept to the microsecond) on the last component given: ``10:00:00.5``, ``10:30,25``, ``10.5``;
  ``24:00`` is the end of the day, and a leap second ``:60`` rolls over into the next minute;
- an optional zone: ``Z``, ``+02:00``, ``+0200`` or ``+02``. Values are converted to UTC; a
  value without a zone is taken to be UTC already.

A ``date`` field takes only the date forms. Anything else (a month 13, a 31 April, a time with
no date, ``2026-04-01T10:00+25:00``) is null.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime

import polars as pl

_DATE = (
    r"(?:(?P<y>\d{4})-(?P<mo>\d{2})-(?P<d>\d{2})"
    r"|(?P<by>\d{4})(?P<bmo>\d{2})(?P<bd>\d{2})"
    r"|(?P<wy>\d{4})-?W(?P<ww>\d{2})(?:-?(?P<wd>[1-7]))?"
    r"|(?P<oy>\d{4})-?(?P<od>\d{3}))"
)
_TIME = r"(?P<h>\d{2})(?::?(?P<mi>\d{2})(?::?(?P<s>\d{2}))?)?(?:[.,](?P<f>\d{1,9}))?"
_ZONE = r"(?P<z>[Zz]|(?P<zs>[+-])(?P<zh>\d{2})(?::?(?P<zm>\d{2}))?)"
DATETIME_PATTERN = rf"^{_DATE}(?:[Tt ]{_TIME}{_ZONE}?)?$"
DATE_PATTERN = rf"^{_DATE}$"
_US = {"h": 3_600_000_000, "mi": 60_000_000, "s": 1_000_000}
UTC_MICROS = pl.Datetime("us", "UTC")
_VALUE = "__charter_value"  # the parsed value, next to the matched groups
_Field = Callable[[str], pl.Expr]


def parse_datetimes(text: pl.Expr) -> pl.Expr:
    """Text to ``Datetime("us", "UTC")``; null where the text is not an ISO 8601 timestamp."""
    return _from_parts(text, DATETIME_PATTERN, _instant).cast(UTC_MICROS)


def _instant(field: _Field) -> pl.Expr:
    day = _day(field)
    hour, minute, second = (field(name).cast(pl.Int64) for name in ("h", "mi", "s"))
    digits = field("f")
    fraction = digits.cast(pl.Float64) / pl.lit(10.0).pow(digits.str.len_chars())
    unit = (
        pl.when(minute.is_null())
        .then(_US["h"])
        .when(second.is_null())
        .then(_US["mi"])
        .otherwise(_US["s"])
    )
    micros = (
        hour.fill_null(0) * _US["h"]
        + minute.fill_null(0) * _US["mi"]
        + second.fill_null(0) * _US["s"]
        + (fraction.fill_null(0.0) * unit).round().cast(pl.Int64)
    )
    sign = pl.when(field("zs") == "-").then(-1).otherwise(1)
    zone_hours = field("zh").cast(pl.Int64).fill_null(0)
    zone_minutes = field("zm").cast(pl.Int64).fill_null(0)
    offset = sign * (zone_hours * 60 + zone_minutes) * _US["mi"]
    valid = (
        (hour.fill_null(0) <= 24)
        & (minute.fill_null(0) <= 59)
        & (second.fill_null(0) <= 60)
        & ((hour.fill_null(0) < 24) | (micros == 24 * _US["h"]))
        & (zone_hours <= 23)
        & (zone_minutes <= 59)
    )
    instant = day.cast(pl.Datetime("us")) + pl.duration(microseconds=micros - offset)
    return pl.when(valid).then(instant).otherwise(None).dt.replace_time_zone("UTC")


def parse_dates(text: pl.Expr) -> pl.Expr:
    """Text to ``Date``; null where the text is not an ISO 8601 calendar, ordinal or week date."""
    return _from_parts(text, DATE_PATTERN, _day)


def _from_parts(text: pl.Expr, pattern: str, build: Callable[[_Field], pl.Expr]) -> pl.Expr:
    """``build`` over the pattern's groups, matched once per value.

    Inside ``struct.with_fields`` the groups are read with ``pl.field``: one regular expression
    pass per column, where reading each group with ``struct.field`` of the matched expression
    repeats the match for every group it reads (about thirty passes per column).
    """
    parts = text.str.strip_chars().str.extract_groups(pattern)
    value = parts.struct.with_fields(build(pl.field).alias(_VALUE)).struct.field(_VALUE)
    name = text.meta.output_name(raise_if_undetermined=False)  # the text's, like a cast of it
    return value if name is None else value.alias(name)


def parse_timestamp(text: str) -> datetime | None:
    """One value through :func:`parse_datetimes` (aware, UTC); None if it is not ISO 8601."""
    value = pl.select(parse_datetimes(pl.lit(text, pl.String))).item()
    return value if isinstance(value, datetime) else None


def parse_date(text: str) -> date | None:
    """One value through :func:`parse_dates`; None if it is not an ISO 8601 date."""
    value = pl.select(parse_dates(pl.lit(text, pl.String))).item()
    return value if isinstance(value, date) else None


def _day(field: _Field) -> pl.Expr:
    """The date of whichever date form matched (null when none did or it is not a real day)."""

    def _int(name: str) -> pl.Expr:
        return field(name).cast(pl.Int64)

    calendar = pl.concat_str(
        pl.coalesce(field("y"), field("by")),
        pl.coalesce(field("mo"), field("bmo")),
        pl.coalesce(field("d"), field("bd")),
    ).str.to_date("%Y%m%d", strict=False)
    year, ordinal = _int("oy"), _int("od")
    ordinal_day = pl.date(year, 1, 1) + pl.duration(days=ordinal - 1)
    ordinal_day = pl.when((ordinal >= 1) & (ordinal_day.dt.year() == year)).then(ordinal_day)
    week_year, week = _int("wy"), _int("ww")
    weekday = _int("wd").fill_null(1)
    jan4 = pl.date(week_year, 1, 4)
    week_day = jan4 + pl.duration(days=(week - 1) * 7 + weekday - jan4.dt.weekday())
    week_day = pl.when((week >= 1) & (week_day.dt.iso_year() == week_year)).then(week_day)
    return pl.coalesce(calendar, ordinal_day, week_day)
