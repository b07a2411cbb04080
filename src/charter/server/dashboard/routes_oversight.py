"""Suspend and resume a charter's model from its page: the human stop of ``charter suspend``.

Both are POST forms with a CSRF token, as every dashboard form is (:mod:`.routes`), and call
:func:`charter.services.oversight.suspend` / ``resume`` with the signed-in token's identity,
exactly as ``charter suspend|resume --token`` does: an owner-role token is needed (a refusal is
recorded as ``api.refused``, as the API records one), and the service decides who the charter
lets stop (owner, delegates, stewards) or resume (owner, delegates), recording its own refusals as
``oversight.refused``. A suspension needs a reason.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from charter.server.auth import Caller
from charter.server.dashboard.routes import _act, _deciding, render
from charter.services.oversight import resume, suspend

router = APIRouter(include_in_schema=False)


def install(app: FastAPI) -> None:
    app.include_router(router)


async def _oversee(
    request: Request,
    name: str,
    act: Callable[[Caller, dict[str, str]], Any],
    outcome: str,
    action: str,
) -> Response:
    visitor, form, refused = await _deciding(request)
    if refused is not None or visitor is None:
        return refused or render("error.html", 401, message="Sign in first.")
    return await run_in_threadpool(
        _act, request, visitor, name, "owner", lambda c: act(c, form), outcome, None, action
    )


@router.post("/charters/{name}/suspend")
async def suspend_charter(name: str, request: Request) -> Response:
    """Stop the model deciding (it still scores and logs), for the reason typed in."""

    def act(caller: Caller, form: dict[str, str]) -> Any:
        return suspend(caller.ws, name, by=caller.identity, reason=form.get("reason", ""))

    return await _oversee(request, name, act, "suspended=1", "suspend the model")


@router.post("/charters/{name}/resume")
async def resume_charter(name: str, request: Request) -> Response:
    """Let the model decide again, as the owner or a delegate."""

    def act(caller: Caller, form: dict[str, str]) -> Any:
        note = form.get("note", "").strip() or None
        return resume(caller.ws, name, by=caller.identity, note=note)

    return await _oversee(request, name, act, "resumed=1", "resume the model")
