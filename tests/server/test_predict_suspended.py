"""Online prediction while a charter is suspended: the live version still answers and is logged,
but with ``acted_on: false``, ``suspended: true`` and the charter's declared fallback."""

from __future__ import annotations

import pytest
from tests.server.conftest import NAME, OWNER, Api, record

from charter.plumbing.predictions import read_predictions
from charter.services.oversight import resume, suspend

PREDICT = f"/v1/charters/{NAME}/predict"
FALLBACK = "  fallback: {description: refer to an underwriter, decision: false}\n"

pytestmark = pytest.mark.postgres


def _seen_at_once(api: Api) -> None:
    for log in api.client.app.state.online._logs.values():  # type: ignore[attr-defined]
        log._checked = 0.0  # as if a poll interval passed, without waiting for one


def test_a_suspended_charter_answers_not_acted_on_with_its_fallback_until_resumed(
    api: Api,
) -> None:
    path = api.ws.charters_dir / f"{NAME}.yaml"
    path.write_text(path.read_text() + FALLBACK)
    live = api.register("return frame['amount'] / 100", "live")
    before = api.post(PREDICT, json=record(1)).json()

    suspend(api.ws, NAME, by=OWNER, reason="complaints about referrals")
    _seen_at_once(api)
    during = api.post(PREDICT, json=[record(2), record(3)]).json()["predictions"]
    resume(api.ws, NAME, by=OWNER)
    _seen_at_once(api)
    after = api.post(PREDICT, json=record(4)).json()

    assert before["acted_on"] is True and "fallback" not in before
    for answer in during:
        assert answer["version"] == live and answer["acted_on"] is False
        assert answer["suspended"] is True
        assert answer["fallback"] == {"description": "refer to an underwriter", "decision": False}
    assert [a["score"] for a in during] == [0.02, 0.03]  # still scored
    assert after["acted_on"] is True and "suspended" not in after
    logged = read_predictions(api.ws, NAME).collect()
    acted = dict(zip(logged["key"], logged["acted_on"], strict=True))
    assert acted == {"r1": True, "r2": False, "r3": False, "r4": True}
    health = api.client.get("/readyz").json()
    assert health["charters"][NAME]["acted_on"] is True


def test_without_a_declared_fallback_the_answer_says_so_with_null(api: Api) -> None:
    api.register("return frame['amount'] / 100", "live")
    suspend(api.ws, NAME, by=OWNER, reason="audit finding")

    body = api.post(PREDICT, json=record(9)).json()

    assert body["acted_on"] is False and body["suspended"] is True and body["fallback"] is None
