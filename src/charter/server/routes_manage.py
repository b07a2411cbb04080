"""The management API: the same service functions the CLI calls, one per route."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from charter.alerts.raising import StatusFilter, list_alerts
from charter.errors import RequestError
from charter.lifecycle.decisions import approve, reject
from charter.lifecycle.gate import readiness
from charter.lifecycle.transitions import rollback
from charter.monitoring.service import stored_windows
from charter.registry.versions import list_versions
from charter.schemas import lifecycle as schemas
from charter.schemas.trace import Trace
from charter.server.auth import Caller, operator, owner, viewer
from charter.server.errors import API_ERRORS
from charter.server.views import charter_detail, charter_summary, load, page
from charter.services.trace import trace, trace_key

router = APIRouter(prefix="/v1", tags=["management"], responses=API_ERRORS)
Limit = Annotated[int, Query(ge=1, le=1000, description="Items per page.")]
Offset = Annotated[int, Query(ge=0, description="Items to skip (the previous next_offset).")]
MAX_VERSION = 2**31 - 1  # versions are INTEGER columns: a larger number names no version
Version = Annotated[int, Path(ge=1, le=MAX_VERSION, description="The version number.")]


def _result(model: type[BaseModel]) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI of a route answering with a CLI result: the same schema as its ``--json``.

    Documentation only: the body is the result's ``to_dict()``, serialised as before.
    """
    return {200: {"model": model, "description": model.__doc__ or model.__name__}}


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ApproveBody(_Body):
    accept_risk: str | None = Field(
        default=None, description="The shortfall or residual risk accepted, in your words."
    )
    first_version_waiver: str | None = Field(
        default=None, description="Why a first version may go live with no rollback target."
    )


class RejectBody(_Body):
    reason: str = Field(min_length=1, description="Why, for the record and the team.")


class RollbackBody(_Body):
    to: int | None = Field(
        default=None, ge=1, le=MAX_VERSION, description="Restore this version (default: standby)."
    )
    reason: str | None = Field(default=None, description="Why, for the record.")


def _mark(request: Request, name: str, version: int | str | None = None) -> None:
    request.state.charter = name
    if version is not None:
        request.state.version = str(version)


@router.get("/charters")
async def charters(
    caller: Caller = Depends(viewer), limit: Limit = 100, offset: Offset = 0
) -> dict[str, Any]:
    """Every charter: owner, live version, latest verdict, open alerts and decisions."""

    def build() -> list[dict[str, Any]]:
        return [charter_summary(caller.ws, n) for n in caller.ws.charter_names()]

    return page(await run_in_threadpool(build), limit, offset)


@router.get("/charters/{name}")
async def charter(name: str, request: Request, caller: Caller = Depends(viewer)) -> Any:
    """One charter: its summary and its accepted definition."""
    _mark(request, name)
    return await run_in_threadpool(charter_detail, caller.ws, name)


@router.get("/charters/{name}/versions")
async def versions(
    name: str,
    request: Request,
    caller: Caller = Depends(viewer),
    limit: Limit = 100,
    offset: Offset = 0,
) -> dict[str, Any]:
    """The charter's model versions, oldest first, with status and lineage."""
    _mark(request, name)

    def build() -> list[dict[str, Any]]:
        load(caller.ws, name)
        return [v.to_dict() for v in list_versions(caller.ws, name)]

    return page(await run_in_threadpool(build), limit, offset)


