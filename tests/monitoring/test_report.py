"""``charter report NAME --html FILE``: one self-contained page, charts against the thresholds."""

from __future__ import annotations

import re
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from charter.monitoring.report import Chart, Level, Series
from charter.monitoring.service import monitor

pytestmark = pytest.mark.postgres
RULES = """\
    - {metric: roc_auc, at_least: 0.65, warn_at: 0.8}
    - {metric: recall, at_least: 0.5, segment: "channel == 'web' and amount < 80"}"""


class Inventory(HTMLParser):
    """Every tag and attribute of a page, to prove it fetches nothing."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attributes: list[tuple[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attributes += attrs


@pytest.fixture
def page(mkit: Any, cli: Any, tmp_path: Path) -> str:
    mkit.write_charter(rules=RULES, min_labels=50)
    mkit.register("live")
    mkit.reference(1)
    frames = [mkit.world(500, 90 + i, start=mkit.week0 + timedelta(days=7 * i)) for i in range(3)]
    frames[2] = frames[2].with_columns(pl.col("amount") * 0.5)
    mkit.land("rows.parquet", pl.concat(frames))
    for i, frame in enumerate(frames[:2]):
        mkit.labels(f"w{i}.parquet", frame["id"].to_list(), mkit.true_outcome(frame, 90 + i))
    monitor(mkit.ws, mkit.name)
    out = tmp_path / "reports" / "credit.html"

    result = cli("report", mkit.name, "--html", str(out), "--json")

    assert result.code == 0, result.stderr
    assert result.json() == {
        "charter": "credit-default",
        "file": str(out),
        "windows": 3,
        "versions": ["1"],
    }
    return out.read_text()


def test_the_report_is_self_contained(page: str) -> None:
    inventory = Inventory()
    inventory.feed(page)
    assert "script" not in inventory.tags and "link" not in inventory.tags
    assert "img" not in inventory.tags and "iframe" not in inventory.tags
    fetching = [(k, v) for k, v in inventory.attributes if k in ("src", "href")]
    assert fetching == []
    assert "url(" not in page and "@import" not in page
    assert re.findall(r"https?://[^\"' ]+", page) == ["http://www.w3.org/2000/svg"] * page.count(
        "<svg"
    )


def test_the_report_charts_each_rule_against_its_levels_and_drift_per_input(page: str) -> None:
    assert page.count("<svg") == 2 + 3  # two rules; amount, channel and the score
    assert "threshold 0.65" in page and "warn 0.8" in page and "threshold 0.5" in page
    assert "recall [channel == &#x27;web&#x27; and amount &lt; 80]" in page  # escaped
    assert "drift of amount (psi)" in page and "drift of score (psi)" in page
    assert "estimated (CBPE)" in page
    assert page.count("<polyline") >= 3
    for day in ("2024-02-29", "2024-03-07", "2024-03-14"):
        assert day in page
    assert "Dana Ruiz" in page and "7d windows" in page


def test_a_chart_leaves_gaps_where_a_value_is_missing() -> None:
    chart = Chart("t", ["a", "b", "c", "d"])
    chart.series.append(Series("s", [0.2, None, 0.4, 0.5], "#000"))
    chart.levels.append(Level("threshold", 0.3, "#f00"))
    svg = chart.svg()
    assert svg.count("<circle") == 3
    assert svg.count("<polyline") == 1  # c–d joined; a stands alone across the gap
    assert svg.startswith("<svg") and svg.endswith("</svg>")


def test_a_report_before_any_monitoring_says_so(mkit: Any, cli: Any, tmp_path: Path) -> None:
    out = tmp_path / "empty.html"
    result = cli("report", mkit.name, "--html", str(out))
    assert result.code == 0, result.stderr
    assert "No windows yet" in out.read_text()
