"""Online prediction: answered by the live version, logged before the answer, like batch rows."""

from __future__ import annotations

from typing import Any

import pytest
from tests.server.conftest import NAME, Api, record

from charter.plumbing.predictions import read_predictions, read_quarantine

PREDICT = f"/v1/charters/{NAME}/predict"


def test_one_record_is_scored_by_the_live_version_and_logged_before_the_answer(api: Api) -> None:
    live = api.register("return frame['amount'] / 100", "live")
    shadow = api.register("return frame['amount'] / 200", "shadow")

    response = api.post(PREDICT, json=record(42))

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["version"] == live and body["acted_on"] is True
    assert body["score"] == 0.42
    api.drain()
    logged = read_predictions(api.ws, NAME).collect()
    mine = logged.filter(logged["prediction_id"] == body["prediction_id"])
    scores = dict(zip(mine["model_version"], mine["score"], strict=True))
    assert scores == {str(live): 0.42, str(shadow): 0.21}  # the shadow scored, never answered
    assert set(mine["key"]) == {"r42"}


def test_a_list_of_records_gets_one_answer_each_in_order(api: Api) -> None:
    api.register("return frame['amount'] * 2", "live")

    response = api.post(PREDICT, json=[record(1), record(2), record(3)])

    assert response.status_code == 200, response.text
    answers = response.json()["predictions"]
    assert [(a["index"], a["key"], a["score"]) for a in answers] == [
        (0, "r1", 2.0),
        (1, "r2", 4.0),
        (2, "r3", 6.0),
    ]
    assert len({a["prediction_id"] for a in answers}) == 3


def test_with_no_live_version_the_shadow_answers_without_acting(api: Api) -> None:
    shadow = api.register("return frame['amount'] / 10", "shadow")

    body = api.post(PREDICT, json=record(5)).json()

    assert body["version"] == shadow and body["acted_on"] is False and body["score"] == 0.5


def test_a_failing_shadow_never_fails_the_live_answer(api: Api) -> None:
    live = api.register("return frame['amount'] / 100", "live")
    api.register("raise RuntimeError('shadow broke')", "shadow")

    response = api.post(PREDICT, json=record(7))

    assert response.status_code == 200, response.text
    assert response.json()["version"] == live
    api.drain()
    logged = read_predictions(api.ws, NAME).collect()
    assert logged["model_version"].to_list() == [str(live)]
    samples = api.get("/metrics").text
    assert 'charter_shadow_failures_total{charter="credit-default",version="2"} 1.0' in samples


def test_a_record_that_breaks_the_contract_gets_422_with_every_rule_and_is_quarantined(
    api: Api,
) -> None:
    api.register("return frame['amount'] / 100", "live")

    response = api.post(PREDICT, json=[record(1), record(2, amount=-5.0, channel="fax")])

    assert response.status_code == 422
    error = response.json()["error"]
    assert error["type"] == "ContractViolationError"
    (refused,) = error["records"]
    assert refused["index"] == 1 and refused["key"] == "r2"
    assert sorted(refused["violations"]) == ["amount.min", "channel.allowed"]
    assert [p["key"] for p in error["predictions"]] == ["r1"]  # the valid one was logged
    quarantined = read_quarantine(api.ws, NAME).collect()
    assert quarantined["id"].to_list() == ["r2"]


def test_a_key_already_logged_is_refused_as_a_duplicate(api: Api) -> None:
    api.register("return frame['amount'] / 100", "live")
    assert api.post(PREDICT, json=record(1)).status_code == 200

    again = api.post(PREDICT, json=record(1))

    assert again.status_code == 422
    assert again.json()["error"]["records"][0]["violations"] == ["id.unique_across_batches"]


def test_a_promotion_is_seen_without_a_restart(api: Api) -> None:
    first = api.register("return frame['amount'] * 0 + 1", "live")
    assert api.post(PREDICT, json=record(1)).json()["version"] == first
    second = api.register("return frame['amount'] * 0 + 2", None)
    from charter.registry.versions import set_status

    with api.ws.db.session() as session:
        set_status(api.ws, session, NAME, first, "standby", reason="test")
        set_status(api.ws, session, NAME, second, "live", reason="test")
    import charter.server.online as online

    for log in api.client.app.state.online._logs.values():  # type: ignore[attr-defined]
        log._checked = 0.0  # as if a poll interval passed, without waiting for one
    assert online  # the module the poll lives in

    body = api.post(PREDICT, json=record(2)).json()

    assert body["version"] == second and body["score"] == 2.0


