"""Cutting event time into windows: which window each row belongs to, as a Polars expression.

A :class:`Cutter` maps a moment (microseconds since the Unix epoch, UTC) to the start of its
window, vectorised over a column (:meth:`Cutter.expr`) and for one value (:meth:`Cutter.floor`),
and gives each window's end (:meth:`Cutter.next`). Two kinds (see :mod:`charter.spec.windows`):

- :class:`FixedCutter`: ``origin + k·size``, integer arithmetic on microseconds;
- :class:`CalendarCutter`: the moment converted to the charter's time zone and truncated to its
  ISO week (Monday), month, quarter or year with Polars' ``dt.truncate``, so daylight saving is
  handled by the time-zone database; the end is the start offset by one unit, in local time.

Both are pure functions of the moment: re-runs, other machines and other batch orders cut the
same windows, so the per-(batch, window) summaries stay mergeable and reusable.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import polars as pl

from charter.spec.model import Charter
from charter.spec.windows import CalendarWindow, WindowValue, format_window

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _us(moment: datetime) -> int:
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return (moment - _EPOCH) // timedelta(microseconds=1)


class Cutter:
    """Where windows start and end (see the module docstring)."""

    text: str

    def expr(self, moment: pl.Expr) -> pl.Expr:
        """The start (µs) of the window of each moment (µs)."""
        raise NotImplementedError

    def floor(self, moment_us: int) -> int:
        """The start of the window holding ``moment_us``."""
        raise NotImplementedError

    def next(self, start_us: int) -> int:
        """The end of the window starting at ``start_us`` (the next one's start)."""
        raise NotImplementedError

    def ends_expr(self, start: pl.Expr) -> pl.Expr:
        """The end (µs) of the window starting at each ``start`` (µs)."""
        raise NotImplementedError

    def is_window(self, starts: list[int], ends: list[int]) -> list[bool]:
        """For each (start, end): is it one of this cutter's windows? Vectorised, for reading
        many stored windows at once."""
        frame = pl.DataFrame(
            {"start": starts, "end": ends}, schema={"start": pl.Int64, "end": pl.Int64}
        )
        check = (self.expr(pl.col("start")) == pl.col("start")) & (
            self.ends_expr(pl.col("start")) == pl.col("end")
        )
        return frame.select(check).to_series().to_list()

    def starts(self, first_us: int, last_us: int, limit: int) -> list[int] | None:
        """Every window start from the one holding ``first_us`` to the one holding ``last_us``;
        ``None`` when there are more than ``limit``."""
        out: list[int] = []
        start = self.floor(first_us)
        while start <= last_us:
            if len(out) == limit:
                return None
            out.append(start)
            start = self.next(start)
        return out


@dataclass(frozen=True)
class FixedCutter(Cutter):
    step: int  # µs
    origin: int = 0  # µs since the epoch
    text: str = ""

    def expr(self, moment: pl.Expr) -> pl.Expr:
        return (moment - self.origin) // self.step * self.step + self.origin

    def floor(self, moment_us: int) -> int:
        return (moment_us - self.origin) // self.step * self.step + self.origin

    def next(self, start_us: int) -> int:
        return start_us + self.step

    def ends_expr(self, start: pl.Expr) -> pl.Expr:
        return start + self.step

    def starts(self, first_us: int, last_us: int, limit: int) -> list[int] | None:
        first, last = self.floor(first_us), self.floor(last_us)
        count = (last - first) // self.step + 1
        if count > limit:
            return None
        return list(range(first, last + 1, self.step)) if count > 0 else []


@dataclass(frozen=True)
class CalendarCutter(Cutter):
    unit: str  # w, mo, q, y
    timezone: str = "UTC"
    text: str = ""

    def _local(self, moment: pl.Expr) -> pl.Expr:
        utc = pl.from_epoch(moment, "us").dt.replace_time_zone("UTC")
        return utc.dt.convert_time_zone(self.timezone).dt.truncate(f"1{self.unit}")

    def expr(self, moment: pl.Expr) -> pl.Expr:
        return self._local(moment).dt.epoch("us")

    def floor(self, moment_us: int) -> int:
        return int(pl.select(self.expr(pl.lit(moment_us, pl.Int64))).item())

    def next(self, start_us: int) -> int:
        return int(pl.select(self.ends_expr(pl.lit(start_us, pl.Int64))).item())

    def ends_expr(self, start: pl.Expr) -> pl.Expr:
        return self._local(start).dt.offset_by(f"1{self.unit}").dt.epoch("us")


def cutter(window: WindowValue, charter: Charter) -> Cutter:
    """The cutter of ``window`` under ``charter`` (its timezone and window_origin)."""
    text = format_window(window)
    if isinstance(window, CalendarWindow):
        return CalendarCutter(window.unit, charter.timezone, text)
    step = round(window.total_seconds() * 1_000_000)
    if step <= 0:
        raise ValueError(f"a window must be longer than zero, got {window}")
    origin = charter.sufficiency.window_origin
    return FixedCutter(step, 0 if origin is None else _us(origin), text)
