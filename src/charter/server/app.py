"""``create_app(workspace)``: the ASGI application of ``charter serve``.

The owner's dashboard (:mod:`charter.server.dashboard`) is served at ``/`` (sign in at ``/login``).
Routes: ``/healthz`` (the process is up), ``/readyz`` (the database answers and every charter's
answering model loads), ``/openapi.json`` and ``/docs`` (Swagger UI, served offline) need no
token; ``/metrics`` (Prometheus) needs a viewer token, like the ``/v1`` API of :mod:`.routes_predict` and
:mod:`.routes_manage`. Errors leave through :mod:`.errors` only.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from fastapi import Depends, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from charter import __version__
from charter.errors import CharterError
from charter.server import docs, errors
from charter.server.auth import Caller, viewer
from charter.server.dashboard import routes as dashboard
from charter.server.dashboard import routes_oversight as dashboard_oversight
from charter.server.dashboard import routes_subpages as dashboard_subpages
from charter.server.limits import BodyLimit
from charter.server.measure import Measure
from charter.server.metrics import CONTENT_TYPE, Metrics
from charter.server.online import OnlineLog
from charter.server.routes_manage import router as manage_router
from charter.server.routes_predict import router as predict_router
from charter.settings import Settings
from charter.workspace import Workspace


def create_app(workspace: Workspace | Path | str | None = None) -> FastAPI:
    """The HTTP API over ``workspace`` (default: the one the settings name)."""
    ws = (
        workspace if isinstance(workspace, Workspace) else Workspace(workspace, settings=Settings())
    )
    server = ws.settings.server

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        await run_in_threadpool(app.state.online.stop)

    app = FastAPI(
        title="charter",
        version=__version__,
        description="Online prediction and management of charter's models. Every /v1 call "
        "needs `Authorization: Bearer chr_…` (see `charter tokens create`).",
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    metrics = Metrics(ws)
    app.state.ws = ws
    app.state.metrics = metrics
    app.state.online = OnlineLog(ws, server, metrics.on_batch, metrics.on_shadow_failure)
    errors.install(app, server.retry_after_seconds)
    docs.install(app)
    app.include_router(predict_router)
    app.include_router(manage_router)
    dashboard.install(app)
    dashboard_subpages.install(app)
    dashboard_oversight.install(app)
    _health(app)
    app.add_middleware(Measure, metrics=metrics, ws=ws)
    app.add_middleware(BodyLimit, max_bytes=server.max_body_bytes)
    return app


def _health(app: FastAPI) -> None:
    @app.get("/healthz", tags=["health"])
    async def healthz() -> dict[str, str]:
        """The process is up (says nothing about the database)."""
        return {"status": "ok"}

    @app.get(
        "/readyz",
        tags=["health"],
        responses={503: {"description": "Not ready: the same body, with status not_ready."}},
    )
    async def readyz(request: Request) -> JSONResponse:
        """The database answers and each charter's answering version loads."""
        body = await run_in_threadpool(_readiness, request.app)
        return JSONResponse(body, status_code=200 if body["status"] == "ready" else 503)

    @app.get(
        "/metrics",
        tags=["health"],
        response_class=Response,
        responses={
            200: {"content": {CONTENT_TYPE.split(";")[0]: {}}, "description": "The series."},
            **errors.documented(401, 403, 503),
        },
    )
    async def prometheus(request: Request, _: Caller = Depends(viewer)) -> Response:
        """Prometheus text exposition (see docs/serving.md for the series); a viewer token."""
        data = await run_in_threadpool(request.app.state.metrics.exposition)
        return Response(data, media_type=CONTENT_TYPE)


def _readiness(app: FastAPI) -> dict[str, Any]:
    ws: Workspace = app.state.ws
    try:
        with ws.db.read() as session:
            session.execute(sa.select(1))
    except CharterError as exc:
        return {"status": "not_ready", "database": exc.message, "charters": {}}
    charters: dict[str, Any] = {}
    ready = True
    for name in ws.charter_names():
        try:
            scorer = app.state.online.of(name).scorer()
            with app.state.online.of(name).lock:
                scorer.warm()
        except CharterError as exc:
            charters[name] = {"loaded": False, "error": exc.message}
            ready = False
            continue
        charters[name] = {
            "loaded": scorer.answering is not None,
            "answering_version": scorer.answering,
            "acted_on": scorer.acted_on,
        }
    return {"status": "ready" if ready else "not_ready", "database": "ok", "charters": charters}