def test_online_rows_are_batches_like_any_other(api: Api) -> None:
    api.register("return frame['amount'] / 100", "live")
    shadow = api.register("return frame['amount'] / 200", "shadow")
    for i in range(3):
        api.post(PREDICT, json=record(i))
    api.drain()

    batches = api.ledger("batch.ingested")
    companions = api.ledger("batch.shadow_scored")

    assert len(batches) == 3
    assert all(b["source"] == "online" and b["rows_scored"] == 1 for b in batches), batches
    assert sorted(c["companion_of"] for c in companions) == sorted(b["batch_id"] for b in batches)
    from charter.lifecycle.gate import shadow_batch_count

    assert shadow_batch_count(api.ws, NAME, shadow) == 3  # each online batch counts once


def test_the_log_cannot_be_written_gets_503_with_retry_after_and_answers_nothing(
    api: Api, monkeypatch: Any
) -> None:
    api.register("return frame['amount'] / 100", "live")
    from charter.plumbing import predictions

    def broken(self: Any) -> Any:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(predictions.PartWriter, "finish", broken)

    response = api.post(PREDICT, json=record(1))

    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert response.json()["error"]["type"] == "PredictionLogUnavailableError"
    monkeypatch.undo()
    assert read_predictions(api.ws, NAME).collect().height == 0


def test_labels_are_joined_by_key(api: Api) -> None:
    api.register("return frame['amount'] / 100", "live")
    api.post(PREDICT, json=[record(1), record(2)])

    response = api.post(
        f"/v1/charters/{NAME}/labels", json=[{"id": "r1", "outcome": 1}, {"id": "zz", "outcome": 0}]
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["labels_new"], body["unknown_keys"]) == (2, 1)
    again = api.post(
        f"/v1/charters/{NAME}/labels", json=[{"id": "r1", "outcome": 1}, {"id": "zz", "outcome": 0}]
    )
    assert again.json()["labels_new"] == 0  # the same body twice is recorded once


def test_with_an_operating_point_the_answer_carries_the_decision(api: Api) -> None:
    path = api.ws.charters_dir / f"{NAME}.yaml"
    text = path.read_text()
    path.write_text(text.replace("  #   threshold: 0.35\n", "  threshold: 0.35\n", 1))
    api.register("return frame['amount'] / 100", "live")

    response = api.post(PREDICT, json=[record(20), record(34), record(36), record(90)])

    assert response.status_code == 200, response.text
    answers = response.json()["predictions"]
    assert [a["score"] for a in answers] == pytest.approx([0.2, 0.34, 0.36, 0.9])
    # score >= threshold is the positive class, as monitoring judges it
    assert [a["decision"] for a in answers] == [False, False, True, True]


def test_a_multiclass_model_answers_its_class_probabilities_and_logs_them(api: Api) -> None:
    path = api.ws.charters_dir / f"{NAME}.yaml"
    text = path.read_text()
    text = text.replace("task: binary_classification", "task: multiclass_classification", 1)
    text = text.replace(
        "labels: {key: id, target: outcome}",
        "labels: {key: id, target: outcome, values: [a, b, c]}",
    )
    lines = [
        line for line in text.splitlines() if "{metric:" not in line or line.lstrip()[0] == "#"
    ]
    at = next(i for i, line in enumerate(lines) if line.strip() == "metrics:")
    lines.insert(at + 1, "    - {metric: f1_macro, at_least: 0.5}")
    path.write_text("\n".join(lines) + "\n")
    body = (
        "import numpy as np; a = frame['amount'].to_numpy() / 100; "
        "return np.column_stack([a * 0.2, a * 0.3, 1 - a * 0.5])"
    )
    api.register(body, "live")

    response = api.post(PREDICT, json=[record(10), record(90)])

    assert response.status_code == 200, response.text
    low, high = response.json()["predictions"]
    assert low["class_scores"] == pytest.approx({"a": 0.02, "b": 0.03, "c": 0.95})
    assert (low["predicted_class"], low["score"]) == ("c", pytest.approx(0.95))
    assert (high["predicted_class"], high["score"]) == ("c", pytest.approx(0.55))
    api.drain()
    logged = read_predictions(api.ws, NAME).collect().sort("key")
    assert logged["class_scores"].to_list()[0] == pytest.approx([0.02, 0.03, 0.95])
