"""Who is calling: the bearer token, its role, and a workspace that acts as that identity.

Every ``/v1`` route depends on :func:`viewer`, :func:`operator` or :func:`owner`. The identity is
the request's, never the process's: :attr:`Caller.ws` is the server's workspace (same database,
same ledger) acting as ``identity`` (:meth:`Workspace.acting_as`), so every ledger entry a call
makes names who made it.
A call refused for its role, when it tried to change something, is appended to the ledger as
``api.refused`` with the identity, the route, the reason and the credential (``token`` or
``jwt``, an identity provider's JWT: :mod:`charter.idp`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from charter.errors import PermissionDeniedError
from charter.tokens import Role, TokenInfo, authenticate, require_role
from charter.workspace import Workspace


@dataclass(frozen=True)
class Caller:
    token: TokenInfo
    ws: Workspace

    @property
    def identity(self) -> str:
        return self.token.identity


def bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def _check(request: Request, role: Role, action: str, mutating: bool) -> Caller:
    ws: Workspace = request.app.state.ws
    token = authenticate(ws, bearer(request))
    caller = Caller(token, ws.acting_as(token.identity, credential=token.credential()))
    try:
        require_role(token, role, action)
    except PermissionDeniedError as exc:
        if mutating:
            record_refusal(caller, request, exc.message)
        raise
    return caller


def record_refusal(caller: Caller, request: Request, reason: str) -> None:
    name = request.path_params.get("name")
    entry = {
        "method": request.method,
        "path": request.url.path,
        "role": caller.token.role,
        "credential": caller.token.kind,
        "by": caller.identity,
        "reason": reason,
    }
    with caller.ws.db.session() as session:
        caller.ws.ledger.append(session, "api.refused", entry, actor=caller.identity, charter=name)


def _dependency(role: Role, action: str, mutating: bool) -> Callable[[Request], Awaitable[Caller]]:
    async def dependency(request: Request) -> Caller:
        return await run_in_threadpool(_check, request, role, action, mutating)

    return dependency


viewer = _dependency("viewer", "read", mutating=False)
operator = _dependency("operator", "predict, send labels or roll back", mutating=True)
owner = _dependency("owner", "decide on promotions", mutating=True)
