"""Text to the contract's types as Spark column expressions, value for value as the Polars engine.

The Polars engine's readers (:mod:`charter.engines.polars.schema_drift`,
:mod:`charter.engines.polars.timestamps`) define what text converts: ``int`` takes ``"42"`` and
an integral ``"42.0"``, ``float`` what a float cast takes, ``bool`` ``true/false/1/0`` in any
case, ``datetime`` and ``date`` every ISO 8601 form listed there, read as UTC. The same regular
expressions are used here (Java's named groups are written ``(?<name>...)``), and a value that
does not convert is null, so validation quarantines that row as ``<field>.type``.

Every cast is a ``try_cast`` (null on failure, whatever the session's ANSI mode), and the session
runs with ANSI mode off, so that an impossible date is null rather than an error.
"""

from __future__ import annotations

import re

from pyspark.sql import Column
from pyspark.sql import functions as F  # noqa: N812 - Spark's own idiom

from charter.engines.polars.timestamps import DATE_PATTERN, DATETIME_PATTERN

_US = {"h": 3_600_000_000, "mi": 60_000_000, "s": 1_000_000}
_DAY_US = 86_400_000_000
_BLANKS = r"^\s+|\s+$"


def strip(col: Column) -> Column:
    """Surrounding blanks removed (Unicode whitespace, as Polars' ``strip_chars``)."""
    return F.regexp_replace(col, r"(?U)" + _BLANKS, "")


def integral(floats: Column) -> Column:
    """Floats that hold a whole number in the Int64 range, as a long; null otherwise."""
    return F.when(F.round(floats) == floats, floats.try_cast("bigint"))


def parse_int(text: Column) -> Column:
    return F.coalesce(text.try_cast("bigint"), integral(text.try_cast("double")))


def parse_bool(text: Column) -> Column:
    lowered = F.lower(text)
    return (
        F.when(lowered.isin("true", "1"), F.lit(True))
        .when(lowered.isin("false", "0"), F.lit(False))
        .otherwise(F.lit(None).cast("boolean"))
    )


class _Groups:
    """The named groups of one of the timestamps module's patterns, extracted with Java's regex."""

    def __init__(self, pattern: str, text: Column) -> None:
        self.index = re.compile(pattern).groupindex
        self.java = pattern.replace("(?P<", "(?<")
        self.text = text
        self.matched = text.rlike(self.java)

    def text_of(self, name: str) -> Column:
        group = F.regexp_extract(self.text, self.java, self.index[name])
        return F.when(self.matched & (group != ""), group)

    def int_of(self, name: str) -> Column:
        return self.text_of(name).try_cast("int")


def _iso_weekday(day: Column) -> Column:
    """Monday 1 ... Sunday 7 (Spark's ``dayofweek`` starts on Sunday)."""
    return ((F.dayofweek(day) + 5) % 7) + 1


def _day(g: _Groups) -> Column:
    """The date of whichever date form matched (null when none did or it is not a real day)."""
    year = F.coalesce(g.int_of("y"), g.int_of("by"))
    month = F.coalesce(g.int_of("mo"), g.int_of("bmo"))
    dom = F.coalesce(g.int_of("d"), g.int_of("bd"))
    month_ok = month.between(1, 12) & (year >= 1)
    last = F.dayofmonth(F.last_day(F.when(month_ok, F.make_date(year, month, F.lit(1)))))
    calendar = F.when(month_ok & (dom >= 1) & (dom <= last), F.make_date(year, month, dom))
    o_year, ordinal = g.int_of("oy"), g.int_of("od")
    first = F.when(o_year >= 1, F.make_date(o_year, F.lit(1), F.lit(1)))
    ordinal_day = F.date_add(first, ordinal - 1)
    ordinal_day = F.when((ordinal >= 1) & (F.year(ordinal_day) == o_year), ordinal_day)
    w_year, week = g.int_of("wy"), g.int_of("ww")
    weekday = F.coalesce(g.int_of("wd"), F.lit(1))
    jan4 = F.when(w_year >= 1, F.make_date(w_year, F.lit(1), F.lit(4)))
    week_day = F.date_add(jan4, (week - 1) * 7 + weekday - _iso_weekday(jan4))
    iso_year = F.year(F.date_add(week_day, 4 - _iso_weekday(week_day)))  # its week's Thursday
    week_day = F.when((week >= 1) & (iso_year == w_year), week_day)
    return F.coalesce(calendar, ordinal_day, week_day)


def parse_dates(text: Column) -> Column:
    """Text to a date; null where it is not an ISO 8601 calendar, ordinal or week date."""
    return _day(_Groups(DATE_PATTERN, strip(text)))


def parse_datetimes(text: Column) -> Column:
    """Text to a UTC timestamp (microseconds); null where it is not ISO 8601."""
    g = _Groups(DATETIME_PATTERN, strip(text))
    day = _day(g)
    hour, minute, second = g.int_of("h"), g.int_of("mi"), g.int_of("s")
    digits = g.text_of("f")
    fraction = digits.try_cast("double") / F.pow(F.lit(10.0), F.length(digits))
    unit = (
        F.when(minute.isNull(), F.lit(_US["h"]))
        .when(second.isNull(), F.lit(_US["mi"]))
        .otherwise(F.lit(_US["s"]))
    )
    h, mi, s = (F.coalesce(c, F.lit(0)).cast("bigint") for c in (hour, minute, second))
    micros = (
        h * _US["h"]
        + mi * _US["mi"]
        + s * _US["s"]
        + F.bround(F.coalesce(fraction, F.lit(0.0)) * unit).cast("bigint")
    )
    sign = F.when(g.text_of("zs") == "-", F.lit(-1)).otherwise(F.lit(1))
    zone_h = F.coalesce(g.int_of("zh"), F.lit(0))
    zone_m = F.coalesce(g.int_of("zm"), F.lit(0))
    offset = sign * (zone_h * 60 + zone_m) * _US["mi"]
    valid = (
        (h <= 24)
        & (mi <= 59)
        & (s <= 60)
        & ((h < 24) | (micros == 24 * _US["h"]))
        & (zone_h <= 23)
        & (zone_m <= 59)
    )
    instant = F.timestamp_micros(F.unix_date(day).cast("bigint") * _DAY_US + micros - offset)
    return F.when(valid & day.isNotNull(), instant)
