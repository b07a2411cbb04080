"""Human oversight: ``charter suspend`` stops the model deciding (scoring and logging go on),
``charter resume`` lets it decide again; both are in the ledger, both shown by ``status``."""

from __future__ import annotations

from typing import Any

import polars as pl
import pytest
import sqlalchemy as sa
from sqlalchemy.orm import make_transient
from tests.lifecycle.test_lifecycle_support import DELEGATE, NAME, OWNER, STEWARD, Lab

from charter.errors import StateTamperedError
from charter.plumbing.predictions import read_predictions
from charter.services.oversight import resume, suspend, suspension
from charter.store.tables import CharterSuspension

pytestmark = pytest.mark.postgres
REASON = "approvals doubled overnight"


def live_and_shadow(lab: Lab) -> tuple[int, int]:
    live = lab.model(status="live")
    shadow = lab.model("frame['amount'] / 90", status="shadow")
    return live, shadow


def acted_on(lab: Lab) -> dict[tuple[str, str], list[bool | None]]:
    """Per batch and version, the acted_on values logged."""
    frame = read_predictions(lab.ws, NAME).collect().sort("prediction_id")
    out: dict[tuple[str, str], list[bool | None]] = {}
    for batch, version, value in frame.select("batch_id", "model_version", "acted_on").rows():
        out.setdefault((batch, version), []).append(value)
    return out


def batch_ids(lab: Lab) -> list[str]:
    frame = read_predictions(lab.ws, NAME).collect()
    ingested = frame.group_by("batch_id").agg(pl.col("ingested_at").min()).sort("ingested_at")
    return ingested.get_column("batch_id").to_list()


def test_suspend_by_a_steward_logs_the_live_version_as_not_acted_on_until_resumed(
    lab: Lab, cli: Any
) -> None:
    live, shadow = live_and_shadow(lab)
    lab.batch()

    stopped = cli("suspend", NAME, "--as", STEWARD, "--reason", REASON)
    assert stopped.code == 0, stopped.stderr
    assert f"SUSPENDED: {NAME} is not deciding" in stopped.stdout
    assert "fallback: refer every application to an underwriter" in stopped.stdout
    lab.batch()
    back = cli("resume", NAME, "--as", OWNER, "--note", "pipeline fixed", "--json")
    assert back.code == 0, back.stderr
    lab.batch()

    first, during, after = batch_ids(lab)
    logged = acted_on(lab)
    assert logged[(first, str(live))] == [True] * 10
    assert logged[(during, str(live))] == [False] * 10  # scored and logged, not acted on
    assert logged[(after, str(live))] == [True] * 10
    for batch in (first, during, after):
        assert logged[(batch, str(shadow))] == [False] * 10
    (ingested,) = [e for e in lab.entries("batch.ingested") if e["batch_id"] == during]
    assert ingested["acted_on"] is False and ingested["suspension_id"] == back.json()["id"]
    body = back.json()
    assert body["suspended"] is False and body["suspended_by"] == STEWARD
    assert body["resumed_by"] == OWNER and body["resume_note"] == "pipeline fixed"
    (held,) = lab.entries("charter.suspended")
    (lifted,) = lab.entries("charter.resumed")
    assert (
        held["by"] == STEWARD
        and held["reason"] == REASON
        and held["_actor"] == "tester@example.com"
    )
    assert lifted["by"] == OWNER and lifted["suspension_id"] == held["suspension_id"]


def test_status_shows_the_suspension_in_words_and_json(lab: Lab, cli: Any) -> None:
    lab.model(status="live")
    assert cli("status", NAME, "--json").json()["suspended"] is None

    suspend(lab.ws, NAME, by=DELEGATE, reason=REASON)
    human = cli("status", NAME)
    body = cli("status", NAME, "--json").json()

    assert human.code == 0
    assert f"SUSPENDED: {NAME} is not deciding since" in human.stdout
    assert f"(by {DELEGATE}: {REASON})" in human.stdout
    assert body["suspended"]["suspended"] is True
    assert body["suspended"]["suspended_by"] == DELEGATE
    assert body["suspended"]["reason"] == REASON
    assert body["suspended"]["fallback"] == {
        "description": "refer every application to an underwriter",
        "decision": "refer",
    }
    resume(lab.ws, NAME, by=OWNER)
    assert cli("status", NAME, "--json").json()["suspended"] is None


