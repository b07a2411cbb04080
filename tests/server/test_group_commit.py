"""Concurrent requests are group-committed: fewer batches than requests, every record once."""

from __future__ import annotations

from tests.server.conftest import NAME, Api, record

from charter.plumbing.predictions import read_predictions


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
