"""The dashboard's trace page and the suspended banner: a prediction searched by id or key shows
the trace in plain words first; a suspended charter says so on the overview and its page."""

from __future__ import annotations

import os
from typing import Any

import pytest
from tests.dashboard.conftest import Pending, serving
from tests.dashboard.test_browser import CHROMIUM, browser, page, sign_in
from tests.server.conftest import NAME, OWNER, record

from charter.lifecycle.decisions import approve
from charter.services.oversight import suspend

__all__ = ["browser", "page"]
RISK = "fewer labels than we would like in the first month"
PREDICT = f"/v1/charters/{NAME}/predict"


def approved(pending: Pending) -> dict[str, Any]:
    """The waiting version approved by the owner (accepting its shortfall), then one answer."""
    approve(pending.api.ws, NAME, pending.waiting, by=OWNER, accept_risk=RISK)
    answer = pending.api.post(PREDICT, json=record(42))
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    assert body["version"] == pending.waiting
    return body


def test_the_trace_page_shows_the_version_score_and_approval_in_words_first(
    pending: Pending,
) -> None:
    answer = approved(pending)

    found = pending.api.get("/trace", who="viewer", params={"q": answer["prediction_id"]})

    assert found.status_code == 200
    html = found.text
    assert f"Version {pending.waiting} scored it 0.21, and acted on." in html
    assert f"was live under the approval of {OWNER}" in html
    assert RISK in html
    assert html.index('data-testid="trace-summary"') < html.index('data-testid="trace-scores"')


def test_a_key_finds_its_prediction_and_an_unknown_query_says_so(pending: Pending) -> None:
    answer = approved(pending)

    by_key = pending.api.get("/trace", params={"q": "r42", "charter": NAME})
    unknown = pending.api.get("/trace", params={"q": "nobody"})

    assert by_key.status_code == 200 and answer["prediction_id"] in by_key.text
    assert unknown.status_code == 404
    assert "no prediction with id or key &#39;nobody&#39; in any charter" in unknown.text


def test_the_trace_page_needs_a_signed_in_caller(pending: Pending) -> None:
    response = pending.api.client.get("/trace?q=x", follow_redirects=False)

    assert response.status_code == 303 and response.headers["location"].startswith("/login")


def test_a_suspended_charter_has_a_banner_on_its_page_and_a_badge_on_the_overview(
    pending: Pending,
) -> None:
    assert 'data-testid="suspended' not in pending.api.get("/").text
    suspend(pending.api.ws, NAME, by=OWNER, reason="complaints about referrals")

    overview = pending.api.get("/").text
    charter = pending.api.get(f"/charters/{NAME}").text

    assert 'data-testid="suspended-badge"' in overview
    assert "Suspended since" in overview and "nothing it scores is acted on" in overview
    assert 'data-testid="suspended"' in charter
    assert f"(by {OWNER}: “complaints about referrals”)" in charter
    assert f"charter resume {NAME} --as EMAIL" in charter


@pytest.mark.browser
@pytest.mark.skipif(not os.access(CHROMIUM, os.X_OK), reason=f"no Chromium at {CHROMIUM}")
def test_in_a_browser_the_owner_searches_a_prediction_and_sees_its_trace(
    page: Any, pending: Pending
) -> None:
    answer = approved(pending)
    with serving(pending.api.ws) as base:
        sign_in(page, base, pending.api.tokens["owner"])
        page.wait_for_url(f"{base}/")
        page.get_by_test_id("search").fill(answer["prediction_id"])
        page.get_by_test_id("search").press("Enter")
        page.wait_for_url(f"{base}/trace?q=*")

        summary = page.get_by_test_id("trace-summary").inner_text()
        version = page.get_by_test_id("trace-version").inner_text()
        scores = page.get_by_test_id("trace-scores").inner_text()
        approval = page.get_by_test_id("trace-approval").inner_text()

    assert f"Version {pending.waiting} scored it 0.21" in summary
    assert version == f"version {pending.waiting}"
    assert "0.21" in scores and "live" in scores
    assert OWNER in approval and RISK in approval
