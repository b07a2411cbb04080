"""Shadow, live and standby, and rollback by hand: on SQLite and on the real PostgreSQL server."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from charter.errors import LifecycleError, NoRollbackTargetError, VersionNotFoundError
from charter.lifecycle.decisions import approve
from charter.lifecycle.transitions import rollback, shadow
from charter.workspace import Workspace

from .test_lifecycle_support import NAME, OWNER, Lab

pytestmark = pytest.mark.postgres


@pytest.fixture
def lab(ws: Workspace) -> Iterator[Lab]:
    made = Lab(ws)
    made.charter()
    yield made
    assert ws.ledger.verify().ok


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


# -- shadow -----------------------------------------------------------------------------------
def test_a_registered_version_put_in_shadow_is_scored_beside_the_live_one(lab: Lab) -> None:
    lab.model(status="live")
    candidate = lab.model("frame['amount'] / 200")
    assert lab.statuses()[candidate] == "registered"

    info = shadow(lab.ws, NAME, candidate)
    lab.batch()

    assert info.status == "shadow"
    (changed,) = [e for e in lab.entries("version.status_changed") if e["version"] == candidate]
    assert (changed["from"], changed["to"]) == ("registered", "shadow")
    scored = lab.entries("batch.ingested")[-1]["scored_by"]
    assert {"version": str(candidate), "status": "shadow"} in scored


def test_shadow_is_refused_for_a_live_or_shadow_version_and_the_refusal_recorded(
    lab: Lab, cli: Any
) -> None:
    live = lab.model(status="live")
    pilot = lab.model(status="shadow")

    for version, why in ((live, "is live"), (pilot, "already in shadow")):
        result = cli("shadow", NAME, str(version))
        assert result.code == 1
        assert why in result.stderr
    assert [e["version"] for e in lab.entries("shadow.refused")] == [live, pilot]
    assert lab.statuses() == {live: "live", pilot: "shadow"}


def test_shadow_of_an_unknown_version_is_refused(lab: Lab) -> None:
    lab.model()
    with pytest.raises(VersionNotFoundError, match="no version 7"):
        shadow(lab.ws, NAME, 7)
    assert lab.entries("shadow.refused")[0]["version"] == 7


def test_the_cli_puts_a_version_in_shadow(lab: Lab, cli: Any) -> None:
    lab.model(status="live")
    candidate = lab.model()
    result = cli("shadow", NAME, str(candidate), "--json")
    assert result.code == 0, result.stderr
    assert result.json()["status"] == "shadow"


# -- live and standby ---------------------------------------------------------------------------
def test_approval_makes_the_version_live_the_old_live_standby_and_the_old_standby_retired(
    lab: Lab,
) -> None:
    first, second = live_with_standby(lab)
    assert lab.statuses() == {first: "standby", second: "live"}

    third = lab.model("frame['amount'] / 80", status="shadow")
    lab.window(third, 0, "pass")
    lab.batch()
    lab.batch()
    approve(lab.ws, NAME, third, by=OWNER)

    assert lab.statuses() == {first: "retired", second: "standby", third: "live"}
    approved = lab.entries("decision.approved")[-1]
    assert (approved["previous_live"], approved["retired"]) == (second, [first])


def test_the_standby_keeps_being_scored_so_a_rollback_has_evidence(lab: Lab) -> None:
    first, second = live_with_standby(lab)
    lab.batch()
    scored = lab.entries("batch.ingested")[-1]["scored_by"]
    assert {"version": str(first), "status": "standby"} in scored
    assert {"version": str(second), "status": "live"} in scored


# -- rollback -----------------------------------------------------------------------------------
def test_rollback_restores_the_standby_at_once(lab: Lab, cli: Any) -> None:
    first, second = live_with_standby(lab)

    result = cli("rollback", NAME, "--reason", "complaints from branches", "--json")

    assert result.code == 0, result.stderr
    assert result.json() | {"evidence": []} == {
        "charter": NAME,
        "rolled_back": second,
        "restored": first,
        "automatic": False,
        "reason": "complaints from branches",
        "evidence": [],
        "for_cause": True,  # a reason given: the version goes live again only by a decision
    }
    assert lab.statuses() == {first: "live", second: "rolled_back"}
    (entry,) = lab.entries("version.rolled_back")
    assert entry["reason"] == "complaints from branches"
    assert entry["_actor"] == "tester@example.com"


def test_rollback_to_a_named_version_that_was_live_before(lab: Lab) -> None:
    first, second = live_with_standby(lab)
    third = lab.model("frame['amount'] / 80", status="shadow")
    lab.window(third, 0, "pass")
    lab.batch()
    lab.batch()
    approve(lab.ws, NAME, third, by=OWNER)  # first is retired now, second the standby

    result = rollback(lab.ws, NAME, to=first, reason="back to the audited model")

    assert (result.rolled_back, result.restored) == (third, first)
    assert lab.statuses() == {first: "live", second: "standby", third: "rolled_back"}


def test_rollback_to_a_version_that_was_never_live_is_refused(lab: Lab, cli: Any) -> None:
    _, second = live_with_standby(lab)
    never = lab.model("frame['amount'] / 70", status="shadow")

    result = cli("rollback", NAME, "--to", str(never))

    assert result.code == 1
    assert "was never live" in result.stderr
    assert lab.statuses()[second] == "live"
    assert lab.entries("rollback.refused")[0]["to"] == never


def test_rollback_with_no_standby_is_refused_and_recorded(lab: Lab, cli: Any) -> None:
    only = lab.model()
    lab.ready(only)
    approve(lab.ws, NAME, only, by=OWNER, waiver="the first model")

    result = cli("rollback", NAME)

    assert result.code == 1
    assert "no standby version to roll back to" in result.stderr
    assert "--to VERSION" in result.stderr
    assert lab.live() == [only]
    (refused,) = lab.entries("rollback.refused")
    assert "no standby" in refused["refused"]
    with pytest.raises(NoRollbackTargetError):
        rollback(lab.ws, NAME)


def test_rollback_with_nothing_live_is_refused(lab: Lab) -> None:
    lab.model()
    with pytest.raises(NoRollbackTargetError, match="no live version"):
        rollback(lab.ws, NAME)


def test_rollback_to_the_live_version_itself_is_refused(lab: Lab) -> None:
    _, second = live_with_standby(lab)
    with pytest.raises(LifecycleError, match="is the live version"):
        rollback(lab.ws, NAME, to=second)
    assert lab.live() == [second]
