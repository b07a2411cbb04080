"""The one place where charter's errors become HTTP responses: ``{"error": {type, message, hint}}``.

=================================  ======  ===================================================
error                              status  when
=================================  ======  ===================================================
RequestError                       400/413/422  malformed JSON (400), too big (413), wrong shape
ContractViolationError             422     records broke the data contract (quarantined)
AuthenticationError                401     no token, or unknown / expired / revoked; a bad JWT
IdentityProviderUnavailableError   503     the identity provider's JWKS cannot be read
PermissionDeniedError              403     the role does not allow the call
NotAuthorizedError                 403     not the charter's owner or a named delegate
CharterNotFoundError, ...NotFound  404     no such charter, version, alert, decision or prediction
LifecycleError, AlertStateError    409     the state forbids the change; nothing changed
PredictionLogUnavailableError      503     the log cannot be written (with Retry-After)
StoreUnavailableError              503     the database cannot be reached (with Retry-After)
other CharterError                 400     bad input named in the message
anything else                      500     a bug in charter; the message says so
=================================  ======  ===================================================
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from charter.errors import (
    AlertNotFoundError,
    AlertStateError,
    AuthenticationError,
    CharterError,
    CharterFileError,
    CharterNotFoundError,
    DecisionNotFoundError,
    IdentityProviderUnavailableError,
    LifecycleError,
    NotAuthorizedError,
    PermissionDeniedError,
    PredictionLogUnavailableError,
    PredictionNotFoundError,
    RequestError,
    StoreUnavailableError,
    UserCodeError,
    VersionNotFoundError,
)
from charter.schemas.errors import ErrorResult

log = logging.getLogger("charter.server")

_MEANING = {
    400: "Malformed request (not JSON, empty) or bad input named in the message.",
    401: "No token, or an unknown, expired or revoked one (or a JWT refused).",
    403: "The role does not allow the call, or the identity is not the charter's owner.",
    404: "No such charter, version, alert, decision, prediction or path.",
    409: "The state forbids the change; nothing changed.",
    413: "The request body is too large.",
    422: "The request does not fit the API, or records broke the data contract.",
    503: "The database, the prediction log or the identity provider is unavailable "
    "(Retry-After says when to retry).",
}


def documented(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI ``responses`` of these error statuses: each is the one error shape."""
    return {s: {"model": ErrorResult, "description": _MEANING[s]} for s in statuses}


API_ERRORS = documented(400, 401, 403, 404, 409, 413, 422, 503)
"""What any ``/v1`` call may answer besides its success."""

_STATUS: tuple[tuple[type[CharterError], int], ...] = (
    (IdentityProviderUnavailableError, 503),
    (AuthenticationError, 401),
    (NotAuthorizedError, 403),
    (PermissionDeniedError, 403),
    (CharterNotFoundError, 404),
    (VersionNotFoundError, 404),
    (AlertNotFoundError, 404),
    (DecisionNotFoundError, 404),
    (PredictionNotFoundError, 404),
    (LifecycleError, 409),
    (AlertStateError, 409),
    (PredictionLogUnavailableError, 503),
    (StoreUnavailableError, 503),
    (CharterFileError, 500),
    (UserCodeError, 500),
)


def status_of(exc: CharterError) -> int:
    if isinstance(exc, RequestError):
        return exc.status
    for kind, status in _STATUS:
        if isinstance(exc, kind):
            return status
    return 400


def error_response(
    status: int, body: dict[str, Any], headers: dict[str, str] | None = None
) -> JSONResponse:
    body.setdefault("hint", None)
    return JSONResponse({"error": body}, status_code=status, headers=headers)


def install(app: FastAPI, retry_after: int) -> None:
    """Register the handlers; every error a route raises goes through one of them."""

    @app.exception_handler(CharterError)
    async def _charter(request: Request, exc: CharterError) -> JSONResponse:
        status = status_of(exc)
        headers = {"Retry-After": str(retry_after)} if status == 503 else {}
        if status == 401:
            headers["WWW-Authenticate"] = "Bearer"
        return error_response(status, exc.to_dict(), headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [
            f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg')}" for e in exc.errors()
        ]
        body = {
            "type": "RequestError",
            "message": "the request does not fit the API: " + "; ".join(problems),
            "hint": "See /docs for what this call takes.",
            "problems": problems,
        }
        return error_response(422, body)

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> JSONResponse:
        kind = {404: "NotFound", 405: "MethodNotAllowed"}.get(exc.status_code, "HTTPError")
        message = str(exc.detail)
        if exc.status_code == 404:
            message = f"no such API path: {request.method} {request.url.path}"
        headers = dict(exc.headers) if exc.headers else None
        return error_response(exc.status_code, {"type": kind, "message": message}, headers)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        body = {
            "type": type(exc).__name__,
            "message": f"unexpected error: {exc}",
            "hint": "This is a bug in charter; the server log has the traceback.",
        }
        return error_response(500, body)
