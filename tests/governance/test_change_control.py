"""Change control: every edit of a charter file is recorded with its diff; an edit of the terms
of a charter with a live version waits for the owner, and charter judges by the accepted terms."""

from __future__ import annotations

from typing import Any

import pytest
from tests.lifecycle.test_lifecycle_support import DELEGATE, NAME, OWNER, Lab

from charter.errors import NotAuthorizedError
from charter.governance.changes import accept_change, list_changes, reject_change
from charter.lifecycle.decisions import approve
from charter.store.tables import CharterTerms
from charter.workspace import Workspace

pytestmark = pytest.mark.postgres
MALLORY = "mallory@bank.example"


def edit(lab: Lab, old: str, new: str) -> None:
    path = lab.ws.charters_dir / f"{NAME}.yaml"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def with_live_version(lab: Lab) -> int:
    version = lab.model(status="live")
    lab.ws.load(NAME)  # the terms in force are the file as it is now
    return version


def test_lowering_a_threshold_of_a_live_charter_waits_for_the_owner(lab: Lab) -> None:
    with_live_version(lab)
    edit(lab, "at_least: 0.7", "at_least: 0.6")
    charter = lab.ws.load(NAME).charter
    assert charter.sufficiency.metrics[0].at_least == 0.7  # the accepted terms still judge
    (change,) = list_changes(lab.ws, NAME)
    assert change.status == "pending" and change.requires == "owner_or_delegate"
    assert change.diff == [{"path": "sufficiency.metrics[0].at_least", "old": 0.7, "new": 0.6}]
    (detected,) = lab.entries("charter.change_detected")
    assert detected["diff"] == change.diff and detected["status"] == "pending"

    accepted = accept_change(lab.ws, NAME, None, by=DELEGATE)
    assert accepted.status == "accepted" and accepted.decided_by == DELEGATE
    assert lab.ws.load(NAME).charter.sufficiency.metrics[0].at_least == 0.6
    file_sha = lab.ws.load_file(NAME).sha256
    last = lab.entries("charter.terms_accepted")[-1]
    assert last["sha256"] == file_sha and last["accepted_by"] == DELEGATE
    assert last["how"] == "accepted" and last["change_id"] == change.id
    assert lab.entries("charter.changed")[-1]["sha256"] == file_sha
    assert list_changes(lab.ws, NAME) == []


def test_the_gate_counts_by_the_accepted_terms_until_the_change_is_accepted(
    cli: Any, lab: Lab
) -> None:
    with_live_version(lab)
    candidate = lab.model(status="shadow")
    edit(lab, "shadow_min_batches: 2", "shadow_min_batches: 1")
    shown = cli("readiness", NAME, str(candidate), "--json")
    items = {i["name"]: i for i in shown.json()["items"]}
    assert items["shadow_batches"]["facts"]["required"] == 2
    assert "waiting for the owner or a delegate" in shown.stderr
    assert "operations.promotion.shadow_min_batches: 2 -> 1" in shown.stderr

    listed = cli("changes", NAME, "--json")
    assert listed.code == 0
    (change,) = listed.json()["changes"]
    assert change["diff"] == [
        {"path": "operations.promotion.shadow_min_batches", "old": 2, "new": 1}
    ]
    decided = cli("accept-change", NAME, str(change["id"]), "--as", OWNER, "--json")
    assert decided.code == 0 and decided.json()["status"] == "accepted"
    after = cli("readiness", NAME, str(candidate), "--json")
    items = {i["name"]: i for i in after.json()["items"]}
    assert items["shadow_batches"]["facts"]["required"] == 1
    assert after.stderr == ""


def test_naming_yourself_owner_in_the_file_grants_nothing(cli: Any, lab: Lab) -> None:
    with_live_version(lab)
    candidate = lab.model(status="shadow")
    edit(lab, f"email: {OWNER}", f"email: {MALLORY}")
    assert lab.ws.load(NAME).charter.owner.email == OWNER

    refused = cli("accept-change", NAME, "--as", MALLORY, "--json")
    assert refused.code == 1 and refused.json()["error"]["type"] == "NotAuthorizedError"
    assert (
        "only the current owner dana.ruiz@bank.example decides"
        in refused.json()["error"]["message"]
    )
    with pytest.raises(NotAuthorizedError):
        approve(lab.ws, NAME, candidate, by=MALLORY, accept_risk="mine now")
    with pytest.raises(NotAuthorizedError, match="changes the owner"):
        accept_change(lab.ws, NAME, None, by=DELEGATE)  # a delegate cannot hand over ownership
    refusals = lab.entries("charter.change_refused")
    assert [r["by"] for r in refusals] == [MALLORY, DELEGATE]
    assert lab.ws.load(NAME).charter.owner.email == OWNER

    (change,) = list_changes(lab.ws, NAME)
    assert change.requires == "owner"
    assert {"path": "owner.email", "old": OWNER, "new": MALLORY} in change.diff
    accept_change(lab.ws, NAME, change.id, by=OWNER)  # the outgoing owner hands over
    assert lab.ws.load(NAME).charter.owner.email == MALLORY