def test_suspending_twice_and_resuming_an_active_charter_are_refused(lab: Lab, cli: Any) -> None:
    not_suspended = cli("resume", NAME, "--as", OWNER)
    assert not_suspended.code == 1
    assert f"{NAME} is not suspended: its model is already deciding" in not_suspended.stderr

    assert cli("suspend", NAME, "--as", OWNER, "--reason", REASON).code == 0
    twice = cli("suspend", NAME, "--as", OWNER, "--reason", "again", "--json")

    assert twice.code == 1
    error = twice.json()["error"]
    assert error["type"] == "LifecycleError"
    assert error["message"].startswith(f"{NAME} is already suspended (by {OWNER}")
    assert [e["action"] for e in lab.entries("oversight.refused")] == ["resume", "suspend"]
    assert len(lab.entries("charter.suspended")) == 1


def test_a_steward_may_suspend_but_not_resume_and_a_stranger_neither(lab: Lab, cli: Any) -> None:
    stranger = cli("suspend", NAME, "--as", "mallory@bank.example", "--reason", REASON)
    assert stranger.code == 1
    assert "mallory@bank.example may not suspend credit-default" in stranger.stderr
    assert suspension(lab.ws, NAME) is None

    assert cli("suspend", NAME, "--as", STEWARD, "--reason", REASON).code == 0
    refused = cli("resume", NAME, "--as", STEWARD)

    assert refused.code == 1
    assert f"{STEWARD} may not resume the model deciding for {NAME}" in refused.stderr
    still = suspension(lab.ws, NAME)
    assert still is not None and still.suspended
    refusals = lab.entries("oversight.refused")
    assert [(e["action"], e["by"]) for e in refusals] == [
        ("suspend", "mallory@bank.example"),
        ("resume", STEWARD),
    ]


def test_a_database_edit_that_unsuspends_is_detected_as_tampering(lab: Lab, cli: Any) -> None:
    lab.model(status="live")
    suspend(lab.ws, NAME, by=OWNER, reason=REASON)
    with lab.ws.db.session() as session:
        session.execute(
            sa.update(CharterSuspension).values(resumed_at=sa.func.now(), resumed_by=OWNER)
        )

    with pytest.raises(StateTamperedError, match="was changed outside charter"):
        suspension(lab.ws, NAME)
    status = cli("status", NAME)
    verify = cli("audit", "verify")
    assert status.code == 4 and "suspension" in status.stderr
    assert (
        verify.code == 1 and "the suspension 1 of credit-default" in verify.stdout + verify.stderr
    )
    with pytest.raises(StateTamperedError):
        lab.batch()  # ingestion refuses to act on a forged resume
    _restore(lab)


def test_a_deleted_suspension_row_is_detected_as_tampering(lab: Lab, cli: Any) -> None:
    suspend(lab.ws, NAME, by=OWNER, reason=REASON)
    with lab.ws.db.session() as session:
        saved = session.scalars(sa.select(CharterSuspension)).one()
        session.expunge(saved)
        session.execute(sa.delete(CharterSuspension))

    resumed = cli("resume", NAME, "--as", OWNER)
    verify = cli("audit", "verify")
    status = cli("status", NAME)

    assert resumed.code == 4
    assert "is missing from the database: it was deleted outside charter" in resumed.stderr
    assert verify.code == 1, verify.stdout + verify.stderr
    assert "the suspension 1 of credit-default" in verify.stdout + verify.stderr
    assert status.code == 4 and "suspension" in status.stderr
    with lab.ws.db.session() as session:
        make_transient(saved)
        session.add(saved)  # put it back, so that the ledger verifies at the end


def _restore(lab: Lab) -> None:
    with lab.ws.db.session() as session:
        session.execute(sa.update(CharterSuspension).values(resumed_at=None, resumed_by=None))


def test_the_scheduler_keeps_ingesting_and_monitoring_a_suspended_charter(
    lab: Lab, cli: Any
) -> None:
    lab.model(status="live")
    suspend(lab.ws, NAME, by=OWNER, reason=REASON)
    folder = lab.ws.root / "landing" / NAME
    folder.mkdir(parents=True, exist_ok=True)
    pl.DataFrame(
        {"id": ["s1", "s2"], "event_at": ["2024-03-01T10:00:00Z"] * 2, "amount": [5.0, 7.0]}
    ).write_parquet(folder / "while-suspended.parquet")

    ran = cli("run", "--once", "--charter", NAME, "--json")

    assert ran.code in (0, 5), ran.stdout + ran.stderr
    frame = read_predictions(lab.ws, NAME).collect()
    assert sorted(frame.filter(pl.col("key").is_in(["s1", "s2"]))["acted_on"]) == [False, False]
    status = cli("status", NAME, "--json").json()
    assert status["windows"], "monitoring went on while suspended"
    assert status["suspended"]["reason"] == REASON
