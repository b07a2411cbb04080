"""Calendar windows (``1w``, ``1mo``, ``1q``) in the charter's timezone, ``window_origin`` for
fixed durations, and exploratory ``--window`` runs that raise no alerts. Expected boundaries are
computed independently with ``zoneinfo``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import polars as pl
import pytest

from charter.monitoring.cutting import CalendarCutter, FixedCutter
from charter.monitoring.service import monitor, stored_windows
from charter.monitoring.windows import from_us, to_us
from charter.spec.model import Sufficiency

PARIS = ZoneInfo("Europe/Paris")


def _local(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=PARIS).astimezone(UTC)  # type: ignore[arg-type,misc]


@pytest.mark.parametrize(
    ("unit", "moment", "start", "end"),
    [
        # 00:30 on 1 April in Paris is still 31 March in UTC; March has a DST change (23h day)
        ("mo", datetime(2024, 3, 31, 22, 30, tzinfo=UTC), _local(2024, 4, 1), _local(2024, 5, 1)),
        ("mo", datetime(2024, 3, 15, tzinfo=UTC), _local(2024, 3, 1), _local(2024, 4, 1)),
        # Sunday 3 March 2024 belongs to the ISO week of Monday 26 February
        ("w", datetime(2024, 3, 3, 12, tzinfo=UTC), _local(2024, 2, 26), _local(2024, 3, 4)),
        ("w", datetime(2024, 10, 27, 12, tzinfo=UTC), _local(2024, 10, 21), _local(2024, 10, 28)),
        ("q", datetime(2024, 5, 15, tzinfo=UTC), _local(2024, 4, 1), _local(2024, 7, 1)),
        ("y", datetime(2024, 12, 31, 23, 30, tzinfo=UTC), _local(2025, 1, 1), _local(2026, 1, 1)),
    ],
)
def test_calendar_windows_start_at_local_midnight(
    unit: str, moment: datetime, start: datetime, end: datetime
) -> None:
    cut = CalendarCutter(unit, "Europe/Paris")
    begins = cut.floor(to_us(moment))
    assert from_us(begins) == start and from_us(cut.next(begins)) == end
    frame = pl.DataFrame({"us": [to_us(moment)]})
    assert frame.select(cut.expr(pl.col("us"))).item() == begins


def test_fixed_windows_count_from_the_origin() -> None:
    origin = datetime(2024, 1, 1, 6, tzinfo=UTC)
    cut = FixedCutter(step=86_400_000_000, origin=to_us(origin))
    moment = datetime(2024, 3, 5, 5, 59, tzinfo=UTC)
    assert from_us(cut.floor(to_us(moment))) == datetime(2024, 3, 4, 6, tzinfo=UTC)
    before = datetime(2023, 12, 31, 7, tzinfo=UTC)  # before the origin: same grid
    assert from_us(cut.floor(to_us(before))) == datetime(2023, 12, 31, 6, tzinfo=UTC)


@pytest.mark.parametrize(
    ("window", "problem"),
    [
        ("2mo", "a calendar window is one unit"),
        ("5000rows", "or a calendar window: 1w, 1mo, 1q, 1y"),
    ],
)
def test_a_bad_window_says_what_to_write(window: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        Sufficiency.model_validate(
            {"window": window, "metrics": [{"metric": "roc_auc", "at_least": 0.5}]}
        )


def test_window_origin_is_for_fixed_windows_only() -> None:
    rules = [{"metric": "roc_auc", "at_least": 0.5}]
    with pytest.raises(ValueError, match="applies to fixed-duration windows only"):
        Sufficiency.model_validate(
            {"window": "1mo", "window_origin": "2024-01-01", "metrics": rules}
        )
    assert Sufficiency.model_validate({"window": "2w", "metrics": rules}).window == timedelta(
        days=14
    )


def _monthly(kit: Any) -> None:
    kit.write_charter()
    path = kit.ws.charters_dir / f"{kit.name}.yaml"
    text = path.read_text().replace("  window: 7d", "  window: 1mo")
    path.write_text(
        text.replace(
            "task: binary_classification", "task: binary_classification\ntimezone: Europe/Paris"
        )
    )


@pytest.mark.postgres
def test_monthly_windows_in_the_charters_timezone(mkit: Any) -> None:
    _monthly(mkit)
    mkit.register("live")
    mkit.reference(1)
    rows = mkit.world(2000, 90, start=datetime(2024, 2, 20, tzinfo=UTC), days=20)
    mkit.land("rows.parquet", rows)

    report = monitor(mkit.ws, mkit.name)

    months = [(_local(2024, 2, 1), _local(2024, 3, 1)), (_local(2024, 3, 1), _local(2024, 4, 1))]
    assert [(w.start, w.end) for w in report.windows] == months
    local_month = [t.astimezone(PARIS).month for t in rows["event_at"].to_list()]
    expected = [local_month.count(2), local_month.count(3)]
    assert [w.data["quality"]["rows"] for w in report.windows] == expected
    assert {w.data["window"] for w in report.windows} == {"1mo"}
    assert report.to_dict()["window"] == "1mo" and report.exploratory is False
    assert [w.start for w in stored_windows(mkit.ws, mkit.name)] == [m[0] for m in months]


@pytest.mark.postgres
def test_an_exploratory_window_says_so_and_raises_no_alerts(mkit: Any, cli: Any) -> None:
    mkit.write_charter(rules="    - {metric: roc_auc, at_least: 0.99}")
    mkit.register("live")
    mkit.reference(1)
    week = mkit.world(800, 91)
    mkit.land("w.parquet", week)
    mkit.labels("w.parquet", week["id"].to_list(), mkit.true_outcome(week, 91))

    explored = cli("monitor", mkit.name, "--window", "1w", "--json")

    assert explored.code == 0, explored.stderr
    body = explored.json()
    assert body["exploratory"] is True and body["window"] == "1w"
    assert {w["verdict"] for w in body["windows"]} == {"breach"}
    assert [w["start"][:10] for w in body["windows"]] == ["2024-02-26", "2024-03-04"]  # Mondays
    assert body["alerts"] == []
    shown = cli("monitor", mkit.name, "--window", "1w")
    assert "exploratory window 1w" in shown.stdout and "no alerts raised" in shown.stdout

    own = cli("monitor", mkit.name, "--json").json()
    assert own["exploratory"] is False
    assert [a["event"] for a in own["alerts"]] == ["breach"]
