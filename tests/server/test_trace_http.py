"""``GET /v1/predictions/{id}`` and ``GET /v1/charters/{name}/trace?key=``: the trace service
over HTTP, the endpoint's earlier keys kept."""

from __future__ import annotations

import pytest
from tests.server.conftest import NAME, OWNER, Api, record

from charter.lifecycle.decisions import approve

pytestmark = pytest.mark.postgres
EARLIER = {"prediction_id", "charter", "batch_id", "source", "key", "event_time", "ingested_at"}
EARLIER |= {"late", "inputs", "scores"}


def test_a_traced_answer_names_its_approval_and_terms_and_keeps_the_earlier_keys(
    api: Api,
) -> None:
    version = api.register("return frame['amount'] / 100", "shadow")
    approve(api.ws, NAME, version, by=OWNER, accept_risk="a pilot of one week", waiver="first")
    answer = api.post(f"/v1/charters/{NAME}/predict", json=record(8)).json()

    traced = api.get(f"/v1/predictions/{answer['prediction_id']}").json()
    by_key = api.get(f"/v1/charters/{NAME}/trace", params={"key": "r8"}).json()

    assert set(traced) >= EARLIER
    assert traced["answering_version"] == str(version) and traced["acted_on"] is True
    assert traced["scores"] == [
        {"version": str(version), "status": "live", "score": 0.08, "acted_on": True}
    ]
    assert traced["approval"]["approved_by"] == OWNER
    assert traced["approval"]["accepted_risk"] == "a pilot of one week"
    assert traced["terms"]["sha256"] and traced["batch"]["kind"] == "online"
    assert by_key == traced


def test_an_unknown_key_or_id_is_a_404_naming_it(api: Api) -> None:
    api.register("return frame['amount'] / 100", "live")

    no_key = api.get(f"/v1/charters/{NAME}/trace", params={"key": "nobody"})
    no_id = api.get("/v1/predictions/abc-1")

    assert no_key.status_code == 404
    assert no_key.json()["error"]["type"] == "PredictionNotFoundError"
    assert "logged no prediction with key 'nobody'" in no_key.json()["error"]["message"]
    assert no_id.status_code == 404 and "no prediction 'abc-1'" in no_id.json()["error"]["message"]
