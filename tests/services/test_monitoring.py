"""``services.monitoring.monitor``: the windows are judged and their alerts raised, once."""

from __future__ import annotations

from typing import Any

from charter.alerts.raising import list_alerts
from charter.services.monitoring import monitor

UNREACHABLE = "    - {metric: roc_auc, at_least: 0.99}"


def _breaching_week(mkit: Any) -> None:
    mkit.write_charter(rules=UNREACHABLE)
    mkit.register("live")
    week = mkit.world(1000, seed=7)
    mkit.land("w0.parquet", week)
    mkit.labels("w0.parquet", week["id"].to_list(), mkit.true_outcome(week, 7))


def test_monitor_raises_the_alert_its_window_calls_for(mkit: Any) -> None:
    _breaching_week(mkit)

    run = monitor(mkit.ws, mkit.name)

    (window,) = run.windows
    assert window.verdict == "breach"
    assert [(a.event, a.severity, a.repeated) for a in run.raised] == [
        ("breach", "critical", False)
    ]
    assert [a.id for a in list_alerts(mkit.ws, mkit.name, "active")] == [run.raised[0].id]
    body = run.to_dict()
    assert body["alerts"] == [
        {"id": run.raised[0].id, "event": "breach", "severity": "critical", "repeated": False}
    ]
    assert body["resolved_alerts"] == []


def test_monitoring_twice_does_not_raise_the_alert_twice(mkit: Any) -> None:
    _breaching_week(mkit)
    first = monitor(mkit.ws, mkit.name)

    second = monitor(mkit.ws, mkit.name)

    assert [a.id for a in second.raised] == [a.id for a in first.raised]
    assert all(a.repeated for a in second.raised) and second.new_alerts == []
    assert len(list_alerts(mkit.ws, mkit.name, "active")) == 1


def test_an_exploratory_window_raises_nothing(mkit: Any) -> None:
    _breaching_week(mkit)

    run = monitor(mkit.ws, mkit.name, window="1d")

    assert run.exploratory and run.windows
    assert run.raised == [] and list_alerts(mkit.ws, mkit.name, "active") == []


def test_the_public_monitor_is_the_use_case() -> None:
    import charter

    assert charter.monitor is monitor
