"""The promotion gate's checklist and its evidence: on SQLite and the real PostgreSQL server."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from charter.errors import CharterError
from charter.lifecycle.decisions import promote
from charter.lifecycle.gate import ITEMS, Waiver, readiness
from charter.workspace import Workspace

from .test_lifecycle_support import NAME, OWNER, Lab

pytestmark = pytest.mark.postgres


@pytest.fixture
def lab(ws: Workspace) -> Iterator[Lab]:
    made = Lab(ws)
    made.charter()
    yield made
    assert ws.ledger.verify().ok


def items(lab: Lab, version: int | None = None, **kwargs: Any) -> dict[str, tuple[bool, str]]:
    found = readiness(lab.ws, NAME, version, **kwargs)
    return {i.name: (i.ok, i.evidence) for i in found.items}


def test_readiness_json_has_the_documented_shape(lab: Lab, cli: Any) -> None:
    pilot = lab.model()

    result = cli("readiness", NAME, str(pilot), "--json")

    assert result.code == 0, result.stderr
    body = result.json()
    assert body["ready"] is False
    assert [i["name"] for i in body["items"]] == list(ITEMS)
    for item in body["items"]:
        assert {"name", "ok", "evidence"} <= set(item)
        assert isinstance(item["ok"], bool) and isinstance(item["evidence"], str)
    assert body["approval"]["mode"] == "owner"


def test_a_fresh_pilot_falls_short_on_everything_but_its_owner(lab: Lab) -> None:
    pilot = lab.model()  # the first version starts in shadow

    found = items(lab)  # no VERSION: the newest version in shadow

    assert found["owner"] == (
        True,
        f"owner Dana Ruiz <{OWNER}>, Head of Retail Credit; delegates: sam.lee@bank.example",
    )
    assert found["shadow_batches"] == (False, "0 of 2 required live batches scored in shadow")
    assert found["sufficiency"][0] is False
    assert "no window with enough evidence yet" in found["sufficiency"][1]
    assert found["monitoring"][0] is False
    assert f"charter monitor {NAME}" in found["monitoring"][1]
    assert found["alert_route"] == (
        False,
        f"1 route(s) (log), never test-fired successfully; run `charter alerts test {NAME}`",
    )
    assert found["rollback_target"][0] is False
    assert "--first-version-waiver" in found["rollback_target"][1]
    assert readiness(lab.ws, NAME).version == pilot


def test_a_pilot_with_its_evidence_and_a_waiver_is_ready(lab: Lab) -> None:
    pilot = lab.model()
    lab.ready(pilot, weeks=2)

    found = readiness(lab.ws, NAME, pilot, waiver=Waiver("first model", OWNER))

    assert found.ready, found.shortfall
    evidence = {i.name: i.evidence for i in found.items}
    assert evidence["shadow_batches"] == "2 of 2 required live batches scored in shadow"
    assert evidence["sufficiency"].startswith("pass on window 2024-03-07 00:00 to 2024-03-14")
    assert "2 window(s) evaluated" in evidence["monitoring"]
    assert "last successful test fire" in evidence["alert_route"]
    assert evidence["rollback_target"] == (
        f"no version to fall back to; first-version waiver by {OWNER}: 'first model'"
    )


def test_batches_count_only_while_the_version_was_in_shadow(lab: Lab) -> None:
    live = lab.model(status="live")
    lab.batch()  # scored by the live version only
    candidate = lab.model("frame['amount'] / 50", status="shadow")
    lab.batch()

    found = readiness(lab.ws, NAME, candidate)

    shadow = {i.name: i for i in found.items}["shadow_batches"]
    assert shadow.facts == {"batches": 1, "required": 2, "unscored_batches": 0}
    assert {i.name: i.ok for i in found.items}["rollback_target"]
    assert (
        f"version {live} is live and becomes the standby"
        in {i.name: i.evidence for i in found.items}["rollback_target"]
    )


def test_the_sufficiency_shortfall_names_the_rule_and_ignores_windows_awaiting_labels(
    lab: Lab,
) -> None:
    pilot = lab.model()
    lab.window(pilot, 0, "pass")
    lab.window(pilot, 1, "breach", auc=0.612)
    lab.window(pilot, 2, "insufficient_evidence")  # labels not in yet: not a verdict

    ok, evidence = items(lab, pilot)["sufficiency"]

    assert not ok
    assert evidence == (
        "breach on window 2024-03-07 00:00 to 2024-03-14 00:00 UTC: "
        "roc_auc = 0.612 (breach; needs at least 0.7)"
    )


def test_a_recorded_waiver_counts_and_a_waiver_is_refused_when_a_version_is_live(
    lab: Lab,
) -> None:
    pilot = lab.model()
    promote(lab.ws, NAME, pilot, waiver="the manual process remains the fallback")

    ok, evidence = items(lab, pilot)["rollback_target"]
    assert ok
    assert "the manual process remains the fallback" in evidence

    lab.force(pilot, "live")
    other = lab.model("frame['amount'] / 50", status="shadow")
    with pytest.raises(CharterError, match="not a first version"):
        promote(lab.ws, NAME, other, waiver="no need")


def test_readiness_without_a_version_in_shadow_says_what_to_do(lab: Lab, cli: Any) -> None:
    lab.model(status="live")

    result = cli("readiness", NAME)

    assert result.code == 1
    assert "has no version in shadow to judge (1 live)" in result.stderr
    assert f"charter readiness {NAME} VERSION" in result.stderr


def test_readiness_prints_a_checklist_for_people(lab: Lab, cli: Any) -> None:
    lab.model()
    lab.window(1, 0, "breach", segment="[bold] == 'x'")  # evidence is printed, never as markup

    result = cli("readiness", NAME, "1")

    assert result.code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert (
        lines[0] == f"{NAME} version 1 (shadow): NOT READY (4 of 7 short)"
    )  # champion_challenger holds: none live
    assert lines[1].startswith("  ✓ owner")
    assert any(line.startswith("  ✗ sufficiency      breach on window") for line in lines)
    assert "roc_auc [[bold] == 'x'] = 0.55" in result.stdout
    assert lines[-1].startswith("approval: owner:")
