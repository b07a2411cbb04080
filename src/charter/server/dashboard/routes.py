"""The dashboard's routes: sign-in, the overview at ``/``, a charter's page, a decision's page.

A page needs a signed-in caller: the session cookie of :mod:`.sessions`, or an
``Authorization: Bearer`` header. Without one, a page redirects to ``/login``. Every POST form
carries a CSRF token (a Bearer-authenticated POST needs none: browsers never add that header on
their own). Deciding calls :func:`charter.lifecycle.decisions.approve` / ``reject`` with the
token's identity, exactly as ``charter approve --token`` and the API do: the ledger records the
proven identity, never a typed one. Approving from a decision's page is bound to the evidence
digest the page embedded: when the evidence changed since, the approval is refused (409) and the
page shows the new evidence. Operators (and owners) acknowledge and resolve alerts, as
``charter alerts ack|resolve`` does, again as the token's identity. Errors become HTML pages here, with the status the API's
single mapping (:func:`charter.server.errors.status_of`) gives them.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.concurrency import run_in_threadpool

from charter.alerts.raising import ack_alert, resolve_alert
from charter.errors import (
    AuthenticationError,
    CharterError,
    DecisionError,
    EvidenceChangedError,
    PermissionDeniedError,
)
from charter.lifecycle.decisions import approve, get_decision, reject
from charter.monitoring.report import COLORS
from charter.server.auth import Caller, bearer, record_refusal
from charter.server.dashboard import heatmap, pages, trace_page
from charter.server.dashboard.sessions import (
    LOGIN_COOKIE,
    LOGIN_SECONDS,
    SESSION_COOKIE,
    SESSION_SECONDS,
    Session,
    Sessions,
)
from charter.server.errors import status_of
from charter.tokens import Role, authenticate, require_role
from charter.workspace import Workspace

router = APIRouter(include_in_schema=False)
STATIC = "/static"

_env = Environment(
    loader=PackageLoader("charter.server.dashboard", "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
_env.globals.update(
    colors=COLORS,
    static=STATIC,
    heat_table=heatmap.heat_table,
    details_table=heatmap.details_table,
)
_env.filters.update(
    day=pages.day,
    ago=pages.ago,
    pct=lambda v: "n/a" if v is None else f"{v:.1%}",
    num=lambda v: f"{v:.3f}" if isinstance(v, int | float) and not isinstance(v, bool) else "n/a",
)


def install(app: FastAPI) -> None:
    """Serve the dashboard's pages and its static assets (shipped in the package)."""
    app.state.sessions = Sessions(app.state.ws)
    folder = Path(__file__).with_name("static")
    app.mount(STATIC, StaticFiles(directory=folder), name="dashboard-static")
    app.include_router(router)


@dataclass(frozen=True)
class Visitor:
    """A signed-in caller, and the session it came with (None: a Bearer header)."""

    caller: Caller
    session: Session | None
    csrf: str


def _sessions(request: Request) -> Sessions:
    sessions: Sessions = request.app.state.sessions
    return sessions


def _visitor(request: Request) -> Visitor | None:
    ws: Workspace = request.app.state.ws
    session = None
    token = bearer(request)
    if token is None:
        session = _sessions(request).open(request.cookies.get(SESSION_COOKIE))
        token = session.token if session else None
    if token is None:
        return None
    try:
        info = authenticate(ws, token)
    except AuthenticationError:
        return None
    csrf = _sessions(request).csrf(session) if session else ""
    return Visitor(Caller(info, ws.acting_as(info.identity)), session, csrf)


def render(name: str, status: int = 200, **context: Any) -> HTMLResponse:
    return HTMLResponse(_env.get_template(name).render(**context), status_code=status)


def _to_login(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)


