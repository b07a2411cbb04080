"""A charter's page puts every shown version on the same chart per rule, over the owner's bands.

The workspace is the decision page's (:mod:`tests.dashboard.test_decision_page`): version 1 live,
version 2 in shadow, three labelled weeks monitored; each week's ROC AUC of each version is
computed there with scikit-learn from the same rows. The alignment and the bands are also
checked on windows made here, where one version misses a window.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.dashboard.test_decision_page import Waiting, _row, mkit, model_file, waiting
from tests.dashboard.test_sessions_http import sign_in

from charter.monitoring.results import WindowResult
from charter.server.dashboard.pages import _compared
from charter.server.dashboard.svg import bands_for

__all__ = ["mkit", "model_file", "waiting"]


def test_the_live_and_the_shadow_version_share_one_chart_and_one_table(waiting: Waiting) -> None:
    page = sign_in(waiting.client, waiting.tokens["viewer"]).get(f"/charters/{waiting.kit.name}")

    assert page.status_code == 200
    figure = page.text.split('data-testid="compared-0"', 1)[1].split("</figure>", 1)[0]
    assert "version 1 (live), version 2 (shadow) on the same windows" in figure
    svg = figure.split("<svg", 1)[1].split("</svg>", 1)[0]
    assert 'role="img"' in page.text and svg.count("<polyline") == 2  # one line per version
    assert re.findall(r'data-band="(\w+)"', svg) == ["breach", "warn", "pass"]
    for i in range(3):
        start = f"{waiting.kit.week0 + timedelta(days=7 * i):%Y-%m-%d}"
        cells = _row(page.text, "compared-table-0", start)
        assert cells[0] == start
        assert cells[1] == f"{waiting.aucs[1][i]:.3f}"  # the champion
        assert cells[3] == f"{waiting.aucs[2][i]:.3f}"  # the challenger, same window
        assert {cells[2], cells[4]} <= {"pass", "warn", "breach"}


def _window(version: str, day: int, value: float, status: str) -> WindowResult:
    start = datetime(2026, 6, 1, tzinfo=UTC) + timedelta(days=7 * day)
    rule: dict[str, Any] = {
        "metric": "roc_auc", "segment": None, "at_least": 0.7, "at_most": None,
        "warn_at": 0.8, "value": value, "status": status, "labels": 100,
    }  # fmt: skip
    return WindowResult(version, start, start + timedelta(days=7), status, {"rules": [rule]})


def test_versions_are_aligned_by_window_and_a_missing_window_is_said() -> None:
    windows = [
        _window("3", 0, 0.85, "pass"),
        _window("3", 1, 0.75, "warn"),
        _window("2", 0, 0.82, "pass"),
        _window("4", 1, 0.65, "breach"),  # the shadow version only judged in week 1
    ]

    (chart,) = _compared([("3", "live"), ("4", "shadow"), ("2", "standby")], windows)

    assert chart.versions == [("3", "live"), ("4", "shadow"), ("2", "standby")]
    values = [[c.get("value") for c in row["cells"]] for row in chart.rows]
    assert [row["window"] for row in chart.rows] == ["2026-06-01", "2026-06-08"]
    assert values == [[0.85, None, 0.82], [0.75, 0.65, None]]
    assert chart.svg.count("<circle") == 4 and "v4 (shadow)" in chart.svg


def test_a_single_version_has_no_comparison() -> None:
    assert _compared([("1", "live")], [_window("1", 0, 0.9, "pass")]) == []


def test_the_bands_follow_the_owners_thresholds_both_ways() -> None:
    low = bands_for(0.7, None, 0.8)
    high = bands_for(None, 0.3, 0.2)

    assert [(b.name, b.low, b.high) for b in low] == [
        ("breach", float("-inf"), 0.7),
        ("warn", 0.7, 0.8),
        ("pass", 0.8, float("inf")),
    ]
    assert [(b.name, b.low, b.high) for b in high] == [
        ("pass", float("-inf"), 0.2),
        ("warn", 0.2, 0.3),
        ("breach", 0.3, float("inf")),
    ]
    assert [b.name for b in bands_for(0.7, None, None)] == ["breach", "pass"]
