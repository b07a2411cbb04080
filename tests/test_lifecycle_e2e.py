"""The whole lifecycle of one model as one user would drive it: the CLI and the scheduler only.

Pilot in shadow → readiness → a refused approval by the wrong identity → the owner's approval with
the shortfall accepted and a first-version waiver → a breach alerted and retrained on → the
challenger promoted by a delegate → a bad version promoted, then rolled back automatically by the
scheduler → a manual rollback refused for want of a standby → the audit ledger intact. On SQLite
and on the PostgreSQL server (the ``database_url`` fixture of conftest.py).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import joblib
import polars as pl
import pytest

from charter.demo.data import applications
from charter.demo.model import train
from charter.demo.story import TRAINING_CODE

pytestmark = pytest.mark.slow  # whole-story runs: seconds each (see --durations)

OWNER = "dana.ruiz@bank.example"
DELEGATE = "sam.okafor@bank.example"
ENGINEER = "lee.chen@bank.example"
TRAINING_START = datetime(2026, 1, 1, tzinfo=UTC)
PILOT = datetime(2026, 3, 5, tzinfo=UTC)  # a Thursday: weekly windows start on Thursdays
ROWS_PER_WEEK = 3_500

CHARTER_FILE = f"""
name: credit-default
decision: "Approve or refer consumer loan applications"
owner: {{name: "Dana Ruiz", email: {OWNER}}}
delegates: [{{name: "Sam Okafor", email: {DELEGATE}}}]
sufficiency:
  window: 7d
  min_labels: 300
  metrics:
    - {{metric: roc_auc, at_least: 0.66, warn_at: 0.68}}
data:
  source: {{kind: parquet_dir, path: landing/applications/}}
  key: application_id
  event_time: submitted_at
  fields:
    application_id:        {{type: string, nullable: false, unique: true}}
    submitted_at:          {{type: datetime, nullable: false}}
    income:                {{type: float, nullable: false, min: 0}}
    age:                   {{type: int, nullable: false, min: 18, max: 100}}
    employment:            {{type: string, allowed: [salaried, self_employed, unemployed, retired]}}
    debt_ratio:            {{type: float, min: 0, max: 5}}
    loan_amount:           {{type: float, nullable: false, min: 0}}
    credit_history_months: {{type: int, min: 0}}
    late_payments:         {{type: int, min: 0}}
    region:                {{type: string, allowed: [north, south, east, west]}}
labels:
  key: application_id
  target: defaulted
  source: {{kind: parquet_dir, path: landing/outcomes/}}
operations:
  monitor: {{every: 1h, reference: training}}
  alerts: [{{route: log, on: [breach, drift_breach, rollback, retrain_failed]}}]
  retrain: {{when: [sufficiency_breach], entrypoint: "training:fit"}}
  rollback: {{automatic: true, after_breaches: 2}}
  promotion: {{shadow_min_batches: 3, approval: owner}}
"""


class World:
    """The live pipeline of the test: applications land as daily files, outcomes beside them."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.landing = root / "landing" / "applications"
        self.outcomes = root / "landing" / "outcomes"
        self.landing.mkdir(parents=True)
        self.outcomes.mkdir(parents=True)

    def week(self, number: int, *, concept: float, thousands: bool = False, days: int = 7) -> None:
        """Week ``number`` after the pilot's start: ``days`` daily files and their outcomes."""
        start = PILOT + timedelta(weeks=number)
        frame = applications(
            ROWS_PER_WEEK * days // 7,
            seed=500 + number,
            start=start,
            span=timedelta(days=days),
            shift=0.3 * concept,
            concept=concept,
            id_offset=10_000_000 + 100_000 * number,
        )
        if thousands:  # an upstream change reports income in thousands
            frame = frame.with_columns(pl.col("income") / 1000)
        frame.select("application_id", "defaulted").write_parquet(
            self.outcomes / f"week-{number}.parquet"
        )
        day = pl.col("submitted_at").dt.date()
        for (date,), rows in frame.drop("defaulted").group_by(day, maintain_order=True):
            rows.write_parquet(self.landing / f"{date:%Y-%m-%d}.parquet")


