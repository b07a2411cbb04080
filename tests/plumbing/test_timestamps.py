"""The one ISO 8601 parser: every form the standard allows, read as UTC; anything else is null."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import polars as pl
import pytest

from charter.engines.polars.contract import validate
from charter.engines.polars.timestamps import (
    parse_date,
    parse_dates,
    parse_datetimes,
    parse_timestamp,
)
from charter.spec.model import DataContract

TEN_UTC = datetime(2026, 4, 1, 10, 0, tzinfo=UTC)

TIMESTAMPS = {
    "2026-04-01T10:00:00Z": TEN_UTC,
    "2026-04-01T10:00Z": TEN_UTC,  # no seconds
    "2026-04-01T12:00+02:00": TEN_UTC,  # offset, no seconds
    "2026-04-01T12:00:00+0200": TEN_UTC,  # offset without colon
    "2026-04-01T12+02": TEN_UTC,  # hour only, hour-only offset
    "2026-04-01T05:00:00-05:00": TEN_UTC,
    "20260401T100000Z": TEN_UTC,  # basic format
    "20260401T1200+0200": TEN_UTC,
    "2026-04-01 10:00:00": TEN_UTC,  # space separator, no zone: UTC already
    "2026-04-01t10:00:00z": TEN_UTC,
    "  2026-04-01T10:00:00Z ": TEN_UTC,
    "2026-04-01T10:00:00.5Z": TEN_UTC + timedelta(milliseconds=500),
    "2026-04-01T10:00:00,25Z": TEN_UTC + timedelta(milliseconds=250),  # decimal comma
    "2026-04-01T10:00:00.123456789Z": TEN_UTC + timedelta(microseconds=123457),
    "2026-04-01T10:30.5Z": TEN_UTC + timedelta(minutes=30, seconds=30),  # fraction of a minute
    "2026-04-01T10.25": TEN_UTC + timedelta(minutes=15),  # fraction of an hour
    "2026-03-31T24:00:00Z": datetime(2026, 4, 1, tzinfo=UTC),  # end of day
    "2026-04-01": datetime(2026, 4, 1, tzinfo=UTC),
    "20260401": datetime(2026, 4, 1, tzinfo=UTC),
    "2026-091T10:00Z": TEN_UTC,  # ordinal date
    "2026-W14-3T10:00Z": TEN_UTC,  # week date (Wednesday of week 14)
    "2026W143T100000Z": TEN_UTC,
}
NOT_TIMESTAMPS = [
    "",
    "10:00",
    "2026-13-01",
    "2026-04-31",
    "2026-02-29T10:00",
    "2026-04-01T25:00",
    "2026-04-01T24:30",
    "2026-04-01T10:61",
    "2026-04-01T10:00+24:00",
    "2026-366",
    "2025-W53-1",  # 2025 has 52 ISO weeks
    "01/04/2026",
    "2026-04-01T10:00:00Zjunk",
    "yesterday",
]


@pytest.mark.parametrize("text", TIMESTAMPS, ids=list(TIMESTAMPS))
def test_every_iso_8601_form_is_read_as_the_same_utc_instant(text: str) -> None:
    assert parse_timestamp(text) == TIMESTAMPS[text]


@pytest.mark.parametrize("text", NOT_TIMESTAMPS)
def test_text_that_is_not_an_iso_8601_timestamp_is_null(text: str) -> None:
    assert parse_timestamp(text) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-04-01", date(2026, 4, 1)),
        ("20260401", date(2026, 4, 1)),
        ("2026-091", date(2026, 4, 1)),
        ("2024-366", date(2024, 12, 31)),
        ("2026-W14-3", date(2026, 4, 1)),
        ("2026-W14", date(2026, 3, 30)),
        ("2020-W53-7", date(2021, 1, 3)),
        ("2026-04-01T10:00", None),  # a date field takes dates only
        ("2026-02-29", None),
        ("2026-4-1", None),
    ],
)
def test_dates_take_the_iso_8601_date_forms_only(text: str, expected: date | None) -> None:
    assert parse_date(text) == expected


def test_a_leap_second_rolls_over_into_the_next_minute() -> None:
    assert parse_timestamp("2016-12-31T23:59:60Z") == datetime(2017, 1, 1, tzinfo=UTC)


def test_validation_reads_text_timestamps_of_every_form_and_quarantines_the_rest() -> None:
    contract = DataContract.model_validate(
        {
            "source": {"kind": "csv_dir", "path": "x"},
            "key": "id",
            "event_time": "at",
            "fields": {"id": {"type": "string"}, "at": {"type": "datetime"}, "d": {"type": "date"}},
        }
    )
    forms = list(TIMESTAMPS)
    frame = pl.DataFrame(
        {
            "id": [f"k{i}" for i in range(len(forms) + 2)],
            "at": [*forms, "2026-04-01T10:00:00+02:00", "01/04/2026"],
            "d": ["2026-W14-3"] * len(forms) + ["20260401", "2026-04-01T10:00"],
        }
    )

    result = validate(frame, contract)

    assert result.failed["id"].to_list() == [f"k{len(forms) + 1}"]
    assert result.failed["_violations"].to_list() == [["at.type", "d.type"]]
    assert result.valid["at"].to_list() == [*TIMESTAMPS.values(), TEN_UTC - timedelta(hours=2)]
    assert set(result.valid["d"].to_list()) == {date(2026, 4, 1)}


def test_allowed_timestamps_in_a_charter_use_the_same_parser() -> None:
    contract = DataContract.model_validate(
        {
            "source": {"kind": "csv_dir", "path": "x"},
            "key": "id",
            "fields": {"at": {"type": "datetime", "allowed": ["20260401T120000+0200"]}},
        }
    )
    frame = pl.DataFrame({"id": ["a", "b"], "at": ["2026-04-01T10:00Z", "2026-04-01T12:00Z"]})

    result = validate(frame, contract)

    assert result.valid["id"].to_list() == ["a"]
    assert result.failed["_violations"].to_list() == [["at.allowed"]]
    offset = timezone(timedelta(hours=2))
    assert result.valid["at"].item() == datetime(2026, 4, 1, 12, tzinfo=offset)


def test_a_column_is_matched_once_and_keeps_its_name() -> None:
    # Reading each group through struct.field of the match repeats the regex once per group
    # (about thirty passes per column): the online path paid it on every group commit.
    for parse in (parse_datetimes, parse_dates):
        expr = parse(pl.col("when"))
        assert str(expr).count("extract_groups") == 1
        frame = pl.DataFrame({"when": ["2026-04-01", None, "x"]})
        assert frame.select(expr).columns == ["when"]
