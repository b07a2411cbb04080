"""``--as-of`` on ``versions``, ``decisions`` and ``status`` (issue 15, point 6): what was true then,
rebuilt from the ledger, checked against what the same commands printed at that moment.

On SQLite and on the real PostgreSQL server. A moment is the ``signed_at`` of the ledger's last
checkpoint after a step: exactly what the store had committed then.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from tests.lifecycle.test_lifecycle_support import NAME, OWNER, Lab

from charter.store.tables import AuditCheckpoint
from charter.workspace import Workspace

pytestmark = pytest.mark.postgres

RISK = "one week of shadow evidence; the referral desk is the fallback — D.R."
# keys a row keeps from then to now (times are the ledger's, a few microseconds from the row's)
VERSION_KEYS = ("charter", "version", "sha256", "flavor", "status", "artifact_uri", "created_by")
DECISION_KEYS = (
    "id",
    "version",
    "status",
    "opened_by",
    "decided_by",
    "accepted_risk",
    "automatic",
    "waiver",
    "reason",
    "readiness",
)


def signed_now(ws: Workspace) -> str:
    with ws.ledger.snapshot() as session:
        at = session.scalar(sa.select(sa.func.max(AuditCheckpoint.signed_at)))
    assert at is not None
    return str(at)


def json_of(cli: Any, *args: str) -> Any:
    result = cli(*args, "--json")
    assert result.code == 0, result.stderr
    return result.json()


def seen(cli: Any) -> dict[str, Any]:
    """What ``versions`` and ``decisions --all`` print now."""
    return {
        "versions": json_of(cli, "versions", NAME),
        "decisions": json_of(cli, "decisions", NAME, "--all"),
    }


def keep(rows: list[dict[str, Any]], keys: tuple[str, ...]) -> list[dict[str, Any]]:
    return [{k: r[k] for k in keys} for r in rows]


def test_as_of_between_steps_shows_what_the_commands_printed_then(
    lab: Lab, cli: Any, ws: Workspace
) -> None:
    live = lab.model(status="live")
    candidate = lab.model("frame['amount'] / 90", status="shadow")
    lab.ready(candidate)
    moments, printed = [], []
    moments.append(signed_now(ws))
    printed.append(seen(cli))
    assert cli("promote", NAME, str(candidate)).code == 0
    moments.append(signed_now(ws))
    printed.append(seen(cli))
    approved = cli("approve", NAME, str(candidate), "--as", OWNER, "--accept-risk", RISK)
    assert approved.code == 0, approved.stderr
    moments.append(signed_now(ws))
    printed.append(seen(cli))
    rolled = cli("rollback", NAME, "--reason", "recall fell on the north segment")
    assert rolled.code == 0, rolled.stderr
    moments.append(signed_now(ws))
    printed.append(seen(cli))

    for moment, then in zip(moments, printed, strict=True):
        versions = json_of(cli, "versions", NAME, "--as-of", moment)
        assert keep(versions, VERSION_KEYS) == keep(then["versions"], VERSION_KEYS), moment
        assert {v["as_of"] for v in versions} == {datetime.fromisoformat(moment).isoformat()}
        for past, printed_then in zip(versions, then["versions"], strict=True):
            assert set(past) == set(printed_then) | {"as_of"}
        decisions = json_of(cli, "decisions", NAME, "--all", "--as-of", moment)
        assert keep(decisions, DECISION_KEYS) == keep(then["decisions"], DECISION_KEYS), moment
        status = json_of(cli, "status", NAME, "--as-of", moment)
        live_then = [v["version"] for v in then["versions"] if v["status"] == "live"]
        assert [status["point_in_time"]["live_version"]] == live_then
        assert status["point_in_time"]["owner"] == f"Dana Ruiz <{OWNER}>"

    # the story as the four moments tell it
    statuses = [
        {v["version"]: v["status"] for v in json_of(cli, "versions", NAME, "--as-of", m)}
        for m in moments
    ]
    assert statuses == [
        {live: "live", candidate: "shadow"},
        {live: "live", candidate: "shadow"},
        {live: "standby", candidate: "live"},
        {live: "live", candidate: "rolled_back"},
    ]
    opened = json_of(cli, "decisions", NAME, "--as-of", moments[1])
    assert [(d["version"], d["status"]) for d in opened] == [(candidate, "open")]
    assert json_of(cli, "decisions", NAME, "--as-of", moments[2]) == []  # none open then


def test_a_moment_before_a_version_was_registered_leaves_it_out(
    lab: Lab, cli: Any, ws: Workspace
) -> None:
    first = lab.model(status="live")
    moment = signed_now(ws)
    lab.model("frame['amount'] / 90")

    versions = json_of(cli, "versions", NAME, "--as-of", moment)

    assert [v["version"] for v in versions] == [first]
    assert len(json_of(cli, "versions", NAME)) == 2
    human = cli("versions", NAME, "--as-of", moment)
    assert human.code == 0
    assert "rebuilt from the ledger" in human.stdout and f"v{first}" in human.stdout


def test_status_as_of_says_what_it_rebuilt_and_what_it_cannot(
    lab: Lab, cli: Any, ws: Workspace
) -> None:
    lab.model(status="live")
    moment = signed_now(ws)
    assert cli("suspend", NAME, "--as", OWNER, "--reason", "fraud pattern under review").code == 0

    whole = json_of(cli, "status", NAME, "--as-of", moment)
    assert set(whole) == set(json_of(cli, "status", NAME)) | {"as_of", "point_in_time"}
    before = whole["point_in_time"]
    after = json_of(cli, "status", NAME, "--as-of", signed_now(ws))["point_in_time"]

    assert (before["suspended"], after["suspended"]) == (False, True)
    assert after["suspended_by"] == OWNER
    assert after["suspension_reason"] == "fraud pattern under review"
    assert before["reconstructed_from"]["live_version"] == [
        "version.registered",
        "version.status_changed",
    ]
    assert any("window evidence" in item for item in before["not_reconstructed"])
    human = cli("status", NAME, "--as-of", moment)
    assert human.code == 0, human.stderr
    assert "rebuilt from the ledger up to entry" in human.stdout
    assert "not reconstructed:" in human.stdout
    assert "live: version 1" in human.stdout
    mixed = cli("status", NAME, "--as-of", moment, "--last", "3")
    assert mixed.code == 2 and "--window and --last choose stored windows" in mixed.stderr


@pytest.mark.parametrize("command", [("versions",), ("decisions",), ("status",)])
def test_a_moment_the_ledger_cannot_answer_for_is_refused_naming_the_flag(
    lab: Lab, cli: Any, command: tuple[str, ...]
) -> None:
    lab.model(status="live")
    future = (datetime.now(UTC) + timedelta(days=1)).isoformat()

    for moment, says in [
        ("2001-01-01", "before the ledger's first entry"),
        (future, "is in the future"),
    ]:
        result = cli(*command, NAME, "--as-of", moment)
        assert result.code == 1, result.stdout
        assert "--as-of" in result.stderr and says in result.stderr

    bad = cli(*command, NAME, "--as-of", "last tuesday")
    assert bad.code == 2
    assert "--as-of" in bad.stderr and "is not a date or time" in bad.stderr