def test_a_rejected_change_leaves_the_terms_and_keeps_saying_so(cli: Any, lab: Lab) -> None:
    with_live_version(lab)
    edit(lab, "after_breaches: 2", "after_breaches: 5")
    (change,) = list_changes(lab.ws, NAME)
    done = reject_change(lab.ws, NAME, change.id, by=OWNER, reason="two breaches is the deal")
    assert done.status == "rejected" and done.reason == "two breaches is the deal"
    assert lab.ws.load(NAME).charter.operations.rollback.after_breaches == 2
    (rejected,) = lab.entries("charter.change_rejected")
    assert rejected["change_id"] == change.id and rejected["by"] == OWNER

    later = cli("changes", NAME, "--all", "--json")
    assert [c["status"] for c in later.json()["changes"]] == ["rejected"]  # not detected again
    assert f"change {change.id}" in later.stderr and "was rejected by" in later.stderr
    again = cli("accept-change", NAME, str(change.id), "--as", OWNER)
    assert again.code == 1 and "is rejected, not pending" in again.stderr


def test_editing_again_supersedes_and_reverting_withdraws(lab: Lab) -> None:
    with_live_version(lab)
    edit(lab, "at_least: 0.7", "at_least: 0.6")
    lab.ws.load(NAME)
    edit(lab, "at_least: 0.6", "at_least: 0.65")
    lab.ws.load(NAME)
    first, second = list_changes(lab.ws, NAME, status=None)
    assert (first.status, second.status) == ("superseded", "pending")
    assert second.diff == [{"path": "sufficiency.metrics[0].at_least", "old": 0.7, "new": 0.65}]
    edit(lab, "at_least: 0.65", "at_least: 0.7")
    lab.ws.load(NAME)
    assert [c.status for c in list_changes(lab.ws, NAME, status=None)] == [
        "superseded",
        "withdrawn",
    ]
    assert len(lab.entries("charter.change_withdrawn")) == 1


def test_without_a_live_version_a_change_takes_effect_at_once_and_is_recorded(lab: Lab) -> None:
    lab.ws.load(NAME)
    edit(lab, "at_least: 0.7", "at_least: 0.6")
    assert lab.ws.load(NAME).charter.sufficiency.metrics[0].at_least == 0.6
    (change,) = list_changes(lab.ws, NAME, status=None)
    assert change.status == "applied" and change.governed == ["sufficiency"]
    assert change.diff == [{"path": "sufficiency.metrics[0].at_least", "old": 0.7, "new": 0.6}]
    assert lab.entries("charter.terms_accepted")[-1]["how"] == "no_live_version"


def test_a_change_outside_the_terms_takes_effect_at_once_even_when_live(lab: Lab) -> None:
    with_live_version(lab)
    edit(lab, '"Approve or refer consumer loan applications"', '"Approve or refer loans"')
    assert lab.ws.load(NAME).charter.decision == "Approve or refer loans"
    (change,) = list_changes(lab.ws, NAME, status=None)
    assert change.status == "applied" and change.governed == []
    assert change.diff == [
        {
            "path": "decision",
            "old": "Approve or refer consumer loan applications",
            "new": "Approve or refer loans",
        }
    ]


def test_status_json_lists_pending_changes(cli: Any, lab: Lab) -> None:
    with_live_version(lab)
    assert cli("status", NAME, "--json").json()["pending_changes"] == []
    edit(lab, "min_labels: 20", "min_labels: 5")
    shown = cli("status", NAME, "--json")
    (pending,) = shown.json()["pending_changes"]
    assert pending["diff"] == [{"path": "sufficiency.min_labels", "old": 20, "new": 5}]
    assert "waiting for the owner" in shown.stderr


def test_the_text_is_kept_as_written_with_env_references_unexpanded(
    lab: Lab, ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOOK_URL", "https://hooks.example/secret-token")
    with_live_version(lab)
    edit(lab, "alerts: [{", 'alerts: [{route: webhook, url: "${HOOK_URL}", on: [breach]}, {')
    (change,) = list_changes(ws, NAME)
    assert {"path": "operations.alerts[0].url", "old": None, "new": "${HOOK_URL}"} in change.diff
    accept_change(ws, NAME, change.id, by=OWNER)
    with ws.db.read() as session:
        terms = session.get(CharterTerms, NAME)
        assert terms is not None and "${HOOK_URL}" in terms.content
        assert "secret-token" not in terms.content


def test_who_accepts_is_compared_as_identities_are_everywhere(lab: Lab) -> None:
    with_live_version(lab)
    edit(lab, "at_least: 0.7", "at_least: 0.6")
    lookalike = OWNER.replace("k", "\u212a")  # KELVIN SIGN for k: looks like the owner, is not
    with pytest.raises(NotAuthorizedError, match=r"KELVIN SIGN|look"):
        accept_change(lab.ws, NAME, None, by=lookalike)
    assert lab.ws.load(NAME).charter.sufficiency.metrics[0].at_least == 0.7
    accepted = accept_change(lab.ws, NAME, None, by=OWNER.upper())  # case does not make another
    assert accepted.status == "accepted"
    assert lab.ws.load(NAME).charter.sufficiency.metrics[0].at_least == 0.6