def model_file(root: Path, name: str, frame: pl.DataFrame) -> Path:
    path = root / f"{name}.joblib"
    joblib.dump(train(frame), path)
    return path


def ok(result: Any) -> Any:
    assert result.code == 0, result.stderr
    return result.json()


def statuses(cli: Any) -> dict[int, str]:
    return {v["version"]: v["status"] for v in ok(cli("versions", "credit-default", "--json"))}


def one_pass(cli: Any) -> dict[tuple[str, str], dict[str, Any]]:
    """``charter run --once``: every step of the pass must succeed."""
    report = ok(cli("run", "--once", "--json"))
    return {(s["charter"], s["step"]): s for s in report["steps"]}


def items(cli: Any, *args: str) -> dict[str, bool]:
    ready = ok(cli("readiness", "credit-default", *args, "--json"))
    return {i["name"]: i["ok"] for i in ready["items"]}


def test_the_whole_lifecycle_through_the_cli(workspace_dir: Path, cli: Any) -> None:
    root = workspace_dir
    (root / "charters" / "credit-default.yaml").write_text(CHARTER_FILE)
    (root / "training.py").write_text(TRAINING_CODE)
    world = World(root)

    # A model trained offline becomes version 1, in shadow: the pilot runs on the live pipeline.
    history = applications(8_000, seed=1, start=TRAINING_START, span=timedelta(days=60))
    history.write_parquet(root / "train.parquet")
    applications(3_000, seed=2, start=TRAINING_START, span=timedelta(days=60)).write_parquet(
        root / "reference.parquet"
    )
    first = model_file(root, "v1", history)
    registered = ok(
        cli(
            "register",
            "credit-default",
            str(first),
            "--training-data",
            str(root / "train.parquet"),
            "--reference",
            str(root / "reference.parquet"),
            "--json",
        )
    )
    assert (registered["version"], registered["status"]) == (1, "shadow")

    # Two pilot days; the scheduler ingests, labels and judges them.
    world.week(0, concept=0.0, days=2)
    steps = one_pass(cli)
    assert steps[("credit-default", "ingest")]["status"] == "ok"
    judged = ok(cli("status", "credit-default", "--json"))["windows"]
    assert [(w["version"], w["status"], w["verdict"]) for w in judged] == [("1", "shadow", "pass")]
    assert items(cli) == {
        "owner": True,
        "shadow_batches": False,  # 2 of 3
        "sufficiency": True,
        "champion_challenger": True,  # nothing live to compare with yet
        "monitoring": True,
        "alert_route": False,  # never test-fired
        "rollback_target": False,  # nothing live yet
    }
    ok(cli("alerts", "test", "credit-default", "--json"))
    assert items(cli, "1")["alert_route"] is True

    # Only the owner (or her delegate) decides; a short gate needs the shortfall accepted.
    refused = cli("approve", "credit-default", "1", "--as", ENGINEER, "--accept-risk", "fine")
    assert refused.code == 1
    assert f"{ENGINEER} may not approve" in refused.stderr and OWNER in refused.stderr
    waiver = "first model for this decision: manual referral is the fallback"
    short = cli("approve", "credit-default", "1", "--as", OWNER, "--first-version-waiver", waiver)
    assert short.code == 1 and "falls short of the gate" in short.stderr
    assert "shadow_batches" in short.stderr and "--accept-risk" in short.stderr
    assert statuses(cli) == {1: "shadow"}
    risk = "Two pilot days instead of three: the contract passed on both, and I accept the rest."
    approved = ok(
        cli(
            "approve",
            "credit-default",
            "1",
            "--as",
            OWNER,
            "--first-version-waiver",
            waiver,
            "--accept-risk",
            risk,
            "--json",
        )
    )
    assert (approved["accepted_risk"], approved["waiver"], approved["decided_by"]) == (
        risk,
        waiver,
        OWNER,
    )
    assert statuses(cli) == {1: "live"}

    # What drives default moves: version 1 breaches, is alerted, and a challenger is retrained.
    world.week(1, concept=0.8)
    steps = one_pass(cli)
    retrained = steps[("credit-default", "retrain")]["details"]
    assert (retrained["status"], retrained["triggers"], retrained["version"]) == (
        "retrained",
        ["sufficiency_breach"],
        2,
    )
    breaches = ok(cli("alerts", "credit-default", "list", "--json"))["alerts"]
    # The week's population moved too (shift 0.24: more late payments, lower incomes), which the
    # default drift judgement ('auto') flags; PSI, the default before it, did not.
    assert [a["event"] for a in breaches] == ["drift_breach", "breach"]
    assert statuses(cli) == {1: "live", 2: "shadow"}

    # A week in shadow beside version 1; the delegate promotes it on the gate's evidence.
    world.week(2, concept=0.8)
    one_pass(cli)
    opened = ok(cli("promote", "credit-default", "2", "--json"))
    assert opened["outcome"] == "opened" and opened["readiness"]["ready"] is True
    ok(cli("approve", "credit-default", "2", "--as", DELEGATE, "--json"))
    assert statuses(cli) == {1: "standby", 2: "live", 3: "shadow"}  # 3: retrained on week 2

    # A version trained on a week when income arrived in thousands passes its own shadow week...
    bad_week = applications(
        ROWS_PER_WEEK, seed=99, start=PILOT, span=timedelta(days=7), shift=0.24, concept=0.8
    ).with_columns(pl.col("income") / 1000)
    ok(cli("register", "credit-default", str(model_file(root, "v4", bad_week)), "--json"))
    ok(cli("shadow", "credit-default", "4", "--json"))
    world.week(3, concept=0.8, thousands=True)
    one_pass(cli)
    assert items(cli, "4") == dict.fromkeys(items(cli, "4"), True)
    ok(cli("approve", "credit-default", "4", "--as", OWNER, "--json"))
    assert statuses(cli) == {1: "retired", 2: "standby", 3: "shadow", 4: "live"}

    # ...until upstream fixes the unit: two breached weeks where the standby passed: rollback.
    world.week(4, concept=0.8)
    world.week(5, concept=0.8)
    steps = one_pass(cli)
    rolled = steps[("credit-default", "review")]["details"]["rolled_back"]
    assert (rolled["rolled_back"], rolled["restored"], rolled["automatic"]) == (4, 2, True)
    assert [(e["live"], e["standby"]) for e in rolled["evidence"]] == [("breach", "pass")] * 2
    current = statuses(cli)
    assert (current[2], current[4]) == ("live", "rolled_back")
    alerts = ok(cli("alerts", "credit-default", "list", "--json"))["alerts"]
    assert any(a["event"] == "rollback" and a["severity"] == "critical" for a in alerts)

    # No standby is left: a manual rollback is refused, and version 2 keeps serving.
    again = cli("rollback", "credit-default")
    assert again.code == 1 and "no standby version" in again.stderr
    assert statuses(cli)[2] == "live"

    # Every step is in the ledger, which verifies.
    assert ok(cli("audit", "verify", "--json"))["ok"] is True
    export = root / "audit.jsonl"
    ok(cli("audit", "export", "--output", str(export), "--json"))
    entries = [json.loads(line) for line in export.read_text().splitlines()]
    refusals = [e["payload"] for e in entries if e["action"] == "decision.refused"]
    assert [(r.get("by"), r["action"]) for r in refusals[:1]] == [(ENGINEER, "approve")]
    approvals = [e["payload"] for e in entries if e["action"] == "decision.approved"]
    assert [(a["version"], a["by"]) for a in approvals] == [(1, OWNER), (2, DELEGATE), (4, OWNER)]
    assert approvals[0]["accepted_risk"] == risk
    assert any(e["action"] == "version.rolled_back" and e["payload"]["automatic"] for e in entries)
