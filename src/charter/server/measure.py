"""Every request counted and timed for ``/metrics``, by charter, version, route and status.

Pure ASGI middleware: it watches the ``http.response.start`` message go by. (Starlette's
``BaseHTTPMiddleware`` would run each request's app in a task of its own and stream the answer
through a memory channel: a fixed cost that an online prediction pays on every call.)
The labels are only names that exist, never what a caller typed into a path (an unknown charter,
a 401 before the route ran), so no request can add series to ``/metrics`` at will.
"""

from __future__ import annotations

import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from charter.server.metrics import Metrics
from charter.workspace import Workspace

_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class Measure:
    def __init__(self, app: ASGIApp, metrics: Metrics, ws: Workspace) -> None:
        self.app, self.metrics, self.ws = app, metrics, ws

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def watched(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        await self.app(scope, receive, watched)  # an exception leaves uncounted, as before
        route = scope.get("route")
        path = getattr(route, "path", None) or "unmatched"
        if path == "/metrics":
            return
        charter, version = self._labels(scope.get("state") or {}, status)
        method = scope["method"] if scope["method"] in _METHODS else "other"
        labels = (charter, version, path, method)
        self.metrics.requests.labels(*labels, str(status)).inc()
        self.metrics.latency.labels(*labels).observe(time.perf_counter() - started)

    def _labels(self, state: dict[str, Any], status: int) -> tuple[str, str]:
        """The charter and version the route named (an answered request's), if they exist."""
        charter = str(state.get("charter") or "")
        version = str(state.get("version") or "")
        if status < 400 or not charter:  # answered: the route loaded the charter (and version)
            return charter, version
        if charter not in self.ws.charter_names():
            return "", ""
        return charter, "" if status == 404 else version  # 404: perhaps the version is unknown
