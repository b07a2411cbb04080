"""Owner decisions: who may decide, accepted shortfalls, bad requests, concurrent approvals.

On SQLite and on the real PostgreSQL server. Refusals must exit non-zero with a clear message,
leave a ``decision.refused`` ledger entry naming who tried, and leave the live version serving.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

from charter.errors import CharterError, DecisionError, NotAuthorizedError
from charter.lifecycle.decisions import (
    approve,
    list_decisions,
    promote,
    reject,
)
from charter.settings import Settings
from charter.workspace import Workspace

from .test_lifecycle_support import DELEGATE, NAME, OWNER, Lab

pytestmark = pytest.mark.postgres

RISK = "Recall on the north segment is unproven (12 labels); we accept it for 4 weeks — D.R."


@pytest.fixture
def lab(ws: Workspace) -> Iterator[Lab]:
    made = Lab(ws)
    made.charter()
    yield made
    assert ws.ledger.verify().ok


def with_live(lab: Lab) -> tuple[int, int]:
    """A live version, and a candidate in shadow that passes the gate."""
    live = lab.model(status="live")
    candidate = lab.model("frame['amount'] / 90", status="shadow")
    lab.ready(candidate)
    return live, candidate


# -- who decides --------------------------------------------------------------------------------
def test_an_approval_by_someone_else_is_refused_recorded_and_changes_nothing(
    lab: Lab, cli: Any
) -> None:
    live, candidate = with_live(lab)
    cli("promote", NAME, str(candidate))

    result = cli("approve", NAME, str(candidate), "--as", "Mallory@Bank.example")

    assert result.code == 1
    assert "mallory@bank.example may not approve for credit-default" in result.stderr
    assert f"only the owner {OWNER} or a delegate named in the charter ({DELEGATE})" in (
        result.stderr
    )
    assert lab.statuses() == {live: "live", candidate: "shadow"}
    (refused,) = lab.entries("decision.refused")
    assert (refused["by"], refused["action"], refused["version"]) == (
        "mallory@bank.example",
        "approve",
        candidate,
    )
    assert "may not approve" in refused["refused"]
    assert [d.status for d in list_decisions(lab.ws, NAME)] == ["open"]


def test_a_rejection_by_someone_else_is_refused_too(lab: Lab) -> None:
    _, candidate = with_live(lab)
    promote(lab.ws, NAME, candidate)
    with pytest.raises(NotAuthorizedError):
        reject(lab.ws, NAME, candidate, by="intern@bank.example", reason="looks wrong")
    assert lab.entries("decision.refused")[0]["action"] == "reject"


def test_a_delegate_named_in_the_charter_may_approve(lab: Lab, cli: Any) -> None:
    live, candidate = with_live(lab)
    cli("promote", NAME, str(candidate))

    result = cli("approve", NAME, str(candidate), "--as", DELEGATE, "--json")

    assert result.code == 0, result.stderr
    body = result.json()
    assert (body["status"], body["decided_by"], body["automatic"]) == (
        "approved",
        DELEGATE,
        False,
    )
    assert lab.statuses() == {live: "standby", candidate: "live"}
    (approved,) = lab.entries("decision.approved")
    assert (approved["by"], approved["shortfall"], approved["accepted_risk"]) == (
        DELEGATE,
        [],
        None,
    )


# -- shortfalls ---------------------------------------------------------------------------------
def test_approving_a_version_short_of_the_gate_needs_the_accepted_risk(lab: Lab, cli: Any) -> None:
    live = lab.model(status="live")
    candidate = lab.model("frame['amount'] / 90", status="shadow")
    lab.batch()  # one shadow batch of two; no window, routes never tested

    refused = cli("approve", NAME, str(candidate), "--as", OWNER)

    assert refused.code == 1
    assert "falls short of the gate on:\n  shadow_batches: 1 of 2" in refused.stderr
    assert '--accept-risk "…"' in refused.stderr
    assert lab.live() == [live]
    assert lab.entries("decision.refused")[0]["by"] == OWNER

    result = cli("approve", NAME, str(candidate), "--as", OWNER, "--accept-risk", RISK, "--json")

    assert result.code == 0, result.stderr
    assert result.json()["accepted_risk"] == RISK
    assert lab.live() == [candidate]
    (approved,) = lab.entries("decision.approved")
    assert approved["accepted_risk"] == RISK  # verbatim, dash and all
    assert [s["name"] for s in approved["shortfall"]] == [
        "shadow_batches",
        "sufficiency",
        "champion_challenger",  # no window of either version to compare them on
        "monitoring",
        "alert_route",
    ]
    assert approved["readiness"]["ready"] is False


def test_a_blank_accepted_risk_is_no_acceptance(lab: Lab) -> None:
    _, candidate = lab.model(status="live"), lab.model("frame['amount'] / 90", status="shadow")
    with pytest.raises(DecisionError, match="falls short of the gate"):
        approve(lab.ws, NAME, candidate, by=OWNER, accept_risk="   ")


# -- bad requests -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("unknown", "has no version 9"),
        ("live", "cannot be promoted: it is already live"),
        ("retired", "cannot be promoted: it is retired"),
    ],
)
def test_approving_an_unknown_live_or_retired_version_is_refused(
    lab: Lab, cli: Any, target: str, message: str
) -> None:
    live, _ = with_live(lab)
    old = lab.model("frame['amount'] / 70", status="retired")
    version = {"unknown": 9, "live": live, "retired": old}[target]

    result = cli("approve", NAME, str(version), "--as", OWNER, "--accept-risk", "fine")

    assert result.code == 1
    assert message in result.stderr
    assert lab.live() == [live]
    (refused,) = lab.entries("decision.refused")
    assert (refused["version"], refused["by"]) == (version, OWNER)


def test_a_rejection_closes_the_decision_and_keeps_the_version_in_shadow(
    lab: Lab, cli: Any
) -> None:
    live, candidate = with_live(lab)
    cli("promote", NAME, str(candidate))

    result = cli("reject", NAME, str(candidate), "--as", OWNER, "--reason", "Wait for Q3 data")

    assert result.code == 0, result.stderr
    assert lab.statuses() == {live: "live", candidate: "shadow"}
    (rejected,) = lab.entries("decision.rejected")
    assert (rejected["by"], rejected["reason"]) == (OWNER, "Wait for Q3 data")
    again = cli("reject", NAME, str(candidate), "--as", OWNER, "--reason", "again")
    assert again.code == 1
    assert "has no open decision to reject" in again.stderr


def test_promote_opens_one_decision_with_its_evidence(lab: Lab, cli: Any) -> None:
    _, candidate = with_live(lab)

    first = cli("promote", NAME, str(candidate), "--json").json()
    second = cli("promote", NAME, str(candidate), "--json").json()

    assert (first["outcome"], second["outcome"]) == ("opened", "already_open")
    assert first["decision"]["id"] == second["decision"]["id"]
    assert first["readiness"]["ready"] is True
    (opened,) = lab.entries("decision.opened")
    assert opened["readiness"]["items"][0]["name"] == "owner"


def test_a_first_version_waiver_is_explicit_and_recorded(lab: Lab, cli: Any) -> None:
    pilot = lab.model()
    lab.ready(pilot)
    short = cli("approve", NAME, str(pilot), "--as", OWNER)
    assert short.code == 1
    assert "rollback_target" in short.stderr

    waiver = "First model: the manual referral process stays ready as the fallback"
    result = cli("approve", NAME, str(pilot), "--as", OWNER, "--first-version-waiver", waiver)

    assert result.code == 0, result.stderr
    assert lab.live() == [pilot]
    (approved,) = lab.entries("decision.approved")
    assert approved["waiver"] == waiver
    assert approved["shortfall"] == []


def test_concurrent_approvals_leave_exactly_one_live_version(lab: Lab) -> None:
    lab.model(status="live")
    candidates = [lab.model(f"frame['amount'] / {d}", status="shadow") for d in (90, 80)]
    errors: list[BaseException] = []

    def decide(version: int) -> None:
        own = Workspace(lab.ws.root, settings=Settings())
        try:
            approve(own, NAME, version, by=OWNER, accept_risk="race test")
        except CharterError as exc:  # the loser may find its version no longer decidable
            errors.append(exc)
        finally:
            own.close()

    threads = [threading.Thread(target=decide, args=(v,)) for v in candidates]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert not errors
    statuses = lab.statuses()
    assert sorted(statuses.values()) == ["live", "retired", "standby"]
    assert len(lab.entries("decision.approved")) == 2
