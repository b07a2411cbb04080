"""The dashboard in a real browser: Debian's Chromium driven by Playwright, against uvicorn.

Never a browser download: ``make test`` installs the ``chromium`` package; without it these
tests skip and say so.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from tests.dashboard.conftest import Pending
from tests.server.conftest import NAME, OWNER

from charter.alerts.raising import list_alerts, raise_alert
from charter.registry.versions import list_versions

CHROMIUM = "/usr/bin/chromium"
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not os.access(CHROMIUM, os.X_OK),
        reason=f"no Chromium at {CHROMIUM}: `apt-get install -y chromium` (make test does)",
    ),
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context()
    yield context.new_page()
    context.close()


def sign_in(page: Any, base: str, token: str) -> None:
    page.goto(f"{base}/")
    assert page.url.startswith(f"{base}/login")  # not signed in: sent to the form
    page.fill("#token", token)
    page.click("button:has-text('Sign in')")


def _post(page: Any, path: str, fields: dict[str, str]) -> int:
    """A POST the page's own script makes (with the browser's cookies): a forged form."""
    script = """async ([path, fields]) => {
        const r = await fetch(path, {method: 'POST', body: new URLSearchParams(fields),
                                     redirect: 'manual'});
        return r.status;
    }"""
    return int(page.evaluate(script, [path, fields]))


def test_a_bad_token_shows_an_error_and_stays_on_the_form(page: Any, served: str) -> None:
    sign_in(page, served, "chr_not-a-real-token")

    error = page.get_by_test_id("login-error")
    assert "the API token is unknown" in error.inner_text()
    assert page.url == f"{served}/login"


def test_the_owner_sees_the_overview_with_the_charter_and_its_owner(
    page: Any, served: str, pending: Pending
) -> None:
    sign_in(page, served, pending.api.tokens["owner"])

    page.wait_for_url(f"{served}/")
    row = page.locator(f"tr[data-charter='{NAME}']")
    assert "Dana Ruiz" in row.get_by_test_id("owner").inner_text()
    assert OWNER in row.inner_text()
    assert f"version {pending.waiting}: waiting" in row.inner_text()
    assert page.get_by_test_id("identity").inner_text() == OWNER


def test_a_viewer_has_no_approve_button_and_a_forged_post_is_refused(
    page: Any, served: str, pending: Pending
) -> None:
    sign_in(page, served, pending.api.tokens["viewer"])
    page.wait_for_url(f"{served}/")
    page.click(f"a:has-text('{NAME}')")

    assert page.locator("button.approve").count() == 0
    csrf = page.locator("input[name=csrf_token]").first.get_attribute("value")  # sign-out form's
    status = _post(
        page,
        f"/charters/{NAME}/versions/{pending.waiting}/approve",
        {"csrf_token": csrf, "accept_risk": "me"},
    )

    assert status == 403
    statuses = {v.version: v.status for v in list_versions(pending.api.ws, NAME)}
    assert statuses[pending.waiting] == "shadow"
    (refusal,) = pending.api.ledger("api.refused")
    assert refusal["actor"] == "viewer@bank.example" and refusal["role"] == "viewer"


def test_a_post_without_the_csrf_token_is_refused(page: Any, served: str, pending: Pending) -> None:
    sign_in(page, served, pending.api.tokens["owner"])
    page.wait_for_url(f"{served}/")

    status = _post(
        page, f"/charters/{NAME}/versions/{pending.waiting}/approve", {"accept_risk": "fine"}
    )

    assert status == 403
    statuses = {v.version: v.status for v in list_versions(pending.api.ws, NAME)}
    assert statuses[pending.waiting] == "shadow"
    assert pending.api.ledger("decision.approved") == []


def test_the_owner_approves_from_the_page_and_the_ledger_names_the_token(
    page: Any, served: str, pending: Pending, cli: Any
) -> None:
    sign_in(page, served, pending.api.tokens["owner"])
    page.wait_for_url(f"{served}/")
    page.click(f"a:has-text('{NAME}')")
    section = page.locator(f"section.decision[data-version='{pending.waiting}']")
    section.locator("textarea[name=accept_risk]").fill("a pilot on test data; I accept it")
    section.locator("button.approve").click()

    page.wait_for_url(f"{served}/charters/{NAME}?approved={pending.waiting}")
    assert f"Version {pending.waiting} was approved" in page.locator("[role=status]").inner_text()
    row = page.get_by_test_id("versions").locator(f"tr[data-version='{pending.waiting}']")
    assert "live" in row.inner_text()
    statuses = {v.version: v.status for v in list_versions(pending.api.ws, NAME)}
    assert (statuses[pending.waiting], statuses[pending.live]) == ("live", "standby")
    (approved,) = pending.api.ledger("decision.approved")
    assert approved["actor"] == OWNER and approved["by"] == OWNER
    assert approved["accepted_risk"] == "a pilot on test data; I accept it"
    assert cli("audit", "verify").code == 0


def test_an_operator_acknowledges_an_alert_from_the_page(
    page: Any, served: str, pending: Pending
) -> None:
    alert = raise_alert(
        pending.api.ws, NAME, event="breach", rule="test.rule", window=None,
        severity="critical", message="roc_auc fell below 0.68",
    )  # fmt: skip
    sign_in(page, served, pending.api.tokens["operator"])
    page.wait_for_url(f"{served}/")
    assert "1 critical" in page.locator(f"tr[data-charter='{NAME}']").inner_text()
    page.click(f"a:has-text('{NAME}')")
    row = page.get_by_test_id("alerts").locator(f"tr[data-alert='{alert.id}']")
    row.locator("input[name=note]").fill("looking into it")
    row.locator("button.ack").click()

    page.wait_for_url(f"{served}/charters/{NAME}?acked={alert.id}")
    assert (
        "acked"
        in page.get_by_test_id("alerts").locator(f"tr[data-alert='{alert.id}']").inner_text()
    )
    (acked,) = list_alerts(pending.api.ws, NAME, "acked")
    assert (acked.acked_by, acked.ack_note) == ("ops@bank.example", "looking into it")


def test_the_keyboard_alone_reaches_approve(page: Any, served: str, pending: Pending) -> None:
    sign_in(page, served, pending.api.tokens["owner"])
    page.wait_for_url(f"{served}/")
    page.goto(f"{served}/charters/{NAME}")

    def focused() -> str:
        return str(page.evaluate("document.activeElement.name || document.activeElement.className"))

    for _ in range(40):  # bounded: the risk field is a few links and buttons down the page
        page.keyboard.press("Tab")
        if focused() == "accept_risk":
            break
    assert focused() == "accept_risk"
    page.keyboard.type("accepted, typed without a mouse")
    page.keyboard.press("Tab")
    assert focused() == "approve"
    page.keyboard.press("Enter")

    page.wait_for_url(f"{served}/charters/{NAME}?approved={pending.waiting}")
    (approved,) = pending.api.ledger("decision.approved")
    assert approved["accepted_risk"] == "accepted, typed without a mouse"


def test_the_owner_suspends_then_resumes_from_the_page_and_a_viewer_has_no_button(
    page: Any, browser: Any, served: str, pending: Pending
) -> None:
    sign_in(page, served, pending.api.tokens["owner"])
    page.wait_for_url(f"{served}/")
    page.goto(f"{served}/charters/{NAME}")
    page.locator("details.oversight summary").click()
    page.fill("#suspend-reason", "complaints about refusals")
    page.locator("button.suspend").click()

    page.wait_for_url(f"{served}/charters/{NAME}?suspended=1")
    banner = page.get_by_test_id("suspended").inner_text()
    assert "complaints about refusals" in banner and OWNER in banner
    viewer = browser.new_context().new_page()
    sign_in(viewer, served, pending.api.tokens["viewer"])
    viewer.wait_for_url(f"{served}/")
    viewer.goto(f"{served}/charters/{NAME}")
    assert viewer.get_by_test_id("suspended").count() == 1
    assert viewer.locator("button.resume, button.suspend").count() == 0
    viewer.context.close()

    page.fill("#resume-note", "the cut-off is fixed")
    page.locator("button.resume").click()

    page.wait_for_url(f"{served}/charters/{NAME}?resumed=1")
    assert page.get_by_test_id("suspended").count() == 0
    assert page.locator("button.suspend").count() == 1  # in the closed details, ready again
    (stop,) = pending.api.ledger("charter.suspended")
    (back,) = pending.api.ledger("charter.resumed")
    assert (stop["by"], back["by"], back["note"]) == (OWNER, OWNER, "the cut-off is fixed")