def _safe_next(value: str | None) -> str:
    """Only a path on this server (never ``//elsewhere`` or a scheme): no open redirect."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    return value


async def _form(request: Request) -> dict[str, str]:
    body = (await request.body()).decode("utf-8", errors="replace")
    return {k: v[0] for k, v in parse_qs(body, keep_blank_values=True).items()}


def _cookie_flags(request: Request) -> dict[str, Any]:
    # Lax, not Strict: a link to a page (in an alert email, say) arrives signed in; a cross-site
    # POST still carries no cookie, and every form needs its CSRF token anyway.
    return {"httponly": True, "samesite": "lax", "secure": request.url.scheme == "https"}


# -- signing in ---------------------------------------------------------------------------------
def _login_page(
    request: Request, status: int = 200, error: str | None = None, after: str | None = None
) -> HTMLResponse:
    value = secrets.token_urlsafe(16)
    response = render(
        "login.html",
        status,
        csrf=_sessions(request).login_csrf(value),
        next=_safe_next(after or request.query_params.get("next")),
        error=error,
    )
    response.set_cookie(LOGIN_COOKIE, value, max_age=LOGIN_SECONDS, **_cookie_flags(request))
    return response


@router.get("/login")
async def login_form(request: Request) -> Response:
    return await run_in_threadpool(_login_page, request)


@router.post("/login")
async def login(request: Request) -> Response:
    form = await _form(request)
    sessions = _sessions(request)
    value = request.cookies.get(LOGIN_COOKIE, "")
    if not value or not sessions.same(form.get("csrf_token"), sessions.login_csrf(value)):
        expired = "The sign-in form expired; please sign in again."
        return _login_page(request, 403, expired, form.get("next"))
    token = form.get("token", "").strip()
    try:
        await run_in_threadpool(authenticate, request.app.state.ws, token)
    except AuthenticationError as exc:
        error = f"Not signed in: {exc.message}"
        return await run_in_threadpool(_login_page, request, 401, error, form.get("next"))
    response = RedirectResponse(_safe_next(form.get("next")), status_code=303)
    flags = _cookie_flags(request)
    response.set_cookie(SESSION_COOKIE, sessions.seal(token), max_age=SESSION_SECONDS, **flags)
    response.delete_cookie(LOGIN_COOKIE, **flags)
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    form = await _form(request)
    visitor = await run_in_threadpool(_visitor, request)
    if visitor is not None and not _csrf_ok(visitor, form):
        return render("error.html", 403, message="The form expired; reload the page.")
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, **_cookie_flags(request))
    return response


def _csrf_ok(visitor: Visitor, form: dict[str, str]) -> bool:
    if visitor.session is None:  # a Bearer header: no browser sends one by itself
        return True
    return Sessions.same(form.get("csrf_token"), visitor.csrf)


# -- pages --------------------------------------------------------------------------------------
@router.get("/")
async def overview(request: Request) -> Response:
    visitor = await run_in_threadpool(_visitor, request)
    if visitor is None:
        return _to_login(request)
    charters = await run_in_threadpool(pages.overview, visitor.caller.ws)
    return render("overview.html", visitor=visitor, charters=charters)


def _charter_response(
    visitor: Visitor, name: str, status: int = 200, **context: Any
) -> HTMLResponse:
    try:
        page = pages.charter_page(visitor.caller.ws, name)
    except CharterError as exc:
        return render("error.html", status_of(exc), visitor=visitor, message=exc.message)
    charter = page.summary.charter
    deciding = charter is not None and pages.can_decide(visitor.caller.token, charter)
    context.setdefault("can_operate", visitor.caller.token.allows("operator"))
    context.update(pages.oversight_rights(visitor.caller.token, charter))
    context.setdefault("done", {})
    return render(
        "charter.html", status, visitor=visitor, page=page, can_decide=deciding, **context
    )


def _decision_response(
    visitor: Visitor, name: str, decision_id: int, status: int = 200, **context: Any
) -> HTMLResponse:
    try:
        page = pages.decision_page(visitor.caller.ws, name, decision_id)
    except CharterError as exc:
        return render("error.html", status_of(exc), visitor=visitor, message=exc.message)
    charter = page.summary.charter
    deciding = charter is not None and pages.can_decide(visitor.caller.token, charter)
    return render(
        "decision.html", status, visitor=visitor, page=page, can_decide=deciding, **context
    )


@router.get("/charters/{name}/decisions/{decision_id}")
async def decision(name: str, decision_id: int, request: Request) -> Response:
    visitor = await run_in_threadpool(_visitor, request)
    if visitor is None:
        return _to_login(request)
    return await run_in_threadpool(_decision_response, visitor, name, decision_id)


CHANGED = "The evidence changed since you opened this page: review it again."


@router.post("/charters/{name}/decisions/{decision_id}/{verb}")
async def decide(name: str, decision_id: int, verb: str, request: Request) -> Response:
    """Approve (bound to the evidence digest the page showed) or reject one decision."""
    if verb not in ("approve", "reject"):
        return render("error.html", 404, message=f"no such way to decide: {verb!r}")
    visitor, form, refused = await _deciding(request)
    if refused is not None or visitor is None:
        return refused or render("error.html", 401, message="Sign in first.")
    shown = form.get("evidence_sha256", "").strip()

    def act(caller: Caller) -> Any:
        asked = get_decision(caller.ws, name, decision_id)
        if asked.status != "open":
            raise DecisionError(f"decision {decision_id} is {asked.status}: nothing to decide")
        version = asked.version
        if verb == "reject":
            return reject(
                caller.ws, name, version, by=caller.identity, reason=form.get("reason", "")
            )
        return approve(
            caller.ws,
            name,
            version,
            by=caller.identity,
            accept_risk=form.get("accept_risk") or None,
            waiver=form.get("first_version_waiver") or None,
            evidence_sha256=shown,  # none in the form: no digest matches, refused
        )

    def failed(exc: CharterError) -> Response:
        message = CHANGED if isinstance(exc, EvidenceChangedError) else exc.message
        return _decision_response(
            visitor, name, decision_id, status_of(exc), failure=message, form=form
        )

    def run() -> Response:
        outcome = f"{'approved' if verb == 'approve' else 'rejected'}=" + str(
            _version_of(visitor, name, decision_id)
        )
        return _act(request, visitor, name, "owner", act, outcome, failed)

    return await run_in_threadpool(run)


def _version_of(visitor: Visitor, name: str, decision_id: int) -> int | str:
    try:
        return get_decision(visitor.caller.ws, name, decision_id).version
    except CharterError:
        return ""


@router.get("/charters/{name}")
async def charter(name: str, request: Request) -> Response:
    visitor = await run_in_threadpool(_visitor, request)
    if visitor is None:
        return _to_login(request)
    shown = ("approved", "rejected", "acked", "resolved", "suspended", "resumed")
    done = {k: request.query_params.get(k) for k in shown}
    return await run_in_threadpool(_charter_response, visitor, name, done=done)


@router.get("/trace")
async def trace(request: Request) -> Response:
    """Search a prediction id or a key; the trace in plain words first (``trace_page``)."""
    visitor = await run_in_threadpool(_visitor, request)
    if visitor is None:
        return _to_login(request)
    ws, params = visitor.caller.ws, dict(request.query_params)
    page = await run_in_threadpool(trace_page.search, ws, params)
    return render("trace.html", page.status, visitor=visitor, page=page)


# -- deciding -----------------------------------------------------------------------------------
def _act(
    request: Request,
    visitor: Visitor,
    name: str,
    need: Role,
    act: Callable[[Caller], Any],
    outcome: str,
    refused: Callable[[CharterError], Response] | None = None,
    action: str | None = None,
) -> Response:
    """Run ``act`` as the visitor if their role allows it; a refusal is recorded in the ledger.

    A refusal re-renders the charter's page (or calls ``refused``) saying why. ``action``: what
    the refusal says the caller may not do (by default, what the role ``need`` is for).
    """
    caller = visitor.caller
    request.state.charter = name
    try:
        try:
            require_role(caller.token, need, action or _ACTIONS[need])
        except PermissionDeniedError as exc:
            record_refusal(caller, request, exc.message)
            raise
        act(caller)
    except CharterError as exc:
        if refused is not None:
            return refused(exc)
        return _charter_response(visitor, name, status_of(exc), failure=exc.message)
    return RedirectResponse(f"/charters/{quote(name)}?{outcome}", status_code=303)


_ACTIONS: dict[Role, str] = {
    "viewer": "read",
    "operator": "acknowledge or resolve alerts",
    "owner": "decide on promotions",
}


async def _deciding(request: Request) -> tuple[Visitor | None, dict[str, str], Response | None]:
    form = await _form(request)
    visitor = await run_in_threadpool(_visitor, request)
    if visitor is None:
        return None, form, render("error.html", 401, message="Sign in first.", login=True)
    if not _csrf_ok(visitor, form):
        message = "Refused: the form carried no valid CSRF token. Reload the page and try again."
        return visitor, form, render("error.html", 403, visitor=visitor, message=message)
    return visitor, form, None


@router.post("/charters/{name}/versions/{version}/approve")
async def approve_version(name: str, version: int, request: Request) -> Response:
    visitor, form, refused = await _deciding(request)
    if refused is not None or visitor is None:
        return refused or render("error.html", 401, message="Sign in first.")

    def act(caller: Caller) -> Any:
        return approve(
            caller.ws,
            name,
            version,
            by=caller.identity,
            accept_risk=form.get("accept_risk") or None,
            waiver=form.get("first_version_waiver") or None,
            evidence_sha256=form.get("evidence_sha256") or None,
        )

    outcome = f"approved={version}"
    return await run_in_threadpool(_act, request, visitor, name, "owner", act, outcome)


@router.post("/charters/{name}/versions/{version}/reject")
async def reject_version(name: str, version: int, request: Request) -> Response:
    visitor, form, refused = await _deciding(request)
    if refused is not None or visitor is None:
        return refused or render("error.html", 401, message="Sign in first.")

    def act(caller: Caller) -> Any:
        return reject(caller.ws, name, version, by=caller.identity, reason=form.get("reason", ""))

    outcome = f"rejected={version}"
    return await run_in_threadpool(_act, request, visitor, name, "owner", act, outcome)


# -- alerts -------------------------------------------------------------------------------------
@router.post("/charters/{name}/alerts/{alert_id}/{change}")
async def change_alert(name: str, alert_id: int, change: str, request: Request) -> Response:
    """Acknowledge (``ack``) or resolve (``resolve``) an alert, as an operator or above."""
    changes = {"ack": (ack_alert, "acked"), "resolve": (resolve_alert, "resolved")}
    if change not in changes:
        return render("error.html", 404, message=f"no such change to an alert: {change!r}")
    visitor, form, refused = await _deciding(request)
    if refused is not None or visitor is None:
        return refused or render("error.html", 401, message="Sign in first.")
    function, done = changes[change]

    def act(caller: Caller) -> Any:
        note = form.get("note", "").strip() or None
        return function(caller.ws, name, alert_id, by=caller.identity, note=note)

    outcome = f"{done}={alert_id}"
    return await run_in_threadpool(_act, request, visitor, name, "operator", act, outcome)
