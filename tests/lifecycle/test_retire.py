"""``charter retire NAME VERSION --as EMAIL``: a shadow or standby version leaves scoring."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from charter.errors import LifecycleError, NotAuthorizedError
from charter.lifecycle.transitions import retire
from charter.plumbing.ingest import ingest
from charter.workspace import Workspace

from .test_lifecycle_support import DELEGATE, NAME, OWNER, STEWARD, Lab

pytestmark = pytest.mark.postgres


@pytest.fixture
def lab(ws: Workspace) -> Iterator[Lab]:
    made = Lab(ws)
    made.charter()
    yield made
    assert ws.ledger.verify().ok


def test_the_owner_retires_a_shadow_and_it_is_no_longer_scored(lab: Lab) -> None:
    live = lab.model(status="live")
    shadow = lab.model("frame['amount'] / 50", status="shadow")

    info = retire(lab.ws, NAME, shadow, by=OWNER, reason="reads a column we dropped")

    assert info.status == "retired"
    assert lab.statuses() == {live: "live", shadow: "retired"}
    (entry,) = lab.entries("version.retired")
    assert (entry["version"], entry["from"], entry["by"]) == (shadow, "shadow", OWNER)
    assert entry["reason"] == "reads a column we dropped"
    lab.batch()
    report = ingest(lab.ws, NAME)
    assert report.scored_by == [{"version": str(live), "status": "live"}]


def test_a_steward_retires_the_standby_from_the_cli(lab: Lab, cli: Any) -> None:
    standby = lab.model(status="live")
    live = lab.model("frame['amount'] / 50", status="shadow")
    lab.force(standby, "standby")
    lab.force(live, "live")

    result = cli("retire", NAME, str(standby), "--as", STEWARD, "--json")

    assert result.code == 0, result.stderr
    assert result.json()["status"] == "retired"
    assert lab.statuses() == {standby: "retired", live: "live"}
    human = cli("retire", NAME, str(standby), "--as", DELEGATE)
    assert human.code == 1 and "is retired; only a shadow or standby" in human.stderr


def test_the_live_version_is_refused_with_what_to_do_instead(lab: Lab, cli: Any) -> None:
    live = lab.model(status="live")

    result = cli("retire", NAME, str(live), "--as", OWNER)

    assert result.code == 1
    assert f"version {live} is the live version and cannot be retired" in result.stderr
    assert "charter rollback" in result.stderr
    assert lab.statuses() == {live: "live"}
    (refused,) = lab.entries("retire.refused")
    assert "live version" in refused["refused"]
    with pytest.raises(LifecycleError):
        retire(lab.ws, NAME, live, by=OWNER)


def test_someone_not_named_in_the_charter_may_not_retire(lab: Lab) -> None:
    lab.model(status="live")
    shadow = lab.model("frame['amount'] / 50", status="shadow")

    with pytest.raises(NotAuthorizedError, match="may not retire"):
        retire(lab.ws, NAME, shadow, by="intruder@example.com")

    assert lab.statuses()[shadow] == "shadow"
    (refused,) = lab.entries("retire.refused")
    assert refused["by"] == "intruder@example.com"
