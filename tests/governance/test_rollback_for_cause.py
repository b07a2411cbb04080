"""A version rolled back for cause (automatically, or by hand with a reason) goes live again only
by a new owner decision: ``rollback --to`` refuses it and says what to do instead."""

from __future__ import annotations

from typing import Any

import pytest
from tests.lifecycle.test_lifecycle_support import NAME, OWNER, Lab

from charter.errors import LifecycleError
from charter.lifecycle.authorization import authorize
from charter.lifecycle.decisions import approve, auto_promote, promote
from charter.lifecycle.gate import readiness
from charter.lifecycle.transitions import automatic_rollback, rollback, shadow

pytestmark = pytest.mark.postgres


def live_with_standby(lab: Lab) -> tuple[int, int]:
    """Version 1 approved first (with a waiver), then version 2 approved over it."""
    first = lab.model()
    lab.ready(first)
    approve(lab.ws, NAME, first, by=OWNER, waiver="first model; the manual process is the fallback")
    second = lab.model("frame['amount'] / 90", status="shadow")
    lab.window(second, 0, "pass")
    lab.batch()
    lab.batch()
    approve(lab.ws, NAME, second, by=OWNER)
    return first, second


def test_rollback_to_a_version_rolled_back_with_a_reason_is_refused(lab: Lab, cli: Any) -> None:
    first, second = live_with_standby(lab)
    done = cli("rollback", NAME, "--reason", "approvals doubled overnight", "--json")
    assert done.code == 0 and done.json()["for_cause"] is True
    assert lab.statuses() == {first: "live", second: "rolled_back"}

    refused = cli("rollback", NAME, "--to", str(second))

    assert refused.code == 1
    assert f"version {second} was rolled back for cause by tester@example.com" in refused.stderr
    assert "approvals doubled overnight" in refused.stderr
    assert f"charter promote {NAME} {second}" in refused.stderr
    assert f"charter approve {NAME} {second} --as EMAIL" in refused.stderr
    assert lab.statuses() == {first: "live", second: "rolled_back"}
    (entry,) = lab.entries("rollback.refused")
    assert entry["to"] == second and "rolled back for cause" in entry["refused"]


def test_rollback_to_a_version_rolled_back_by_hand_without_a_reason_is_allowed(lab: Lab) -> None:
    first, second = live_with_standby(lab)
    assert rollback(lab.ws, NAME).for_cause is False

    back = rollback(lab.ws, NAME, to=second)

    assert (back.rolled_back, back.restored) == (first, second)
    assert lab.statuses() == {first: "rolled_back", second: "live"}


def test_an_automatic_rollback_is_for_cause_until_the_owner_decides_again(lab: Lab) -> None:
    first, second = live_with_standby(lab)
    for week in (1, 2):
        lab.window(second, week, "breach")
        lab.window(first, week, "pass")
    result = automatic_rollback(lab.ws, NAME)
    assert result is not None and result.automatic and result.for_cause
    with pytest.raises(LifecycleError, match="rolled back for cause automatically"):
        rollback(lab.ws, NAME, to=second)

    shadow(lab.ws, NAME, second)  # the way back: a new decision, with fresh evidence
    lab.window(second, 3, "pass")
    lab.window(first, 3, "pass")
    lab.batch()
    lab.batch()
    assert promote(lab.ws, NAME, second).outcome == "opened"
    # the gate remembers the breached weeks: the owner accepts that in words
    approve(lab.ws, NAME, second, by=OWNER, accept_risk="the feature pipeline was fixed")
    assert lab.statuses() == {first: "standby", second: "live"}
    rollback(lab.ws, NAME)  # by hand, no reason: 1 live again, 2 restorable
    assert rollback(lab.ws, NAME, to=second).restored == second


def test_the_pre_authorisation_does_not_cover_a_version_rolled_back_for_cause(lab: Lab) -> None:
    lab.charter(approval="auto_if_sufficient")
    first, second = live_with_standby(lab)
    rollback(lab.ws, NAME, reason="complaints from branches")
    authorize(lab.ws, NAME, by=OWNER)
    shadow(lab.ws, NAME, second)
    lab.window(second, 1, "pass")
    lab.window(first, 1, "pass")
    lab.batch()
    lab.batch()

    found = readiness(lab.ws, NAME, second)

    assert found.ready, found.shortfall
    assert found.approval.mode == "owner"
    assert "rolled back for cause" in found.approval.explanation
    assert auto_promote(lab.ws, NAME) is None
    assert lab.statuses()[second] == "shadow"
