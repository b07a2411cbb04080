"""Bad input gets a clear 4xx in the one error shape and changes nothing."""

from __future__ import annotations

from typing import Any

import pytest
from tests.server.conftest import NAME, Api, record

from charter.plumbing.predictions import read_predictions, read_quarantine

PREDICT = f"/v1/charters/{NAME}/predict"


def _nothing_changed(api: Api) -> None:
    assert read_predictions(api.ws, NAME).collect().height == 0
    assert read_quarantine(api.ws, NAME).collect().height == 0
    assert api.ledger("batch.ingested") == []


def _error(response: Any, status: int, kind: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    assert {"type", "message", "hint"} <= set(body["error"])
    assert body["error"]["type"] == kind
    return dict(body["error"])


@pytest.mark.parametrize(
    ("content", "status", "says"),
    [
        (b'{"id": "r1", "amount": ', 400, "not valid JSON"),
        (b"", 400, "empty"),
        (b"42", 422, "is a number, not a JSON object"),
        (b'["r1", "r2"]', 422, "record 0 is a string"),
        (b"[]", 422, "empty"),
        (b'{"id": "r1", "amount": 1.0, "colour": "red"}', 422, "does not know: colour"),
    ],
)
def test_a_malformed_body_is_refused_before_anything_is_written(
    api: Api, content: bytes, status: int, says: str
) -> None:
    api.register("return frame['amount'] / 100", "live")

    response = api.post(PREDICT, content=content)

    assert says in _error(response, status, "RequestError")["message"]
    _nothing_changed(api)


def test_an_unknown_charter_is_404(api: Api) -> None:
    response = api.post("/v1/charters/no-such/predict", json=record(1))
    assert "no-such" in _error(response, 404, "CharterNotFoundError")["message"]
    traversal = api.get("/v1/charters/..%2F..%2Fetc%2Fpasswd.yaml")
    assert traversal.status_code == 404


def test_a_body_over_the_size_limit_is_413(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    api.register("return frame['amount'] / 100", "live")
    big = [record(i, channel="web") for i in range(30_000)]  # about 2.5 MB of JSON

    response = api.post(PREDICT, json=big)

    assert "larger than the limit" in _error(response, 413, "RequestError")["message"]
    _nothing_changed(api)


def test_wrong_value_types_are_contract_violations_named_by_rule(api: Api) -> None:
    api.register("return frame['amount'] / 100", "live")

    response = api.post(PREDICT, json=[record(1, amount="a lot"), record(2)])

    error = _error(response, 422, "ContractViolationError")
    assert error["records"][0]["violations"] == ["amount.type"]
    assert read_quarantine(api.ws, NAME).collect()["id"].to_list() == ["r1"]


def test_a_bad_management_body_or_query_is_422(api: Api) -> None:
    version = api.register("return frame['amount'] / 100", "shadow")
    reject = f"/v1/charters/{NAME}/versions/{version}/reject"

    unknown = api.post(reject, who="owner", json={"reason": "no", "colour": "red"})
    missing = api.post(reject, who="owner", json={})
    wrong = api.get(f"/v1/charters/{NAME}/versions", params={"limit": "many"})

    for response in (unknown, missing, wrong):
        _error(response, 422, "RequestError")
    assert api.ledger("decision.rejected") == []


def test_an_unknown_path_and_a_wrong_method_use_the_same_shape(api: Api) -> None:
    _error(api.get("/v1/nothing-here"), 404, "NotFound")
    _error(api.client.get(PREDICT, headers=api.headers("operator")), 405, "MethodNotAllowed")


def test_predict_with_no_version_to_answer_is_409_and_logs_nothing(api: Api) -> None:
    response = api.post(PREDICT, json=record(1))

    assert "no live or shadow version" in _error(response, 409, "LifecycleError")["message"]
    _nothing_changed(api)


def test_labels_without_their_key_or_target_are_refused(api: Api) -> None:
    response = api.post(f"/v1/charters/{NAME}/labels", json=[{"id": "r1"}])

    assert "lack 'id' or 'outcome'" in _error(response, 422, "RequestError")["message"]
    assert api.ledger("labels.ingested") == []


def test_a_charter_file_broken_while_serving_is_named_in_the_error(api: Api) -> None:
    api.register("return frame['amount'] / 100", "live")
    assert api.post(PREDICT, json=record(1)).status_code == 200
    path = api.ws.charters_dir / f"{NAME}.yaml"
    path.write_text(path.read_text().replace("key: id", "key: [broken"))
    for log in api.client.app.state.online._logs.values():  # type: ignore[attr-defined]
        log._checked = 0.0

    response = api.post(PREDICT, json=record(2))

    assert response.status_code == 500  # the server is misconfigured, not the caller
    assert response.json()["error"]["type"] == "CharterFileError"
