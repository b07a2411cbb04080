"""A decision's own page: the challenger beside the live version, and the evidence-bound approval.

The workspace: the monitoring charter (``roc_auc at_least 0.65, warn_at 0.8``, min_labels 50)
with version 1 (the trained pipeline) live and version 2 (``amount / 100``) in shadow, three
labelled live weeks of 500 rows monitored, and a decision opened for version 2. Each week's
ROC AUC of each version is computed here with scikit-learn from the same rows and labels: the
page must show those numbers, week by week, side by side.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import polars as pl
import pytest
from fastapi.testclient import TestClient
from sklearn.metrics import roc_auc_score
from tests.dashboard.conftest import serving
from tests.dashboard.test_browser import CHROMIUM, browser, page
from tests.dashboard.test_browser import sign_in as browser_sign_in
from tests.dashboard.test_sessions_http import _csrf, sign_in
from tests.monitoring.conftest import MonitorKit, mkit, model_file

from charter.lifecycle.decisions import promote
from charter.monitoring.service import monitor
from charter.registry.versions import list_versions, register_version, set_status
from charter.server.app import create_app
from charter.tokens import create_token

__all__ = ["browser", "mkit", "model_file", "page"]
OWNER = "dana.ruiz@bank.example"
ROWS = 500


@dataclass
class Waiting:
    kit: MonitorKit
    client: TestClient
    tokens: dict[str, str]
    decision: int
    aucs: dict[int, list[float]]  # version -> ROC AUC per week

    @property
    def url(self) -> str:
        return f"/charters/{self.kit.name}/decisions/{self.decision}"

    def status(self, version: int) -> str:
        return {v.version: v.status for v in list_versions(self.kit.ws, self.kit.name)}[version]

    def ledger(self, action: str) -> list[dict[str, Any]]:
        import json

        import sqlalchemy as sa

        from charter.store.tables import AuditEntry

        with self.kit.ws.db.read() as session:
            rows = session.scalars(
                sa.select(AuditEntry.payload).where(AuditEntry.action == action)
            ).all()
        return [json.loads(r) for r in rows]

    def week(self, i: int, shift: float = 0.0) -> None:
        """Land and label live week ``i`` (``amount`` shifted by ``shift``), then monitor."""
        frame = self.kit.world(ROWS, 90 + i, start=self.kit.week0 + timedelta(days=7 * i))
        frame = frame.with_columns(pl.col("amount") + shift)
        self.kit.land(f"week-{i}.parquet", frame)
        truth = self.kit.true_outcome(frame, 90 + i)
        self.kit.labels(f"w{i}.parquet", frame["id"].to_list(), truth)
        monitor(self.kit.ws, self.kit.name)
        self.aucs[1].append(float(roc_auc_score(truth, self.kit.scores(frame))))
        self.aucs[2].append(float(roc_auc_score(truth, frame["amount"].to_numpy() / 100)))


@pytest.fixture
def waiting(mkit: MonitorKit, monkeypatch: pytest.MonkeyPatch) -> Iterator[Waiting]:
    monkeypatch.syspath_prepend(str(mkit.ws.root))
    mkit.write_charter(min_labels=50)
    mkit.register("live")
    mkit.reference(1)
    module = f"model_{uuid.uuid4().hex[:10]}"
    (mkit.ws.root / f"{module}.py").write_text(
        "def score(frame):\n    return frame['amount'] / 100\n"
    )
    challenger = register_version(mkit.ws, mkit.name, f"{module}:score").version
    with mkit.ws.db.session() as session:
        set_status(mkit.ws, session, mkit.name, challenger, "shadow")
    tokens = {
        "owner": create_token(mkit.ws, OWNER, "owner")[0],
        "viewer": create_token(mkit.ws, "viewer@bank.example", "viewer")[0],
    }
    with TestClient(create_app(mkit.ws), raise_server_exceptions=False) as client:
        state = Waiting(mkit, client, tokens, 0, {1: [], 2: []})
        for i in range(3):
            state.week(i)
        state.decision = promote(mkit.ws, mkit.name, challenger).decision.id
        yield state


def _row(html: str, table: str, window: str) -> list[str]:
    """The cells of one window's row in the table ``data-testid=table``, tags stripped."""
    body = html.split(f'data-testid="{table}"', 1)[1].split("</table>", 1)[0]
    row = body.split(f'data-window="{window}"', 1)[1].split("</tr>", 1)[0]
    return [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<t[dh][^>]*>.*?</t[dh]>", row)]


def _digest(html: str) -> str:
    found = re.search(r'name="evidence_sha256" value="([0-9a-f]{64})"', html)
    assert found, "the decision form carries no evidence digest"
    return found.group(1)


def test_the_page_shows_both_versions_on_the_same_windows(waiting: Waiting) -> None:
    page = sign_in(waiting.client, waiting.tokens["owner"]).get(waiting.url)

    assert page.status_code == 200
    assert "Put version 2 live, from shadow; version 1 (live now) becomes the standby" in page.text
    for i in range(3):
        start = f"{waiting.kit.week0 + timedelta(days=7 * i):%Y-%m-%d}"
        cells = _row(page.text, "rule-0", start)
        # window, v2 value, status, labels, v1 value, status, labels, threshold
        assert cells[0] == start
        assert cells[1] == f"{waiting.aucs[2][i]:.3f}" and cells[3] == str(ROWS)
        assert cells[4] == f"{waiting.aucs[1][i]:.3f}" and cells[6] == str(ROWS)
        assert cells[2] in ("pass", "warn", "breach") and cells[5] in ("pass", "warn", "breach")
    assert "champion_challenger" in page.text and "roc_auc ≥ 0.65" in page.text
    deciders = re.search(r'data-testid="deciders">(.*?)</dd>', page.text)
    assert deciders and OWNER in deciders.group(1)
    assert "Approve version 2" in page.text
    assert _digest(page.text) in page.text.split('data-testid="digest">', 1)[1][:80]


def test_an_approval_with_the_digest_shown_is_recorded_with_it(waiting: Waiting) -> None:
    client = sign_in(waiting.client, waiting.tokens["owner"])
    page = client.get(waiting.url)
    digest = _digest(page.text)

    answer = client.post(
        f"{waiting.url}/approve",
        data={"csrf_token": _csrf(page.text), "evidence_sha256": digest, "accept_risk": "ok"},
        follow_redirects=False,
    )

    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == f"/charters/{waiting.kit.name}?approved=2"
    assert waiting.status(2) == "live" and waiting.status(1) == "standby"
    (entry,) = waiting.ledger("decision.approved")
    assert entry["evidence_sha256"] == digest and entry["by"] == OWNER
    done = client.get(waiting.url)
    assert f"This decision is approved: by {OWNER}" in done.text
    assert "Approve version" not in done.text


def test_after_a_new_window_the_approval_is_refused_and_nothing_changes(
    waiting: Waiting,
) -> None:
    client = sign_in(waiting.client, waiting.tokens["owner"])
    page = client.get(waiting.url)
    digest = _digest(page.text)
    waiting.week(3)  # a new window for both versions arrives while the owner reads

    answer = client.post(
        f"{waiting.url}/approve",
        data={"csrf_token": _csrf(page.text), "evidence_sha256": digest, "accept_risk": "ok"},
    )

    assert answer.status_code == 409
    assert "The evidence changed since you opened this page: review it again." in answer.text
    assert waiting.status(2) == "shadow" and waiting.status(1) == "live"
    assert waiting.ledger("decision.approved") == []
    assert _digest(answer.text) != digest  # the page now shows the new evidence, with its digest
    start = f"{waiting.kit.week0 + timedelta(days=21):%Y-%m-%d}"
    assert _row(answer.text, "rule-0", start)[1] == f"{waiting.aucs[2][3]:.3f}"
    assert 'name="accept_risk" rows="2">ok</textarea>' in answer.text  # what she typed stays


def test_a_stale_or_missing_digest_is_refused(waiting: Waiting) -> None:
    client = sign_in(waiting.client, waiting.tokens["owner"])
    page = client.get(waiting.url)
    form = {"csrf_token": _csrf(page.text), "accept_risk": "ok"}

    stale = client.post(f"{waiting.url}/approve", data={**form, "evidence_sha256": "0" * 64})
    missing = client.post(f"{waiting.url}/approve", data=form)

    assert stale.status_code == 409 and missing.status_code == 409
    assert "The evidence changed since you opened this page" in stale.text
    assert waiting.status(2) == "shadow"
    refusals = waiting.ledger("decision.refused")
    assert len(refusals) == 2  # each refusal is on the record


def test_a_viewer_sees_the_evidence_but_no_approve_button(waiting: Waiting) -> None:
    client = sign_in(waiting.client, waiting.tokens["viewer"])
    page = client.get(waiting.url)

    forged = client.post(
        f"{waiting.url}/approve",
        data={"csrf_token": _csrf(page.text), "evidence_sha256": "0" * 64, "accept_risk": "x"},
    )

    assert page.status_code == 200 and "Approve version" not in page.text
    assert f"{waiting.aucs[1][0]:.3f}" in page.text
    assert forged.status_code == 403 and waiting.status(2) == "shadow"


def test_an_unknown_decision_is_not_found(waiting: Waiting) -> None:
    client = sign_in(waiting.client, waiting.tokens["viewer"])

    assert client.get(f"/charters/{waiting.kit.name}/decisions/999").status_code == 404
    assert client.get("/charters/no-such-model/decisions/1").status_code == 404


def test_the_same_evidence_gives_the_same_digest(waiting: Waiting) -> None:
    from charter.lifecycle.evidence import decision_evidence

    first = decision_evidence(waiting.kit.ws, waiting.kit.name, 2)
    again = decision_evidence(waiting.kit.ws, waiting.kit.name, 2)

    assert first.digest == again.digest and len(first.digest) == 64
    assert [s.shared for s in first.spans] == [True] * 3
    live = first.spans[0].live
    assert live is not None and live.version == 1
    assert live.rules[0]["value"] == pytest.approx(waiting.aucs[1][0])


@pytest.mark.browser
@pytest.mark.skipif(not os.access(CHROMIUM, os.X_OK), reason=f"no Chromium at {CHROMIUM}")
def test_in_a_browser_the_owner_goes_from_the_overview_to_the_decision_and_approves(
    waiting: Waiting, page: Any
) -> None:
    with serving(waiting.kit.ws) as base:
        browser_sign_in(page, base, waiting.tokens["owner"])
        page.wait_for_url(f"{base}/")
        page.click(f"tr[data-charter='{waiting.kit.name}'] a:has-text('version 2: waiting')")
        page.wait_for_url(f"{base}{waiting.url}")
        row = page.locator("[data-testid='rule-0'] tr[data-window]").first
        assert f"{waiting.aucs[2][0]:.3f}" in row.inner_text()
        assert f"{waiting.aucs[1][0]:.3f}" in row.inner_text()
        shown = page.get_by_test_id("digest").inner_text()
        page.get_by_label("Risk you accept").fill("the gate's short items, accepted")
        page.click("button:has-text('Approve version 2')")
        page.wait_for_url(f"{base}/charters/{waiting.kit.name}?approved=2")

        assert "Version 2 was approved by you and is live." in page.content()
    assert waiting.status(2) == "live"
    (entry,) = waiting.ledger("decision.approved")
    assert entry["evidence_sha256"] == shown
    assert entry["accepted_risk"] == "the gate's short items, accepted"


def test_the_owner_rejects_from_the_decision_page_with_a_reason(waiting: Waiting) -> None:
    client = sign_in(waiting.client, waiting.tokens["owner"])
    page = client.get(waiting.url)

    answer = client.post(
        f"{waiting.url}/reject",
        data={"csrf_token": _csrf(page.text), "reason": "v2 trails v1 every week"},
        follow_redirects=False,
    )

    assert answer.status_code == 303
    assert answer.headers["location"] == f"/charters/{waiting.kit.name}?rejected=2"
    (entry,) = waiting.ledger("decision.rejected")
    assert (entry["by"], entry["reason"]) == (OWNER, "v2 trails v1 every week")
    assert waiting.status(2) == "shadow"
    assert "This decision is rejected" in client.get(waiting.url).text


def test_a_decided_decision_cannot_be_decided_again(waiting: Waiting) -> None:
    client = sign_in(waiting.client, waiting.tokens["owner"])
    page = client.get(waiting.url)
    client.post(f"{waiting.url}/reject", data={"csrf_token": _csrf(page.text), "reason": "no"})
    promote(waiting.kit.ws, waiting.kit.name, 2)  # a new decision for the same version

    again = client.post(
        f"{waiting.url}/approve",
        data={"csrf_token": _csrf(page.text), "evidence_sha256": _digest(page.text)},
    )

    assert again.status_code == 409 and "is rejected: nothing to decide" in again.text
    assert waiting.status(2) == "shadow"
