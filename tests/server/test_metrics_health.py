"""/metrics in Prometheus text, /readyz on the database and the answering models."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families
from tests.server.conftest import NAME, Api, record


def _samples(api: Api) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    assert api.client.get("/metrics").status_code == 401  # a viewer token is needed
    response = api.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(response.text)
        for s in family.samples
    }


def test_metrics_count_requests_predictions_refusals_and_quarantined_rules(api: Api) -> None:
    live = api.register("return frame['amount'] / 100", "live")
    api.post(f"/v1/charters/{NAME}/predict", json=[record(1), record(2)])
    api.post(f"/v1/charters/{NAME}/predict", json=record(3, amount=-1.0))

    samples = _samples(api)

    route = "/v1/charters/{name}/predict"
    ok = {"charter": NAME, "version": str(live), "route": route, "method": "POST", "status": "200"}
    refused = {**ok, "status": "422"}
    assert samples[("charter_http_requests_total", frozenset(ok.items()))] == 1
    assert samples[("charter_http_requests_total", frozenset(refused.items()))] == 1
    logged = {"charter": NAME, "version": str(live), "status": "live"}
    assert samples[("charter_predictions_logged_total", frozenset(logged.items()))] == 2
    rule = {"charter": NAME, "rule": "amount.min"}
    assert samples[("charter_records_quarantined_total", frozenset(rule.items()))] == 1
    reason = {"charter": NAME, "reason": "contract"}
    assert samples[("charter_predictions_refused_total", frozenset(reason.items()))] == 1
    latency = {k: v for k, v in ok.items() if k != "status"}
    count = ("charter_http_request_duration_seconds_count", frozenset(latency.items()))
    assert samples[count] == 2  # both requests: latency is not split by status
    assert samples[("charter_open_alerts", frozenset({("charter", NAME)}))] == 0


def test_readyz_loads_the_answering_model(api: Api) -> None:
    assert api.client.get("/readyz").json()["charters"][NAME]["loaded"] is False
    live = api.register("return frame['amount'] / 100", "live")
    for log in api.client.app.state.online._logs.values():  # type: ignore[attr-defined]
        log._checked = 0.0  # as if a poll interval had passed

    ready = api.client.get("/readyz")

    assert ready.status_code == 200
    assert ready.json()["charters"][NAME] == {
        "loaded": True,
        "answering_version": live,
        "acted_on": True,
    }


def test_readyz_is_503_when_a_live_model_cannot_load(api: Api) -> None:
    api.register("return frame['amount'] / 100", "live")
    for artifact in (api.ws.state_dir / "artifacts").rglob("*"):
        if artifact.is_file():
            artifact.write_bytes(b"tampered")

    ready = api.client.get("/readyz")

    assert ready.status_code == 503
    assert ready.json()["status"] == "not_ready"
    assert "error" in ready.json()["charters"][NAME]


def test_no_request_adds_series_for_names_it_made_up(api: Api) -> None:
    api.register("return frame['amount'] / 100", "live")
    api.client.post("/v1/charters/made-up-1/predict", json=record(1))  # no token: 401
    api.post("/v1/charters/made-up-2/predict", json=record(2))  # unknown charter: 404
    api.post(f"/v1/charters/{NAME}/versions/98765/approve", who="owner")  # unknown version
    api.client.request("BREW", f"/v1/charters/{NAME}")

    labels = [dict(labels) for _, labels in _samples(api)]

    assert not [x for x in labels if x.get("charter", "").startswith("made-up")]
    assert not [x for x in labels if x.get("version") == "98765"]
    assert not [x for x in labels if x.get("method") == "BREW"]
    route = "/v1/charters/{name}/predict"
    unknown = [x for x in labels if x.get("status") == "404" and x.get("route") == route]
    assert unknown and all(x["charter"] == "" and x["version"] == "" for x in unknown)
