"""Sign-in, session cookies, CSRF and redirects, over HTTP (the in-process ASGI client)."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from tests.dashboard.conftest import Pending
from tests.server.conftest import NAME, OWNER

from charter.alerts.raising import list_alerts, raise_alert
from charter.registry.versions import list_versions
from charter.server.app import create_app
from charter.tokens import list_tokens, revoke_token


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "the page has no CSRF field"
    return found.group(1)


def sign_in(client: TestClient, token: str) -> TestClient:
    form = client.get("/login")
    answer = client.post(
        "/login",
        data={"token": token, "csrf_token": _csrf(form.text), "next": "/"},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    return client


def _status(pending: Pending, version: int) -> str:
    return {v.version: v.status for v in list_versions(pending.api.ws, NAME)}[version]


def test_a_page_without_a_session_redirects_to_the_sign_in_form(pending: Pending) -> None:
    client = pending.api.client

    home = client.get("/", follow_redirects=False)
    page = client.get(f"/charters/{NAME}", follow_redirects=False)

    assert home.status_code == 303 and home.headers["location"] == "/login?next=%2F"
    assert page.status_code == 303
    assert page.headers["location"] == f"/login?next=%2Fcharters%2F{NAME}"
    assert client.get(home.headers["location"]).status_code == 200


def test_signing_in_sets_an_httponly_samesite_lax_session_cookie(pending: Pending) -> None:
    client = pending.api.client
    form = client.get("/login")
    answer = client.post(
        "/login",
        data={"token": pending.api.tokens["owner"], "csrf_token": _csrf(form.text)},
        follow_redirects=False,
    )

    assert answer.status_code == 303 and answer.headers["location"] == "/"
    cookie = next(
        c for c in answer.headers.get_list("set-cookie") if c.startswith("charter_session=")
    )
    flags = {part.strip().lower() for part in cookie.split(";")}
    assert "httponly" in flags and "samesite=lax" in flags
    assert "secure" not in flags  # plain http on loopback: a Secure cookie would never come back
    assert pending.api.tokens["owner"] not in cookie  # sealed, not the token in clear
    home = client.get("/")
    assert home.status_code == 200 and OWNER in home.text


def test_over_https_the_session_cookie_is_secure(pending: Pending) -> None:
    with TestClient(create_app(pending.api.ws), base_url="https://testserver") as client:
        form = client.get("/login")
        answer = client.post(
            "/login",
            data={"token": pending.api.tokens["viewer"], "csrf_token": _csrf(form.text)},
            follow_redirects=False,
        )

    cookie = next(
        c for c in answer.headers.get_list("set-cookie") if c.startswith("charter_session=")
    )
    assert "secure" in {part.strip().lower() for part in cookie.split(";")}


def test_a_bad_token_or_a_missing_csrf_token_does_not_sign_in(pending: Pending) -> None:
    client = pending.api.client
    form = client.get("/login")

    wrong = client.post("/login", data={"token": "chr_nope", "csrf_token": _csrf(form.text)})
    forged = client.post("/login", data={"token": pending.api.tokens["owner"]})

    assert wrong.status_code == 401 and "the API token is unknown" in wrong.text
    assert forged.status_code == 403 and "expired" in forged.text
    assert "charter_session" not in client.cookies
    assert client.get("/", follow_redirects=False).status_code == 303


def test_after_sign_in_only_a_local_path_is_followed(pending: Pending) -> None:
    client = pending.api.client
    form = client.get("/login?next=//evil.example/")
    answer = client.post(
        "/login",
        data={
            "token": pending.api.tokens["viewer"],
            "csrf_token": _csrf(form.text),
            "next": "//evil.example/",
        },
        follow_redirects=False,
    )

    assert answer.headers["location"] == "/"


def test_a_bearer_header_signs_a_page_request_in(pending: Pending) -> None:
    page = pending.api.get(f"/charters/{NAME}", "viewer")

    assert page.status_code == 200
    assert "viewer@bank.example" in page.text and "Approve version" not in page.text


def test_an_approval_without_the_csrf_token_is_refused(pending: Pending) -> None:
    client = sign_in(pending.api.client, pending.api.tokens["owner"])
    url = f"/charters/{NAME}/versions/{pending.waiting}/approve"

    missing = client.post(url, data={"accept_risk": "fine"})
    wrong = client.post(url, data={"accept_risk": "fine", "csrf_token": "0" * 64})

    assert missing.status_code == 403 and "CSRF" in missing.text
    assert wrong.status_code == 403
    assert _status(pending, pending.waiting) == "shadow"


def test_a_revoked_token_ends_its_session(pending: Pending) -> None:
    client = sign_in(pending.api.client, pending.api.tokens["viewer"])
    assert client.get("/").status_code == 200
    (viewer,) = [t for t in list_tokens(pending.api.ws) if t.identity == "viewer@bank.example"]

    revoke_token(pending.api.ws, viewer.id)

    assert client.get("/", follow_redirects=False).status_code == 303


def test_signing_out_clears_the_session(pending: Pending) -> None:
    client = sign_in(pending.api.client, pending.api.tokens["viewer"])
    home = client.get("/")

    out = client.post("/logout", data={"csrf_token": _csrf(home.text)}, follow_redirects=False)

    assert out.status_code == 303 and out.headers["location"] == "/login"
    assert client.get("/", follow_redirects=False).status_code == 303


def test_an_owner_role_token_the_charter_does_not_name_cannot_approve(pending: Pending) -> None:
    client = sign_in(pending.api.client, pending.api.tokens["stranger"])
    page = client.get(f"/charters/{NAME}")
    assert "Approve version" not in page.text

    forged = client.post(
        f"/charters/{NAME}/versions/{pending.waiting}/approve",
        data={"csrf_token": _csrf(page.text), "accept_risk": "mine"},
    )

    assert forged.status_code == 403 and "may not approve" in forged.text
    assert _status(pending, pending.waiting) == "shadow"
    (refusal,) = pending.api.ledger("decision.refused")
    assert refusal["actor"] == "mallory@bank.example"


def test_the_api_routes_still_answer_json(pending: Pending) -> None:
    body = pending.api.get("/v1/charters").json()

    assert body["items"][0]["open_decisions"] == 1
    assert pending.api.client.get("/v1/charters").status_code == 401


def test_an_approval_short_of_the_gate_without_a_stated_risk_says_why(pending: Pending) -> None:
    client = sign_in(pending.api.client, pending.api.tokens["owner"])
    page = client.get(f"/charters/{NAME}")
    assert f"Approve version {pending.waiting}" in page.text

    short = client.post(
        f"/charters/{NAME}/versions/{pending.waiting}/approve",
        data={"csrf_token": _csrf(page.text)},
    )

    assert short.status_code == 409 and "falls short of the gate" in short.text
    assert _status(pending, pending.waiting) == "shadow"


def test_the_owner_rejects_from_the_page_as_the_tokens_identity(pending: Pending) -> None:
    client = sign_in(pending.api.client, pending.api.tokens["owner"])
    page = client.get(f"/charters/{NAME}")

    answer = client.post(
        f"/charters/{NAME}/versions/{pending.waiting}/reject",
        data={"csrf_token": _csrf(page.text), "reason": "not on this evidence"},
        follow_redirects=False,
    )

    assert answer.status_code == 303
    assert answer.headers["location"] == f"/charters/{NAME}?rejected={pending.waiting}"
    (entry,) = pending.api.ledger("decision.rejected")
    assert (entry["actor"], entry["by"], entry["reason"]) == (OWNER, OWNER, "not on this evidence")
    after = client.get(answer.headers["location"])
    assert "Nothing waits for a decision" in after.text


def test_a_viewer_may_not_change_an_alert(pending: Pending) -> None:
    alert = raise_alert(
        pending.api.ws, NAME, event="breach", rule="test.rule", window=None,
        severity="warning", message="x",
    )  # fmt: skip
    client = sign_in(pending.api.client, pending.api.tokens["viewer"])
    page = client.get(f"/charters/{NAME}")
    assert "Acknowledge" not in page.text

    refused = client.post(
        f"/charters/{NAME}/alerts/{alert.id}/ack", data={"csrf_token": _csrf(page.text)}
    )

    assert refused.status_code == 403
    assert [a.id for a in list_alerts(pending.api.ws, NAME, "open")] == [alert.id]
    (refusal,) = pending.api.ledger("api.refused")
    assert refusal["actor"] == "viewer@bank.example"


def test_an_unknown_charter_or_a_path_is_not_found(pending: Pending) -> None:
    client = sign_in(pending.api.client, pending.api.tokens["viewer"])

    assert client.get("/charters/no-such-model").status_code == 404
    assert client.get("/charters/..%2Fcharters%2Fcredit-default").status_code == 404
