"""Concurrent requests are group-committed: fewer batches than requests, every record once."""

from __future__ import annotations

import time
from typing import Any

import pytest
from tests.server.conftest import NAME, Api, record

from charter.plumbing.predictions import read_predictions
from charter.server import routes_predict, views


def test_requests_waiting_together_share_one_batch_and_each_gets_its_own_answer(api: Api) -> None:
    api.register("return frame['amount'] * 2", "live")
    charter_log = api.client.app.state.online.of(NAME)  # type: ignore[attr-defined]

    with charter_log.lock:  # the writer is busy: every request below waits for the next commit
        pending = [charter_log.submit([record(i), record(100 + i)]) for i in range(20)]
    outcomes = [done.result(timeout=120) for done in pending]

    for i, outcome in enumerate(outcomes):
        assert [(a["key"], a["score"]) for a in outcome.answers] == [
            (f"r{i}", 2.0 * i),
            (f"r{100 + i}", 2.0 * (100 + i)),
        ]
    batches = api.ledger("batch.ingested")
    assert len(batches) <= 2  # at most: whatever the writer had taken, then all the rest
    assert sum(b["rows_scored"] for b in batches) == 40
    logged = read_predictions(api.ws, NAME).collect()
    assert logged.height == 40 and logged["prediction_id"].n_unique() == 40
    ids = {a["prediction_id"] for o in outcomes for a in o.answers}
    assert ids == set(logged["prediction_id"])


def test_the_route_checks_fields_by_the_writers_recent_terms_and_rereads_when_they_are_old(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    api.register("return frame['amount'] * 2", "live")
    path = f"/v1/charters/{NAME}/predict"
    assert api.post(path, json=record(1)).status_code == 200  # the writer has read the terms
    charter_log = api.client.app.state.online.of(NAME)  # type: ignore[attr-defined]
    reads: list[str] = []
    real = views.load

    def counted(ws: Any, name: str) -> Any:
        reads.append(name)
        return real(ws, name)

    monkeypatch.setattr(routes_predict, "load", counted)
    charter_log._checked = time.monotonic()  # as if just polled: its copy is recent
    assert api.post(path, json=record(2)).status_code == 200
    assert reads == []  # no charter file read (and terms check) on the request's path
    charter_log._checked = time.monotonic() - 2 * api.ws.settings.server.registry_poll_seconds
    assert charter_log.recent() is None
    assert api.post(path, json=record(3)).status_code == 200
    assert reads == [NAME]  # older than the poll: the route reads the terms itself
