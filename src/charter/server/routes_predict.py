"""``POST /v1/charters/{name}/predict`` and ``.../labels``: the HTTP push of the live pipeline."""

from __future__ import annotations

import asyncio
import hashlib
from typing import Any

from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool

from charter.errors import CharterError, ContractViolationError, RequestError
from charter.plumbing.labels import ingest_labels
from charter.schemas.serving import Prediction, Predictions
from charter.server.auth import Caller, operator
from charter.server.errors import API_ERRORS
from charter.server.online import OnlineLog
from charter.server.records import as_records, parse_json, record_fields, records_frame
from charter.server.views import load

router = APIRouter(prefix="/v1/charters/{name}", tags=["prediction"], responses=API_ERRORS)

_RECORDS = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "oneOf": [
                        {"type": "object", "additionalProperties": True},
                        {"type": "array", "items": {"type": "object"}},
                    ]
                },
                "example": {"id": "a-1", "event_at": "2026-12-01T10:00:00Z", "amount": 12.5},
            }
        },
    }
}


_ANSWER: dict[int | str, dict[str, Any]] = {
    200: {
        "model": Prediction | Predictions,
        "description": "One answer for an object sent; {predictions: [...]} for a list.",
    }
}


@router.post("/predict", openapi_extra=_RECORDS, responses=_ANSWER)
async def predict(name: str, request: Request, caller: Caller = Depends(operator)) -> Any:
    """Score one record (an object) or several (a list), each validated against the contract.

    Answered only once logged: ``prediction_id``, ``version``, ``score``, ``acted_on`` (false
    while no version is live and a shadow version answers, and while the charter is suspended:
    then ``suspended: true`` and ``fallback``, the charter's ``operations.fallback``). A record that breaks a rule: 422 with
    every rule it broke, and it is quarantined.
    """
    online: OnlineLog = request.app.state.online
    writer = online.known(name)
    loaded = writer.recent() if writer is not None else None
    if loaded is None:  # first call, or the writer's copy is older than its poll: read it
        loaded = await run_in_threadpool(load, caller.ws, name)
    payload = parse_json(await request.body())
    records = as_records(payload, record_fields(loaded.charter.data))
    charter = loaded.charter.name
    request.state.charter = charter
    try:
        outcome = await asyncio.wrap_future(online.of(charter).submit(records))
    except CharterError as exc:
        reason = {503: "unavailable", 409: "no_version"}.get(_status(exc), "model_error")
        request.app.state.metrics.refused.labels(charter, reason).inc(len(records))
        raise
    many = isinstance(payload, list)
    strip = [{k: v for k, v in a.items() if k != "index" or many} for a in outcome.answers]
    request.state.version = str(outcome.version)
    if outcome.refused:
        noun = "record breaks" if len(outcome.refused) == 1 else "records break"
        raise ContractViolationError(
            f"{len(outcome.refused)} {noun} the data contract of {charter}; quarantined",
            records=outcome.refused,
            predictions=strip,
        )
    return {"predictions": strip} if many else strip[0]


@router.post("/labels", openapi_extra=_RECORDS)
async def labels(name: str, request: Request, caller: Caller = Depends(operator)) -> Any:
    """Ground truth by key: one object or a list, each with the charter's label key and target.

    Recorded like a label file (`charter labels NAME FILE`); the same body sent twice is
    recorded once.
    """
    loaded = await run_in_threadpool(load, caller.ws, name)
    spec = loaded.charter.labels
    if spec is None:
        raise RequestError(
            f"charter {name!r} has no labels section, so labels cannot be joined to predictions",
            status=409,
        )
    body = await request.body()
    records = as_records(parse_json(body), {spec.key, spec.target}, what="label")
    incomplete = [i for i, r in enumerate(records) if spec.key not in r or spec.target not in r]
    if incomplete:
        raise RequestError(
            f"labels {', '.join(map(str, incomplete[:10]))} lack {spec.key!r} or {spec.target!r}",
            hint=f'Each label is {{"{spec.key}": …, "{spec.target}": …}}.',
        )
    request.state.charter = loaded.charter.name
    return await run_in_threadpool(_record_labels, caller, loaded.charter.name, records, body)


def _record_labels(caller: Caller, name: str, records: list[dict[str, Any]], body: bytes) -> Any:
    ws = caller.ws
    charter = ws.load(name).charter
    frame = records_frame(records, charter.data)
    digest = hashlib.sha256(body).hexdigest()[:32]
    folder = ws.state_dir / "inbox" / "labels" / name
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{digest}.parquet"
    if not path.exists():
        temp = path.with_suffix(".tmp")
        frame.write_parquet(temp)
        temp.replace(path)
    return ingest_labels(ws, name, path).to_dict()


def _status(exc: CharterError) -> int:
    from charter.server.errors import status_of

    return status_of(exc)
