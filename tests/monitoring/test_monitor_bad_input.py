"""Bad input gives a defined result: a number, or "not computable" with the reason; never a crash
and never a NaN in the JSON.

Version 1 (live) is the trained pipeline; version 2 (shadow) scores ``amount / 50``, which is not
a probability. Week by week:

- W0: ordinary rows, labels of one class only;
- W1: no rows at all (the pipeline stopped);
- W2: ``amount`` all null, and a ``channel`` never seen in the reference;
- W3: ``amount`` constant.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta
from typing import Any

import polars as pl
import pytest

from charter.monitoring.service import monitor

pytestmark = pytest.mark.postgres


def strict_json(data: Any) -> Any:
    """Round-trip through JSON that refuses NaN and infinities."""

    def refuse(name: str) -> Any:
        raise AssertionError(f"{name} in the JSON")

    return json.loads(json.dumps(data, allow_nan=False), parse_constant=refuse)


def register_ratio_model(kit: Any) -> int:
    module = f"ratio_{uuid.uuid4().hex[:8]}"
    (kit.ws.root / f"{module}.py").write_text(
        "def score(frame):\n    return frame['amount'].to_numpy() / 50\n"
    )
    version: int = kit.register("shadow", f"{module}:score")
    return version


@pytest.fixture
def odd(mkit: Any) -> dict[str, dict[int, Any]]:
    mkit.register("live")
    mkit.reference(1)
    register_ratio_model(mkit)
    mkit.reference(2)
    w0 = mkit.world(400, 50)
    w2 = mkit.world(400, 52, start=mkit.week0 + timedelta(days=14)).with_columns(
        amount=pl.lit(None, pl.Float64), channel=pl.lit("mobile")
    )
    w3 = mkit.world(400, 53, start=mkit.week0 + timedelta(days=21)).with_columns(
        amount=pl.lit(42.0)
    )
    mkit.land("rows.parquet", pl.concat([w0, w2, w3]))
    mkit.labels("w0.parquet", w0["id"].to_list(), [0] * w0.height)
    mkit.labels("w3.parquet", w3["id"].to_list(), [1] * 150 + [0] * 250)
    report = strict_json(monitor(mkit.ws, mkit.name).to_dict())
    out: dict[str, dict[int, Any]] = {"1": {}, "2": {}}
    for body in report["windows"]:
        week = (datetime.fromisoformat(body["start"]) - mkit.week0).days // 7
        out[body["version"]][week] = body
    return out


def test_every_version_gets_every_week_even_the_empty_one(odd: dict[str, Any]) -> None:
    assert sorted(odd["1"]) == sorted(odd["2"]) == [0, 1, 2, 3]
    empty = odd["1"][1]
    assert empty["quality"]["rows"] == 0
    assert empty["verdict"] == "insufficient_evidence"
    assert empty["quality"]["late_fraction"] == {"not_computable": "the window has no rows"}
    amount = empty["drift"]["amount"]["psi"]
    assert amount["status"] == "not_computable" and amount["value"] is None
    assert amount["reason"] == "the current window has no rows"
    assert empty["labels"]["coverage"] == {"not_computable": "the window has no predictions"}
    assert empty["metrics"]["estimated"]["roc_auc"] == {
        "not_computable": "the window has no scored rows"
    }


def test_single_class_labels_leave_the_rule_without_evidence(odd: dict[str, Any]) -> None:
    rule = odd["1"][0]["rules"][0]
    assert rule["status"] == "insufficient_evidence" and rule["labels"] == 400
    assert rule["reason"] == "labels hold a single class (0 only)"
    assert odd["1"][0]["metrics"]["realized"]["accuracy"] > 0  # label-based metrics still work


def test_an_all_null_column_and_an_unseen_category(odd: dict[str, Any]) -> None:
    week = odd["1"][2]
    assert week["quality"]["columns"]["amount"]["null_fraction"] == 1.0
    assert (
        week["drift"]["amount"]["ks"]["reason"] == "all 400 values of the current window are null"
    )
    channel = week["quality"]["columns"]["channel"]
    assert channel["unseen_fraction"] == 1.0 and channel["unseen_values"] == ["mobile"]
    assert week["drift"]["channel"]["psi"]["status"] == "breach"
    assert week["drifted"] == ["channel"]


def test_a_constant_column_is_measured(odd: dict[str, Any]) -> None:
    week = odd["1"][3]
    amount = week["quality"]["columns"]["amount"]
    assert (amount["std"], amount["min"], amount["max"]) == (0.0, 42.0, 42.0)
    assert week["drift"]["amount"]["psi"]["status"] == "breach"
    assert week["drift"]["amount"]["ks"]["value"] > 0.5
    assert week["verdict"] in ("pass", "warn", "breach")  # 400 labels, both classes: judged


def test_scores_outside_zero_one_are_reported_not_averaged(odd: dict[str, Any]) -> None:
    week = odd["2"][3]  # amount 42 → score 0.84, inside; week 0 has scores up to 2
    first = odd["2"][0]
    realized = first["metrics"]["realized"]
    assert "outside [0, 1]" in realized["log_loss"]["not_computable"]
    assert isinstance(realized["accuracy"], float)  # a threshold needs no probabilities
    assert first["quality"]["score"]["out_of_range_fraction"] > 0.3
    assert "outside [0, 1]" in first["reference"]["cbpe"]
    assert "outside [0, 1]" in first["metrics"]["estimated"]["roc_auc"]["not_computable"]
    assert week["quality"]["score"]["out_of_range"] == 0
    null_scores = odd["2"][2]
    assert null_scores["quality"]["score"]["null_fraction"] == 1.0


def test_a_version_without_reference_is_monitored_without_drift(mkit: Any) -> None:
    mkit.register("live")
    mkit.land("rows.parquet", mkit.world(300, 60))

    (week,) = strict_json(monitor(mkit.ws, mkit.name).to_dict())["windows"]

    assert week["reference"] is None
    assert week["drift"]["amount"]["psi"]["reason"] == "no reference for this version and column"
    assert week["drift_status"] == "not_computable" and week["drifted"] == []
    assert "no reference" in week["metrics"]["estimated"]["f1"]["not_computable"]
    assert week["quality"]["columns"]["channel"]["unseen_fraction"] == {
        "not_computable": "no reference categories to compare with"
    }
    assert week["quality"]["columns"]["amount"]["null_fraction"] == 0.0


def test_nothing_logged_gives_no_windows(mkit: Any) -> None:
    assert monitor(mkit.ws, mkit.name).to_dict()["windows"] == []
