"""Suspend and resume from a charter's page, over HTTP: who sees the forms, who is refused.

The forms call the same service as ``charter suspend|resume`` (tested in tests/oversight); here:
the owner suspends with a reason and resumes, the banner says so, and a viewer, a stranger with
an owner-role token, a missing reason and a missing CSRF token are each refused and recorded.
"""

from __future__ import annotations

from tests.dashboard.conftest import Pending
from tests.dashboard.test_sessions_http import _csrf, sign_in
from tests.server.conftest import NAME, OWNER

from charter.services.oversight import suspend, suspension

PAGE = f"/charters/{NAME}"


def test_the_owner_suspends_with_a_reason_then_resumes(pending: Pending) -> None:
    client = sign_in(pending.api.client, pending.api.tokens["owner"])
    page = client.get(PAGE)
    assert 'data-testid="suspend-form"' in page.text and 'data-testid="suspended"' not in page.text

    stopped = client.post(
        f"{PAGE}/suspend",
        data={"csrf_token": _csrf(page.text), "reason": "complaints about refusals"},
        follow_redirects=False,
    )

    assert stopped.status_code == 303 and stopped.headers["location"] == f"{PAGE}?suspended=1"
    held = suspension(pending.api.ws, NAME)
    assert held is not None and held.suspended and held.suspended_by == OWNER
    (entry,) = pending.api.ledger("charter.suspended")
    assert (entry["actor"], entry["by"], entry["reason"]) == (
        OWNER,
        OWNER,
        "complaints about refusals",
    )
    after = client.get(stopped.headers["location"])
    assert 'data-testid="suspended"' in after.text and "complaints about refusals" in after.text
    assert 'data-testid="resume-form"' in after.text and "suspend-form" not in after.text

    resumed = client.post(
        f"{PAGE}/resume",
        data={"csrf_token": _csrf(after.text), "note": "fixed the cut-off"},
        follow_redirects=False,
    )

    assert resumed.status_code == 303 and resumed.headers["location"] == f"{PAGE}?resumed=1"
    assert suspension(pending.api.ws, NAME) is None
    (back,) = pending.api.ledger("charter.resumed")
    assert (back["by"], back["note"]) == (OWNER, "fixed the cut-off")
    assert 'data-testid="suspended"' not in client.get(PAGE).text


def test_a_suspension_without_a_reason_is_refused_and_recorded(pending: Pending) -> None:
    client = sign_in(pending.api.client, pending.api.tokens["owner"])
    page = client.get(PAGE)

    refused = client.post(f"{PAGE}/suspend", data={"csrf_token": _csrf(page.text), "reason": " "})

    assert refused.status_code == 409 and "needs a reason" in refused.text
    assert suspension(pending.api.ws, NAME) is None
    (entry,) = pending.api.ledger("oversight.refused")
    assert entry["action"] == "suspend"


def test_a_viewer_sees_no_oversight_form_and_a_forged_post_is_refused(pending: Pending) -> None:
    client = sign_in(pending.api.client, pending.api.tokens["viewer"])
    page = client.get(PAGE)
    assert "suspend-form" not in page.text and "resume-form" not in page.text

    refused = client.post(
        f"{PAGE}/suspend", data={"csrf_token": _csrf(page.text), "reason": "I say so"}
    )

    assert refused.status_code == 403
    assert suspension(pending.api.ws, NAME) is None
    (refusal,) = pending.api.ledger("api.refused")
    assert (refusal["actor"], refusal["role"]) == ("viewer@bank.example", "viewer")
    assert refusal["path"] == f"{PAGE}/suspend"


def test_a_viewer_cannot_resume_a_suspended_charter(pending: Pending) -> None:
    suspend(pending.api.ws, NAME, by=OWNER, reason="paused for review")
    client = sign_in(pending.api.client, pending.api.tokens["viewer"])
    page = client.get(PAGE)
    assert 'data-testid="suspended"' in page.text and "resume-form" not in page.text

    refused = client.post(f"{PAGE}/resume", data={"csrf_token": _csrf(page.text)})

    assert refused.status_code == 403
    held = suspension(pending.api.ws, NAME)
    assert held is not None and held.suspended
    (refusal,) = pending.api.ledger("api.refused")
    assert refusal["path"] == f"{PAGE}/resume"


def test_an_owner_role_token_the_charter_does_not_name_is_refused_by_the_service(
    pending: Pending,
) -> None:
    client = sign_in(pending.api.client, pending.api.tokens["stranger"])
    page = client.get(PAGE)
    assert "suspend-form" not in page.text

    refused = client.post(
        f"{PAGE}/suspend", data={"csrf_token": _csrf(page.text), "reason": "mine now"}
    )

    assert refused.status_code == 403
    assert suspension(pending.api.ws, NAME) is None
    (entry,) = pending.api.ledger("oversight.refused")
    assert entry["by"] == "mallory@bank.example"


def test_a_suspension_without_the_csrf_token_is_refused(pending: Pending) -> None:
    client = sign_in(pending.api.client, pending.api.tokens["owner"])

    refused = client.post(f"{PAGE}/suspend", data={"reason": "forged elsewhere"})

    assert refused.status_code == 403
    assert suspension(pending.api.ws, NAME) is None
    assert pending.api.ledger("charter.suspended") == []
