"""The small-batch compilation of the contract's rules gives exactly what the Polars one gives.

:mod:`charter.engines.polars.small_batch` compiles the same rules to Python predicates for
batches of a few rows (online requests). Each case here runs both compilations over the same
records and requires the same valid rows (values and types), the same failed rows with the same
``_violations`` in the same order, the same batch rules and the same schema changes. Between
them the cases break every row rule kind (``missing``, ``type``, ``not_null``, ``min``, ``max``,
``allowed``, ``pattern``, ``unique``, ``unique_across_batches``) and every batch rule.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

import polars as pl
import pytest
from polars.testing import assert_frame_equal
from tests.plumbing.test_timestamps import NOT_TIMESTAMPS, TIMESTAMPS

from charter.engines.polars import small_batch
from charter.engines.polars.contract import ValidationResult, validate
from charter.server.records import records_frame
from charter.spec.model import DataContract

NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)

CONTRACT = {
    "source": {"kind": "csv_dir", "path": "x"},
    "key": "id",
    "event_time": "at",
    "freshness": {"max_age": "1d"},
    "volume": {"min_rows": 2, "max_rows": 5},
    "fields": {
        "id": {"type": "string", "nullable": False, "pattern": "[a-z]+[0-9]*"},
        "at": {"type": "datetime", "nullable": False, "min": 1.7e9},
        "amount": {"type": "float", "nullable": False, "min": 0, "max": 1000},
        "count": {"type": "int", "min": 0.5, "max": 4.5, "unique": True},
        "channel": {"type": "string", "allowed": ["web", "branch", "phone"]},
        "rate": {"type": "float", "allowed": [0.5, 1.0, float("nan")], "max_null_fraction": 0.2},
        "flag": {"type": "bool", "allowed": [True]},
        "day": {"type": "date", "min": 1.7e9, "max": 1.9e9},
        "note": {"type": "string", "required": False},
        "ref": {"type": "int", "required": True},
    },
}


def _both(
    records: list[dict[str, Any]], spec: dict[str, Any] = CONTRACT, **kwargs: Any
) -> tuple[ValidationResult, ValidationResult]:
    contract = DataContract.model_validate(spec)
    frame = records_frame(records, contract)
    assert frame.height <= small_batch.SMALL_BATCH
    fast = validate(frame, contract, now=NOW, **kwargs)
    slow = validate(frame, contract, now=NOW, small_batches=False, **kwargs)
    return fast, slow


def _same(fast: ValidationResult, slow: ValidationResult) -> None:
    assert_frame_equal(fast.valid, slow.valid)
    assert_frame_equal(fast.failed, slow.failed)
    assert fast.batch_rules == slow.batch_rules
    assert fast.schema_changes == slow.schema_changes


def _record(i: int, **values: Any) -> dict[str, Any]:
    base = {
        "id": f"r{i}",
        "at": "2026-12-01T10:00:00+00:00",
        "amount": 12.5,
        "count": i,
        "channel": "web",
        "rate": 0.5,
        "flag": True,
        "day": "2026-11-30",
        "ref": i,
    }
    return {**base, **values}


def test_the_small_path_is_taken_for_online_records(monkeypatch: pytest.MonkeyPatch) -> None:
    taken: list[int] = []
    original = small_batch._row_checks

    def spy(*args: Any) -> Any:
        taken.append(1)
        return original(*args)

    monkeypatch.setattr(small_batch, "_row_checks", spy)
    fast, slow = _both([_record(1), _record(2)])
    assert taken == [1]
    assert fast.valid.height == 2
    _same(fast, slow)


def test_every_row_rule_kind_fails_the_same_rows_with_the_same_reasons() -> None:
    records = [
        _record(1),
        _record(2, id=None, amount=None),  # not_null (twice)
        _record(3, id="Bad-Key"),  # pattern
        _record(4, amount=-1.0, count=9),  # min, max
        _record(5, amount=math.nan),  # NaN breaks min (and max)
        _record(6, channel="fax", rate=0.25, flag=False),  # allowed (text, float, bool)
        _record(7, count=1),  # unique: count 1 again
        _record(1),  # unique key within the batch
        _record(8, at="2020-01-01T00:00:00Z"),  # datetime min
        _record(9, at="not a time", day="2026-02-30"),  # type (datetime, date)
        _record(10, day="2031-01-01"),  # date max
        _record(11, rate=math.nan),  # NaN is allowed: the contract lists it (Polars: NaN == NaN)
        _record(12, count=None, channel=None, rate=None),  # nulls skip value rules
        _record(13, at=" 2026-12-01 09:00 "),  # blanks around a timestamp
        _record(14, count=2.0),  # an integral float is an int
        _record(15, count=2.5),  # a fractional one is a type error
    ]
    fast, slow = _both(records)
    reasons = {name for names in slow.failed["_violations"].to_list() for name in names}
    assert reasons >= {
        "id.not_null",
        "id.pattern",
        "id.unique",
        "amount.not_null",
        "amount.min",
        "amount.max",
        "count.max",
        "count.unique",
        "count.type",
        "channel.allowed",
        "rate.allowed",
        "flag.allowed",
        "at.min",
        "at.type",
        "day.type",
        "day.max",
    }
    _same(fast, slow)


def test_keys_seen_in_earlier_batches_fail_alike() -> None:
    records = [_record(1), _record(2), _record(3, id="old")]
    seen = pl.Series("id", ["old", "r2"])
    fast, slow = _both(records, seen_keys=seen)
    assert slow.failed["_violations"].to_list() == [
        ["id.unique_across_batches"],
        ["id.unique_across_batches"],
    ]
    _same(fast, slow)


def test_a_missing_required_column_and_an_absent_optional_one() -> None:
    records = [{k: v for k, v in _record(i).items() if k != "ref"} for i in range(3)]
    fast, slow = _both(records)
    assert all("ref.missing" in names for names in slow.failed["_violations"].to_list())
    _same(fast, slow)
    assert "note" in fast.valid.columns or fast.valid.height == 0


def test_columns_of_the_wrong_type_and_text_that_holds_numbers() -> None:
    records = [
        _record(1, amount="12.5", count="3", flag=True),  # text read as numbers
        _record(2, amount="x", count="3.0"),
        _record(3, amount=" 7 ", count=" 4 "),
    ]
    fast, slow = _both(records)
    _same(fast, slow)
    wrong = [
        _record(1, amount=True, channel=3),
        _record(2, amount=False, channel=4),
    ]  # type_changed
    fast, slow = _both(wrong)
    assert "type_changed" in {c.kind for c in slow.schema_changes}
    _same(fast, slow)


def test_batch_rules_alike_when_the_batch_is_small_stale_or_null_heavy() -> None:
    one = [_record(1, at="2026-11-01T00:00:00Z", rate=None)]
    _same(*_both(one))
    many = [_record(i, rate=None) for i in range(7)]
    _same(*_both(many))
    _same(*_both([]))


@pytest.mark.parametrize("text", [*TIMESTAMPS, *NOT_TIMESTAMPS])
def test_every_timestamp_form_parses_alike(text: str) -> None:
    fast, slow = _both([_record(1, at=text, day=text), _record(2)])
    _same(fast, slow)


@pytest.mark.parametrize(
    "text",
    [
        "2016-12-31T23:59:60Z",  # a leap second
        "2026-04-01T10:00:00.0000085Z",  # 8.5 microseconds: a tie, rounded to even
        "2026-04-01T10:00:00.9999999Z",
        "2024-W01",
        "2020-W53-7",
        "2024-366",
        "2025-000",
        "2026-W00-1",
        "0000-01-01",  # year 0: declined, Polars reads it
        "9999-12-31T23:00-05:00",  # past year 9999 in UTC: declined
        "\x1c2026-04-01",  # not a blank to Polars
        "\u0662026-04-01",  # a non-ASCII digit
        "2026-04-01T10:00:00+2400",
    ],
)
def test_edge_timestamps_parse_alike(text: str) -> None:
    # no freshness.max_age: its newest-event check cannot hold years outside 1-9999 either way
    spec = {**CONTRACT, "freshness": {}}
    fast, slow = _both([_record(1, at=text, day=text[:10])], spec)
    _same(fast, slow)


def test_large_batches_are_left_to_polars(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*args: Any) -> Any:
        raise AssertionError("the small path ran")

    monkeypatch.setattr(small_batch, "_row_checks", fail)
    contract = DataContract.model_validate(CONTRACT)
    records = [_record(i) for i in range(small_batch.SMALL_BATCH + 1)]
    result = validate(records_frame(records, contract), contract, now=NOW)
    assert result.rows_in == len(records)
