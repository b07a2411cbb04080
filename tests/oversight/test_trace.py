"""``charter trace``: a prediction traced to its input, scores, version, batch and file, the
window's verdict, the approval its version was live under, and the terms in force then."""

from __future__ import annotations

from typing import Any

import polars as pl
import pytest
import sqlalchemy as sa
from tests.lifecycle.test_lifecycle_support import NAME, OWNER, Lab

from charter.lifecycle.decisions import approve
from charter.lifecycle.evidence import decision_evidence
from charter.plumbing.predictions import read_predictions
from charter.services.oversight import suspend
from charter.store.tables import CharterTerms

pytestmark = pytest.mark.postgres
WAIVER = "first model; the manual process is the fallback"
RISK = "thin labels in the north region"


def approved_live(lab: Lab) -> tuple[int, str]:
    """Version 1 approved by the owner with a waiver, risk and the evidence digest shown."""
    version = lab.model()  # def score(frame): frame['amount'] / 100
    lab.ready(version)
    shown = decision_evidence(lab.ws, NAME, version).digest
    approve(lab.ws, NAME, version, by=OWNER, waiver=WAIVER, accept_risk=RISK, evidence_sha256=shown)
    return version, shown


def logged(lab: Lab) -> pl.DataFrame:
    return read_predictions(lab.ws, NAME).collect().sort("ingested_at", "prediction_id")


def test_a_prediction_is_traced_to_its_approval_window_batch_and_terms(lab: Lab, cli: Any) -> None:
    version, shown = approved_live(lab)
    lab.batch()  # the third batch: scored by the live version 1
    row = logged(lab).filter(pl.col("model_version") == str(version)).row(-1, named=True)
    with lab.ws.db.read() as session:
        terms_sha = session.scalars(sa.select(CharterTerms.sha256)).one()

    human = cli("trace", row["prediction_id"])
    body = cli("trace", row["prediction_id"], "--json").json()

    assert human.code == 0, human.stderr
    assert body["prediction_id"] == row["prediction_id"] and body["key"] == row["key"]
    assert body["answering_version"] == str(version) and body["acted_on"] is True
    (score,) = body["scores"]
    assert score == {"version": "1", "status": "live", "score": row["score"], "acted_on": True}
    assert row["score"] == pytest.approx(body["inputs"]["amount"] / 100)
    assert body["batch"]["batch_id"] == row["batch_id"]
    assert body["batch"]["source"].endswith("batch-0002.parquet")
    assert body["batch"]["prediction_files"] == [f"predictions/{NAME}/{row['batch_id']}.parquet"]
    assert body["window"]["verdict"] == "pass" and body["window"]["version"] == "1"
    approval = body["approval"]
    assert approval["approved_by"] == OWNER and approval["accepted_risk"] == RISK
    assert approval["waiver"] == WAIVER and approval["evidence_sha256"] == shown
    assert approval["automatic"] is False and approval["live_since"] is not None
    assert body["terms"]["sha256"] == terms_sha
    assert body["terms"]["ledger_seq"] < body["batch"]["ledger_seq"]
    assert approval["ledger_seq"] < body["batch"]["ledger_seq"]
    assert f"Version 1 scored it {row['score']:.4g}, and acted on." in human.stdout
    assert f"approval     decision {approval['decision_id']} by {OWNER}" in human.stdout
    assert f"  risk       {RISK}" in human.stdout
    assert "batch-0002.parquet" in human.stdout and "pass (version 1)" in human.stdout


def test_the_approval_shown_is_the_one_in_force_when_the_row_was_scored(lab: Lab, cli: Any) -> None:
    lab.batch()  # before any version is live: the shadow-less log, no approval
    early = logged(lab).row(0, named=True)
    approved_live(lab)

    body = cli("trace", early["prediction_id"], "--json").json()

    assert body["approval"] is None and body["answering_version"] is None
    assert body["acted_on"] is False
    assert "No live version scored it: nothing was acted on." in body["summary"]


def test_a_row_scored_while_suspended_traces_as_not_acted_on(lab: Lab, cli: Any) -> None:
    approved_live(lab)
    suspend(lab.ws, NAME, by=OWNER, reason="complaints")
    lab.batch()
    row = logged(lab).row(-1, named=True)

    body = cli("trace", NAME, "--key", row["key"], "--json").json()

    assert body["prediction_id"] == row["prediction_id"]
    assert body["acted_on"] is False and body["scores"][0]["acted_on"] is False
    assert body["suspension_id"] == 1
    assert "but NOT acted on (the charter was suspended)" in body["summary"]


def test_by_key_the_newest_prediction_is_traced(lab: Lab, cli: Any) -> None:
    approved_live(lab)
    row = logged(lab).row(0, named=True)

    found = cli("trace", NAME, "--key", row["key"], "--json")

    assert found.code == 0, found.stderr
    assert found.json()["prediction_id"] == row["prediction_id"]
    assert found.json()["other_predictions"] == []


def test_an_unknown_prediction_or_key_is_a_clear_error(lab: Lab, cli: Any) -> None:
    lab.batch()
    batch_id = logged(lab).row(0, named=True)["batch_id"]

    missing_row = cli("trace", f"{batch_id}-999")
    not_an_id = cli("trace", "nonsense")
    no_key = cli("trace", NAME, "--key", "nobody", "--json")

    assert (
        missing_row.code == 1 and f"no prediction '{batch_id}-999' in the log" in missing_row.stderr
    )
    assert not_an_id.code == 1 and "is not a prediction id" in not_an_id.stderr
    assert no_key.code == 1
    assert no_key.json()["error"]["type"] == "PredictionNotFoundError"
    assert "logged no prediction with key 'nobody'" in no_key.json()["error"]["message"]
