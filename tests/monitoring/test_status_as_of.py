"""``charter status --as-of`` (issue 15, point 6): the windows judged and the alerts open at a moment,
from the ledger's ``window.evaluated`` and ``alert.*`` entries, against what ``status`` and
``alerts list`` printed then; a window re-judged later still shows its earlier verdict.

On SQLite and on the real PostgreSQL server.
"""

from __future__ import annotations

from typing import Any

import pytest
from tests.evidence.test_point_in_time import json_of, signed_now
from tests.monitoring.test_monitor import scenario, weeks

__all__ = ["scenario"]

pytestmark = pytest.mark.postgres


def verdicts(windows: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    return sorted((str(w["version"]), str(w["start"]), str(w["verdict"])) for w in windows)


def open_alert_ids(cli: Any, name: str) -> list[int]:
    listed = json_of(cli, "alerts", name, "list")["alerts"]
    return sorted(int(a["id"]) for a in listed)


def test_status_as_of_gives_the_verdicts_and_alerts_of_then(scenario: Any, cli: Any) -> None:
    name = scenario.name
    assert cli("monitor", name).code == 0  # the CLI's pass also raises alerts
    first = signed_now(scenario.ws)
    printed_first = json_of(cli, "status", name, "--last", "10")["windows"]
    alerts_first = open_alert_ids(cli, name)
    frame = weeks(scenario)[3]
    late = frame["id"].to_list()[50:400]
    scenario.labels("w3-late.parquet", late, scenario.true_outcome(frame, 23)[50:400])
    assert cli("monitor", name).code == 0
    second = signed_now(scenario.ws)
    printed_second = json_of(cli, "status", name, "--last", "10")["windows"]

    then = json_of(cli, "status", name, "--as-of", first)["point_in_time"]
    later = json_of(cli, "status", name, "--as-of", second)["point_in_time"]

    assert verdicts(then["windows_judged"]) == verdicts(printed_first)
    assert verdicts(later["windows_judged"]) == verdicts(printed_second)
    assert verdicts(then["windows_judged"]) != verdicts(later["windows_judged"])
    rejudged = [w for w in later["windows_judged"] if w["previous"] is not None]
    assert [(w["previous"], w["verdict"]) for w in rejudged] == [("insufficient_evidence", "pass")]
    assert rejudged[0]["ledger"]["action"] == "window.evaluated"
    assert sorted(a["alert_id"] for a in then["open_alerts"]) == alerts_first
    assert alerts_first, "the breached window raises an alert"
    assert then["live_version"] == 1
