"""The owner's pre-authorisation, and the scheduler's pass: stalled decisions and escalation.

On SQLite and the real PostgreSQL server. The workspace sends email through the local SMTP
server of ``conftest.py``, so the owner, stewards and escalation contacts really receive mail.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from tests.alerts.conftest import Inbox, drain

from charter.alerts.raising import list_alerts
from charter.errors import DecisionError, NotAuthorizedError
from charter.governance.changes import accept_change
from charter.lifecycle.authorization import authorize
from charter.lifecycle.decisions import approve, list_decisions, promote
from charter.lifecycle.gate import readiness
from charter.services.lifecycle import review
from charter.workspace import Workspace

from .test_lifecycle_support import DELEGATE, NAME, OWNER, STEWARD, Lab

pytestmark = pytest.mark.postgres


@pytest.fixture
def lab(ws: Workspace) -> Iterator[Lab]:
    made = Lab(ws)
    made.charter()
    yield made
    assert ws.ledger.verify().ok


def with_live(lab: Lab) -> tuple[int, int]:
    live = lab.model(status="live")
    candidate = lab.model("frame['amount'] / 90", status="shadow")
    lab.ready(candidate)
    return live, candidate


# -- pre-authorisation --------------------------------------------------------------------------
def test_a_charter_file_alone_cannot_grant_automatic_promotion(lab: Lab) -> None:
    lab.charter(approval="auto_if_sufficient")
    live, candidate = with_live(lab)

    result = promote(lab.ws, NAME, candidate)

    assert (result.outcome, result.approval) == ("opened", "owner")
    assert (
        "the owner has not authorised it" in readiness(lab.ws, NAME, candidate).approval.explanation
    )
    assert lab.live() == [live]


def test_the_owner_pre_authorises_and_a_sufficient_version_goes_live_on_promote(
    lab: Lab, cli: Any
) -> None:
    lab.charter(approval="auto_if_sufficient")
    live, candidate = with_live(lab)

    granted = cli("authorize", NAME, "--as", OWNER, "--auto-if-sufficient", "--json")
    result = cli("promote", NAME, str(candidate), "--json")

    assert granted.code == 0, granted.stderr
    assert granted.json()["mode"] == "auto_if_sufficient"
    assert result.json()["outcome"] == "live"
    assert lab.statuses() == {live: "standby", candidate: "live"}
    (authorized,) = lab.entries("promotion.authorized")
    assert authorized["by"] == OWNER
    (approved,) = lab.entries("decision.approved")
    assert approved["automatic"] is True
    assert approved["by"] == f"auto_if_sufficient, authorised by {OWNER}"


def test_only_the_owner_may_pre_authorise_and_only_when_the_charter_asks(lab: Lab) -> None:
    with pytest.raises(DecisionError, match=r"set operations\.promotion\.approval"):
        authorize(lab.ws, NAME, by=OWNER)
    lab.charter(approval="auto_if_sufficient")
    with pytest.raises(NotAuthorizedError, match="only its owner"):
        authorize(lab.ws, NAME, by=DELEGATE)
    assert [e["by"] for e in lab.entries("decision.refused")] == [OWNER, DELEGATE]


def test_changing_the_sufficiency_contract_lapses_the_pre_authorisation(lab: Lab) -> None:
    lab.charter(approval="auto_if_sufficient")
    live, candidate = with_live(lab)
    authorize(lab.ws, NAME, by=OWNER)

    lab.charter(auc=0.6)  # someone lowers the bar in the file
    # change control: the edit is not in force (so cannot lapse anything) until accepted
    assert readiness(lab.ws, NAME, candidate).approval.automatic
    accept_change(lab.ws, NAME, None, by=OWNER)
    result = promote(lab.ws, NAME, candidate)

    assert result.outcome == "opened"
    assert "changed since" in result.readiness.approval.explanation
    assert lab.live() == [live]


def test_review_promotes_a_pre_authorised_version_once_it_passes(lab: Lab) -> None:
    lab.charter(approval="auto_if_sufficient")
    live = lab.model(status="live")
    candidate = lab.model("frame['amount'] / 90", status="shadow")
    authorize(lab.ws, NAME, by=OWNER)
    assert review(lab.ws, NAME).promoted is None  # not sufficient yet: nothing happens

    lab.ready(candidate)
    report = review(lab.ws, NAME)

    assert report.promoted == candidate
    assert "live (pre-authorised)" in report.summary
    assert lab.statuses() == {live: "standby", candidate: "live"}


# -- stalled decisions --------------------------------------------------------------------------
def test_a_stalled_decision_alerts_once_then_escalates_each_step_once(
    lab: Lab, inbox: Inbox
) -> None:
    _, candidate = with_live(lab)
    (decision,) = [promote(lab.ws, NAME, candidate).decision]
    opened = decision.opened_at

    assert review(lab.ws, NAME, now=opened + timedelta(days=4)).alerts == []
    first = review(lab.ws, NAME, now=opened + timedelta(days=6))
    again = review(lab.ws, NAME, now=opened + timedelta(days=6, hours=1))
    step1 = review(lab.ws, NAME, now=opened + timedelta(days=8))
    step2 = review(lab.ws, NAME, now=opened + timedelta(days=11))
    later = review(lab.ws, NAME, now=opened + timedelta(days=30))

    assert len(first.alerts) == 1
    assert again.alerts == later.alerts == []
    assert len(step1.alerts) == 1 and len(step2.alerts) == 1
    alerts = {a.rule: a for a in list_alerts(lab.ws, NAME, "all")}
    assert set(alerts) == {"decision.stalled", "decision.escalation.1", "decision.escalation.2"}
    stalled = alerts["decision.stalled"]
    assert (stalled.event, stalled.count, stalled.severity) == ("stalled_decision", 1, "warning")
    assert "past its 5d deadline" in stalled.message
    drain(lab.ws)  # the delivery worker sends the queued emails
    recipients = [sorted(to) for _, to, _ in inbox.messages]
    assert sorted([OWNER, STEWARD]) in recipients
    assert ["cro@bank.example"] in recipients and ["ceo@bank.example"] in recipients
    assert len(lab.entries("decision.stalled")) == 1
    assert [e["step"] for e in lab.entries("decision.escalated")] == [1, 2]
    (info,) = list_decisions(lab.ws, NAME)
    assert info.escalations == 2


def test_deciding_resolves_the_stalled_decision_alerts(lab: Lab) -> None:
    _, candidate = with_live(lab)
    decision = promote(lab.ws, NAME, candidate).decision
    review(lab.ws, NAME, now=decision.opened_at + timedelta(days=8))

    approve(lab.ws, NAME, candidate, by=OWNER)

    assert list_alerts(lab.ws, NAME, "active") == []
    resolved = list_alerts(lab.ws, NAME, "resolved")
    assert {a.resolved_by for a in resolved} == {OWNER}
    assert review(lab.ws, NAME, now=decision.opened_at + timedelta(days=30)).alerts == []


def test_review_withdraws_a_decision_whose_version_left_shadow(lab: Lab) -> None:
    _, candidate = with_live(lab)
    promote(lab.ws, NAME, candidate)
    lab.force(candidate, "retired")

    report = review(lab.ws, NAME)

    assert len(report.withdrawn) == 1
    assert list_decisions(lab.ws, NAME) == []
    (withdrawn,) = lab.entries("decision.withdrawn")
    assert withdrawn["reason"] == f"version {candidate} is retired"


def test_the_review_command_runs_one_pass(lab: Lab, cli: Any) -> None:
    with_live(lab)
    result = cli("review", NAME, "--json")
    assert result.code == 0, result.stderr
    assert result.json()["summary"] == "nothing to do"


def test_a_delegate_may_revoke_the_pre_authorisation(lab: Lab, cli: Any) -> None:
    lab.charter(approval="auto_if_sufficient")
    _, candidate = with_live(lab)
    authorize(lab.ws, NAME, by=OWNER)

    revoked = cli("authorize", NAME, "--as", DELEGATE, "--revoke", "--note", "audit season")
    result = promote(lab.ws, NAME, candidate)

    assert revoked.code == 0, revoked.stderr
    assert "the owner has not authorised it" in revoked.stdout
    assert result.outcome == "opened"
    (entry,) = lab.entries("promotion.authorization_revoked")
    assert (entry["by"], entry["note"]) == (DELEGATE, "audit season")
    assert cli("authorize", NAME, "--as", OWNER).code == 2  # neither flag: a usage error