@router.get("/charters/{name}/windows")
async def windows(
    name: str,
    request: Request,
    caller: Caller = Depends(viewer),
    version: Annotated[str | None, Query(description="Only this version's windows.")] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> dict[str, Any]:
    """Stored monitoring windows, newest first (run `charter monitor` to update them)."""
    _mark(request, name)

    def build() -> list[dict[str, Any]]:
        load(caller.ws, name)
        found = [w for w in stored_windows(caller.ws, name) if version in (None, w.version)]
        return [w.to_dict() for w in reversed(found)]

    return page(await run_in_threadpool(build), limit, offset)


@router.get("/charters/{name}/readiness/{version}", responses=_result(schemas.Readiness))
async def readiness_of(
    name: str, version: Version, request: Request, caller: Caller = Depends(viewer)
) -> Any:
    """The promotion gate's checklist for a version, each item with its evidence."""
    _mark(request, name, version)
    load(caller.ws, name)
    return (await run_in_threadpool(readiness, caller.ws, name, version)).to_dict()


@router.post("/charters/{name}/versions/{version}/approve", responses=_result(schemas.Decision))
async def approve_version(
    name: str,
    version: Version,
    request: Request,
    body: ApproveBody | None = None,
    caller: Caller = Depends(owner),
) -> Any:
    """Put a version live as the token's identity, if the charter names it owner or delegate."""
    _mark(request, name, version)
    given = body or ApproveBody()
    load(caller.ws, name)
    info = await run_in_threadpool(
        lambda: approve(
            caller.ws,
            name,
            version,
            by=caller.identity,
            accept_risk=given.accept_risk,
            waiver=given.first_version_waiver,
        )
    )
    return info.to_dict()


@router.post("/charters/{name}/versions/{version}/reject", responses=_result(schemas.Decision))
async def reject_version(
    name: str, version: Version, body: RejectBody, request: Request, caller: Caller = Depends(owner)
) -> Any:
    """Refuse a version's open decision as the token's identity (owner or delegate)."""
    _mark(request, name, version)
    load(caller.ws, name)
    info = await run_in_threadpool(
        lambda: reject(caller.ws, name, version, by=caller.identity, reason=body.reason)
    )
    return info.to_dict()


@router.post("/charters/{name}/rollback", responses=_result(schemas.Rollback))
async def rollback_charter(
    name: str,
    request: Request,
    body: RollbackBody | None = None,
    caller: Caller = Depends(operator),
) -> Any:
    """Restore the standby (or ``to``) at once; the live version becomes rolled_back."""
    _mark(request, name)
    given = body or RollbackBody()
    load(caller.ws, name)
    result = await run_in_threadpool(
        lambda: rollback(caller.ws, name, to=given.to, reason=given.reason)
    )
    return result.to_dict()


@router.get("/alerts")
async def alerts(
    caller: Caller = Depends(viewer),
    status: Annotated[StatusFilter, Query(description="Which alerts: by their status.")] = "open",
    charter: Annotated[str | None, Query(description="Only this charter's alerts.")] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> dict[str, Any]:
    """Alerts of every charter (or one), most recently seen first."""

    def build() -> list[dict[str, Any]]:
        names = [load(caller.ws, charter).charter.name] if charter else caller.ws.charter_names()
        found = [a for n in names for a in list_alerts(caller.ws, n, status)]
        found.sort(key=lambda a: (a.last_seen, a.id), reverse=True)
        return [a.to_dict() for a in found]

    return page(await run_in_threadpool(build), limit, offset)


@router.get("/predictions/{prediction_id}", responses=_result(Trace))
async def prediction_of(prediction_id: str, caller: Caller = Depends(viewer)) -> Any:
    """One logged prediction's trace: every version's score, its batch, inputs and source, the
    window's verdict, the approval the answering version was live under, the terms in force."""
    if len(prediction_id) > 200:
        raise RequestError("a prediction id is at most 200 characters", status=404)
    found = await run_in_threadpool(trace, caller.ws, prediction_id)
    return found.to_json_dict()


@router.get("/charters/{name}/trace", responses=_result(Trace))
async def prediction_by_key(
    name: str,
    key: Annotated[str, Query(min_length=1, max_length=200, description="The row's data.key.")],
    caller: Caller = Depends(viewer),
) -> Any:
    """The trace of the newest prediction the charter logged for ``key``."""
    loaded = await run_in_threadpool(load, caller.ws, name)
    found = await run_in_threadpool(trace_key, caller.ws, loaded.charter.name, key)
    return found.to_json_dict()
