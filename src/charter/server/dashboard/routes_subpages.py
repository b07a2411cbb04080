"""The routes of a charter's sub-pages (read only): audit trail, pipeline, versions, drift
details, histogram.

Each page needs a signed-in caller, as every dashboard page does (:mod:`.routes`), and renders
what :mod:`.subpages` composes; a bad query (a date that is not one, an unknown input) becomes
the error page with the status the API's one mapping gives it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from charter.errors import CharterError
from charter.server.dashboard import subpages
from charter.server.dashboard.routes import Visitor, _to_login, _visitor, render
from charter.server.errors import status_of

router = APIRouter(include_in_schema=False)


def install(app: FastAPI) -> None:
    app.include_router(router)


async def _page(
    request: Request, template: str, build: Callable[[Visitor], dict[str, Any]]
) -> Response:
    visitor = await run_in_threadpool(_visitor, request)
    if visitor is None:
        return _to_login(request)

    def run() -> Response:
        try:
            context = build(visitor)
        except CharterError as exc:
            return render("error.html", status_of(exc), visitor=visitor, message=exc.message)
        return render(template, visitor=visitor, **context)

    return await run_in_threadpool(run)


@router.get("/charters/{name}/audit")
async def audit(name: str, request: Request) -> Response:
    params = dict(request.query_params)
    return await _page(
        request,
        "audit.html",
        lambda v: {"page": subpages.audit_page(v.caller.ws, name, params), "params": params},
    )


@router.get("/charters/{name}/pipeline")
async def pipeline(name: str, request: Request) -> Response:
    return await _page(
        request, "pipeline.html", lambda v: {"page": subpages.pipeline_page(v.caller.ws, name)}
    )


@router.get("/charters/{name}/versions")
async def versions(name: str, request: Request) -> Response:
    def build(v: Visitor) -> dict[str, Any]:
        top, lineage = subpages.versions_page(v.caller.ws, name)
        return {"s": top, "lineage": lineage}

    return await _page(request, "versions.html", build)


@router.get("/charters/{name}/drift")
async def drift(name: str, request: Request) -> Response:
    return await _page(
        request, "drift.html", lambda v: {"page": subpages.drift_page(v.caller.ws, name)}
    )


@router.get("/charters/{name}/drift/{version}/{column}")
async def histogram(name: str, version: str, column: str, request: Request) -> Response:
    start = request.query_params.get("window", "")
    return await _page(
        request,
        "histogram.html",
        lambda v: {"page": subpages.histogram_page(v.caller.ws, name, version, start, column)},
    )
