"""The management API shows what the CLI shows, and changes state through the same services."""

from __future__ import annotations

from typing import Any

from tests.server.conftest import NAME, OWNER, Api, record

from charter.alerts.raising import raise_alert
from charter.registry.versions import list_versions


def test_the_charter_list_names_owner_live_version_and_open_alerts(api: Api, cli: Any) -> None:
    live = api.register("return frame['amount'] / 100", "live")
    shadow = api.register("return frame['amount'] / 200", "shadow")
    raise_alert(
        api.ws, NAME, event="breach", rule="test.rule", window=None, severity="warning", message="x"
    )

    body = api.get("/v1/charters").json()

    assert body["total"] == 1 and body["next_offset"] is None
    (item,) = body["items"]
    assert item["owner"]["email"] == OWNER
    assert (item["live_version"], item["shadow_versions"]) == (live, [shadow])
    assert item["open_alerts"] == 1
    alerts = api.get("/v1/alerts").json()["items"]
    assert [a["rule"] for a in alerts] == ["test.rule"]


def test_versions_are_paginated(api: Api) -> None:
    for _ in range(3):
        api.register("return frame['amount']", None)

    first = api.get(f"/v1/charters/{NAME}/versions", params={"limit": 2}).json()
    rest = api.get(
        f"/v1/charters/{NAME}/versions", params={"limit": 2, "offset": first["next_offset"]}
    ).json()

    assert [v["version"] for v in first["items"]] == [1, 2] and first["next_offset"] == 2
    assert [v["version"] for v in rest["items"]] == [3] and rest["next_offset"] is None


def test_readiness_and_charter_detail_match_the_cli(api: Api, cli: Any) -> None:
    version = api.register("return frame['amount'] / 100", "shadow")

    over_http = api.get(f"/v1/charters/{NAME}/readiness/{version}").json()
    from_cli = cli("readiness", NAME, str(version), "--json").json()
    detail = api.get(f"/v1/charters/{NAME}").json()

    assert over_http["items"] == from_cli["items"] and over_http["ready"] is False
    assert detail["charter"]["data"]["key"] == "id" and len(detail["sha256"]) == 64
    windows = api.get(f"/v1/charters/{NAME}/windows").json()
    assert (windows["items"], windows["total"]) == ([], 0)  # `charter monitor` has not run
    missing = api.get(f"/v1/charters/{NAME}/readiness/99")
    assert missing.status_code == 404 and missing.json()["error"]["type"] == "VersionNotFoundError"


def test_reject_then_rollback_through_the_api(api: Api) -> None:
    first = api.register("return frame['amount'] / 100", "shadow")
    risk = {"accept_risk": "accepted", "first_version_waiver": "first"}
    assert api.post(f"/v1/charters/{NAME}/versions/{first}/approve", "owner", json=risk).is_success
    second = api.register("return frame['amount'] / 50", "shadow")
    again = {"accept_risk": "accepted"}  # a live version exists now: no waiver
    assert api.post(
        f"/v1/charters/{NAME}/versions/{second}/approve", "owner", json=again
    ).is_success
    third = api.register("return frame['amount'] / 25", "shadow")
    nothing_open = api.post(
        f"/v1/charters/{NAME}/versions/{third}/reject", "owner", json={"reason": "x"}
    )
    assert nothing_open.status_code == 409  # no open decision: nothing to reject

    rolled = api.post(f"/v1/charters/{NAME}/rollback", "operator", json={"reason": "bad week"})

    assert rolled.status_code == 200, rolled.text
    assert rolled.json()["restored"] == first
    statuses = {v.version: v.status for v in list_versions(api.ws, NAME)}
    assert statuses[first] == "live" and statuses[second] == "rolled_back"
    (entry,) = api.ledger("version.rolled_back")
    assert entry["actor"] == "ops@bank.example"


def test_a_prediction_is_traced_to_every_versions_score_and_its_batch(api: Api) -> None:
    live = api.register("return frame['amount'] / 100", "live")
    shadow = api.register("return frame['amount'] / 200", "shadow")
    answer = api.post(f"/v1/charters/{NAME}/predict", json=record(8)).json()
    api.drain()

    traced = api.get(f"/v1/predictions/{answer['prediction_id']}").json()

    assert traced["charter"] == NAME and traced["key"] == "r8"
    assert traced["source"]["kind"] == "online"
    assert {(s["version"], s["score"]) for s in traced["scores"]} == {
        (str(live), 0.08),
        (str(shadow), 0.04),
    }
    assert traced["inputs"]["amount"] == 8.0
    assert api.get("/v1/predictions/nope-1").status_code == 404


def test_online_predictions_and_labels_reach_the_monitoring_windows(api: Api, cli: Any) -> None:
    live = api.register("return frame['amount'] / 100", "live")
    records = [record(i) for i in range(12)]
    assert api.post(f"/v1/charters/{NAME}/predict", json=records).status_code == 200
    labels = [{"id": r["id"], "outcome": i % 2} for i, r in enumerate(records)]
    assert api.post(f"/v1/charters/{NAME}/labels", json=labels).status_code == 200
    assert cli("monitor", NAME, "--json").code == 0

    windows = api.get(f"/v1/charters/{NAME}/windows", params={"version": str(live)}).json()

    (window,) = windows["items"]
    assert window["labels"]["rows"] == 12 and window["labels"]["labelled"] == 12
