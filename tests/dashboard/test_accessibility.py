"""Accessibility in a real browser: axe-core finds no serious or critical violation on any page,
and the keyboard alone reaches and submits Approve on a decision's page.

axe-core is vendored (``tests/dashboard/data/axe.min.js``, see the README there): injected into
each page as the page was served, it runs every rule it has (WCAG 2.x A and AA and best
practices). The workspace is the decision page's (:mod:`tests.dashboard.test_decision_page`):
a live version, a challenger waiting for the owner, three monitored weeks and drift, so every
page has its charts, tables and forms to check: the overview, a charter's page (with its
suspend form), the decision's page, the sub-pages, and the trace page (empty and with a trace).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from tests.dashboard.conftest import serving
from tests.dashboard.test_browser import CHROMIUM, browser, page, sign_in
from tests.dashboard.test_decision_page import ROWS, Waiting, mkit, model_file, waiting

__all__ = ["browser", "mkit", "model_file", "page", "waiting"]

AXE = Path(__file__).with_name("data") / "axe.min.js"
SERIOUS = ("serious", "critical")
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.access(CHROMIUM, os.X_OK), reason=f"no Chromium at {CHROMIUM}"),
]

_RUN = """async () => {
    const found = await axe.run(document, {resultTypes: ['violations']});
    return found.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
        nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}));
}"""


def violations(page: Any) -> list[dict[str, Any]]:
    """The serious and critical violations axe-core finds on the page as it is now."""
    page.add_script_tag(path=str(AXE))
    found: list[dict[str, Any]] = page.evaluate(_RUN)
    return [v for v in found if v["impact"] in SERIOUS]


def test_axe_finds_no_serious_or_critical_violation_on_any_page(
    waiting: Waiting, page: Any
) -> None:
    name = waiting.kit.name
    with serving(waiting.kit.ws) as base:
        page.goto(f"{base}/login")
        found = {"/login": violations(page)}
        sign_in(page, base, waiting.tokens["owner"])
        page.wait_for_url(f"{base}/")
        page.goto(f"{base}/charters/{name}")
        cell = page.locator("[data-testid=drift-map] td a").first.get_attribute("href")
        assert cell and cell.startswith(f"/charters/{name}/drift/")
        key = waiting.kit.world(ROWS, 90, start=waiting.kit.week0)["id"][0]  # week 0's first row
        paths = [
            "/",
            f"/charters/{name}",
            waiting.url,
            f"/charters/{name}/audit",
            f"/charters/{name}/pipeline",
            f"/charters/{name}/versions",
            f"/charters/{name}/drift",
            cell,
            "/trace",
            f"/trace?q={quote(str(key))}",
        ]
        for path in paths:
            answer = page.goto(f"{base}{path}")
            assert answer is not None and answer.status == 200, path
            if path.startswith("/trace?"):  # the trace itself, not the empty search form
                assert page.get_by_test_id("trace-summary").count() == 1
            found[path] = violations(page)

    assert {p: v for p, v in found.items() if v} == {}
    assert len(found) == 11 and waiting.url in found  # the decision page too


def test_the_keyboard_alone_reaches_and_submits_approve_on_the_decision_page(
    waiting: Waiting, page: Any
) -> None:
    with serving(waiting.kit.ws) as base:
        sign_in(page, base, waiting.tokens["owner"])
        page.wait_for_url(f"{base}/")
        page.goto(f"{base}{waiting.url}")

        def focused() -> str:
            return str(page.evaluate("document.activeElement.name || document.activeElement.id"))

        for _ in range(200):  # bounded: past the links and the evidence tables' links
            page.keyboard.press("Tab")
            if focused() == "accept_risk":
                break
        assert focused() == "accept_risk"
        page.keyboard.type("typed without a mouse")
        for _ in range(5):  # the waiver field, if any, then the button
            page.keyboard.press("Tab")
            if page.evaluate("document.activeElement.textContent").startswith("Approve"):
                break
        assert page.evaluate("document.activeElement.textContent").startswith("Approve version 2")
        page.keyboard.press("Enter")
        page.wait_for_url(f"{base}/charters/{waiting.kit.name}?approved=2")

    assert waiting.status(2) == "live"
    (entry,) = waiting.ledger("decision.approved")
    assert entry["accepted_risk"] == "typed without a mouse"
