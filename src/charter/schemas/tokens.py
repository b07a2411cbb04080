"""API token results: ``charter tokens create|list|revoke`` (never the secret, except once)."""

from __future__ import annotations

from typing import Any

from pydantic import SerializerFunctionWrapHandler, model_serializer

from charter.schemas.base import Result, Timestamp


class Token(Result):
    """A stored token, without the secret."""

    id: int
    prefix: str
    identity: str
    role: str
    status: str
    created_at: Timestamp
    expires_at: Timestamp | None
    last_used_at: Timestamp | None
    revoked_at: Timestamp | None
    created_by: str


class CreatedToken(Token):
    """``charter tokens create --json``: the secret, printed this once, then the stored token."""

    token: str

    @model_serializer(mode="wrap")
    def _token_first(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        body: dict[str, Any] = handler(self)
        return {"token": body.pop("token"), **body}
