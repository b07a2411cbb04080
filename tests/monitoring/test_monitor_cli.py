"""``charter monitor``, ``status`` and ``reference`` on the command line."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import polars as pl
import pytest

from charter.monitoring.service import monitor

pytestmark = pytest.mark.postgres


@pytest.fixture
def fed(mkit: Any) -> Any:
    mkit.register("live")
    mkit.reference(1)
    w0, w1 = mkit.world(600, 80), mkit.world(600, 81, start=mkit.week0 + timedelta(days=7))
    mkit.land("rows.parquet", pl.concat([w0, w1.with_columns(pl.col("amount") + 50)]))
    mkit.labels("w0.parquet", w0["id"].to_list(), mkit.true_outcome(w0, 80))
    return mkit


def test_monitor_json_has_the_keys_scripts_rely_on(cli: Any, fed: Any) -> None:
    result = cli("monitor", fed.name, "--json")

    assert result.code == 0, result.stderr
    body = result.json()
    assert set(body) >= {"windows"}
    assert len(body["windows"]) == 2
    for window in body["windows"]:
        assert {"start", "end", "version", "verdict", "metrics", "drift", "quality"} <= set(window)
        assert set(window["metrics"]) == {"realized", "estimated"}
        for methods in window["drift"].values():
            for method in methods.values():
                assert {"value", "status"} <= set(method)
    assert [w["verdict"] for w in body["windows"]] == ["pass", "insufficient_evidence"]
    assert body["windows"][1]["drift"]["amount"]["psi"]["status"] == "breach"


def test_monitor_prints_a_table_and_status_shows_the_latest_window(cli: Any, fed: Any) -> None:
    shown = cli("monitor", fed.name)
    assert shown.code == 0, shown.stderr
    assert "2024-02-29 → 03-07" in shown.stdout
    assert "roc_auc" in shown.stdout and "(≥0.65)" in shown.stdout
    assert "2 verdicts new or changed" in shown.stdout

    status = cli("status", fed.name)
    assert status.code == 0, status.stderr
    assert "2024-03-07 → 03-14" in status.stdout
    assert "insufficient" in status.stdout and "amount" in status.stdout
    assert "2024-02-29" not in status.stdout

    both = cli("status", fed.name, "--last", "2", "--json").json()
    assert [w["start"][:10] for w in both["windows"]] == ["2024-02-29", "2024-03-07"]


def test_status_before_any_monitoring_says_what_to_run(cli: Any, mkit: Any) -> None:
    result = cli("status", mkit.name)
    assert result.code == 0
    assert "run `charter monitor credit-default`" in result.stdout


def test_windows_and_ranges_from_the_command_line(cli: Any, fed: Any) -> None:
    daily = cli("monitor", fed.name, "--window", "1d", "--since", "2024-03-08", "--json")
    assert daily.code == 0, daily.stderr
    starts = [w["start"][:10] for w in daily.json()["windows"]]
    assert starts[0] == "2024-03-08" and len(starts) == 6  # 03-08 .. 03-13

    ranged = cli(
        "monitor", fed.name, "--since", "2024-04-01", "--until", "2024-04-15", "--json"
    ).json()["windows"]
    assert [w["quality"]["rows"] for w in ranged] == []  # no version has rows there


def test_bad_options_are_clear_errors(cli: Any, fed: Any) -> None:
    window = cli("monitor", fed.name, "--window", "weekly", "--json")
    assert window.code == 1 and "--window" in window.json()["error"]["message"]
    since = cli("monitor", fed.name, "--since", "last tuesday")
    assert since.code == 1 and "is not an ISO date or time" in since.stderr
    unknown = cli("monitor", "nope", "--json")
    assert unknown.code == 1 and unknown.json()["error"]["type"] == "CharterNotFoundError"
    many = cli(
        "monitor", fed.name, "--window", "1m", "--since", "2000-01-01", "--until", "2030-01-01"
    )
    assert many.code == 1 and "more than 10000" in many.stderr
    assert "--window" in many.stderr  # the hint says what to do


def test_reference_command_sets_a_versions_reference(cli: Any, mkit: Any) -> None:
    mkit.register("live")
    path = mkit.ws.root / "ref.parquet"
    frame = mkit.world(400, 82)
    frame.with_columns(outcome=pl.Series(mkit.true_outcome(frame, 82))).write_parquet(path)

    result = cli("reference", mkit.name, "1", str(path), "--json")

    assert result.code == 0, result.stderr
    body = result.json()
    assert (body["rows"], body["labelled"], body["cbpe"]) == (400, 400, "fitted")
    assert len(body["fingerprint"]) == 64
    missing = cli("reference", mkit.name, "1", str(mkit.ws.root / "none.csv"))
    assert missing.code == 1 and "does not exist" in missing.stderr


def test_register_with_a_reference_stores_both_in_one_transaction(cli: Any, mkit: Any) -> None:
    path = mkit.ws.root / "holdout.csv"
    frame = mkit.world(300, 83)
    frame.with_columns(outcome=pl.Series(mkit.true_outcome(frame, 83))).drop("event_at").write_csv(
        path
    )

    result = cli("register", mkit.name, str(mkit.model_file), "--reference", str(path))

    assert result.code == 0, result.stderr
    assert f"monitoring reference: {path}" in result.stdout
    actions = [e.action for e in mkit.ws.ledger.entries()][-2:]
    assert actions == ["version.registered", "reference.set"]
    mkit.land("rows.parquet", mkit.world(200, 84))
    (week,) = monitor(mkit.ws, mkit.name).windows
    assert week.data["reference"]["rows"] == 300 and week.data["reference"]["cbpe"] == "fitted"


def test_a_bad_reference_refuses_the_registration(cli: Any, mkit: Any) -> None:
    path = mkit.ws.root / "holdout.parquet"
    mkit.world(50, 85).drop("amount").write_parquet(path)

    result = cli("register", mkit.name, str(mkit.model_file), "--reference", str(path), "--json")

    assert result.code == 1
    assert "lacks the model input(s) 'amount'" in result.json()["error"]["message"]
    assert cli("versions", mkit.name, "--json").json() == []
