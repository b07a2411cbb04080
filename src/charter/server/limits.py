"""A request body larger than ``CHARTER_SERVER_MAX_BODY_BYTES`` is refused with 413, unread."""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from charter.errors import RequestError


class BodyLimit:
    """Pure ASGI middleware: checks Content-Length first, then counts a streamed body."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(send, int(declared))
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise self._error(seen)
            return message

        await self.app(scope, counted, send)

    def _error(self, size: int) -> RequestError:
        return RequestError(
            f"the request body ({size} bytes or more) is larger than the limit of "
            f"{self.max_bytes} bytes",
            hint="Send fewer records per request, or raise CHARTER_SERVER_MAX_BODY_BYTES.",
            status=413,
        )

    async def _refuse(self, send: Send, size: int) -> None:
        body = json.dumps({"error": {"hint": None, **self._error(size).to_dict()}})
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": body.encode()})
