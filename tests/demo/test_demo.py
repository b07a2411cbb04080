"""`charter demo` tells the whole story and leaves a workspace a script can inspect."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.slow  # whole-story runs: seconds each (see --durations)

CHARTER = [sys.executable, "-m", "charter.cli.main"]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:  # type: ignore[type-arg]
    root = tmp_path_factory.mktemp("demo") / "charter-demo"
    run = subprocess.run(
        [*CHARTER, "demo", "--workspace", str(root), "--json"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr
    return root, json.loads(run.stdout)


def chapter(report: dict, name: str) -> dict:  # type: ignore[type-arg]
    return next(c for c in report["chapters"] if c["chapter"] == name)


def chapters(report: dict, name: str) -> list[dict]:  # type: ignore[type-arg]
    return [c for c in report["chapters"] if c["chapter"] == name]


def charter_json(root: Path, *args: str) -> Any:
    run = subprocess.run(
        [*CHARTER, "-w", str(root), *args, "--json"], capture_output=True, text=True
    )
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)


def test_demo_ends_with_three_versions_each_where_its_story_left_it(
    demo: tuple[Path, dict],  # type: ignore[type-arg]
) -> None:
    root, report = demo
    assert chapter(report, "registration")["version"] == 1
    assert chapter(report, "registration")["status"] == "shadow"  # the pilot starts in shadow
    listed = charter_json(root, "versions", "credit-default")
    assert {v["version"]: v["status"] for v in listed} == {
        1: "retired",  # replaced as standby when version 3 went live
        2: "live",  # restored by the automatic rollback
        3: "rolled_back",
    }
    assert {"version", "sha256", "flavor", "status"} <= set(listed[0])


def test_demo_pilot_is_approved_by_the_owner_with_the_risk_accepted(
    demo: tuple[Path, dict],  # type: ignore[type-arg]
) -> None:
    root, report = demo
    pilot = chapter(report, "pilot_decision")
    assert pilot["ready"] is False
    assert pilot["shortfall"] == ["shadow_batches", "rollback_target"]
    assert pilot["accepted"] == ["shadow_batches"]  # the waiver covers the rollback target
    assert pilot["decided_by"] == "dana.ruiz@bank.example"
    decisions = charter_json(root, "decisions", "credit-default", "--all")
    first = decisions[0]
    assert (first["version"], first["status"], first["decided_by"]) == (
        1,
        "approved",
        "dana.ruiz@bank.example",
    )
    assert first["accepted_risk"] == pilot["accepted_risk"]
    # a batch that scored no row is shown, not counted
    assert "3 of 5 required live batches" in first["accepted_risk"]
    assert "(1 more scored no row: not counted)" in first["accepted_risk"]
    assert first["waiver"].startswith("the first credit-default model")
    assert [d["status"] for d in decisions] == ["approved", "approved", "approved"]
    assert decisions[2]["automatic"] is True  # version 3, under the owner's pre-authorisation


def test_demo_refusals_of_the_engineer_are_in_the_ledger(
    demo: tuple[Path, dict],  # type: ignore[type-arg]
    tmp_path: Path,
) -> None:
    root, _ = demo
    out = tmp_path / "audit.jsonl"
    charter_json(root, "audit", "export", "--output", str(out))
    entries = [json.loads(line) for line in out.read_text().splitlines()]
    refused = [e for e in entries if e["action"] == "decision.refused"]
    assert [(r["payload"]["version"], r["payload"]["by"]) for r in refused] == [
        (1, "lee.chen@bank.example"),
        (2, "lee.chen@bank.example"),
    ]
    assert all("only the owner" in r["payload"]["refused"] for r in refused)
    actions = [e["action"] for e in entries]
    assert actions.count("decision.approved") == 3
    assert "promotion.authorized" in actions and "version.rolled_back" in actions


def test_demo_retrains_on_the_breach_and_on_the_drift(
    demo: tuple[Path, dict],  # type: ignore[type-arg]
) -> None:
    _, report = demo
    retrained = chapters(report, "retrain")
    assert [(r["triggers"], r["parent"], r["version"]) for r in retrained] == [
        (["sufficiency_breach"], 1, 2),
        (["drift_breach"], 2, 3),
    ]
    assert all(r["rows"] == 7000 for r in retrained)


def test_demo_promotes_the_challenger_on_evidence_then_under_pre_authorisation(
    demo: tuple[Path, dict],  # type: ignore[type-arg]
) -> None:
    _, report = demo
    promotion = chapter(report, "promotion")
    assert promotion["ready"] is True and promotion["decided_by"] == "dana.ruiz@bank.example"
    # While the owner was away, the decision stalled past its deadline, then escalated; her
    # decision resolved both alerts.
    assert promotion["stalled_alerts"] == ["decision.stalled", "decision.escalation.1"]
    assert promotion["stalled_alerts_after"] == ["resolved", "resolved"]
    assert promotion["statuses"] == {"1": "standby", "2": "live"}
    assert chapter(report, "authorization")["automatic"] is True
    automatic = chapter(report, "auto_promotion")
    assert automatic["promoted"] == 3
    assert automatic["statuses"] == {"1": "retired", "2": "standby", "3": "live"}


def test_demo_rolls_the_bad_version_back_automatically(
    demo: tuple[Path, dict],  # type: ignore[type-arg]
) -> None:
    _, report = demo
    rollback = chapter(report, "rollback")
    assert rollback["automatic"] is True
    assert (rollback["rolled_back"], rollback["restored"]) == (3, 2)
    assert [e["live"] for e in rollback["evidence"]] == ["breach", "breach"]
    assert [e["standby"] for e in rollback["evidence"]] == ["pass", "pass"]
    windows = {(w["version"], w["start"][:10]): w for w in chapters(report, "window")}
    for evidence in rollback["evidence"]:
        day = evidence["start"][:10]
        assert windows[(3, day)]["verdict"] == "breach"
        assert windows[(2, day)]["verdict"] == "pass"


def test_demo_handles_each_kind_of_bad_live_data(demo: tuple[Path, dict]) -> None:  # type: ignore[type-arg]
    _, report = demo
    day = {c["chapter"]: c for c in report["chapters"] if c["chapter"].startswith("day_")}
    assert day["day_1"]["rows_quarantined"] == 0
    assert day["day_2"]["rows_late"] == 40
    assert day["day_3"]["rows_quarantined"] == 55  # 25 resent keys + 30 impossible values
    assert (
        len(day["day_4"]["files_failed"]) == 1
        and "truncated" in day["day_4"]["files_failed"][0]["error"]
    )
    assert day["day_5"]["rows_quarantined"] == day["day_5"]["rows_in"] == 2000  # renamed column
    for name in day:
        assert day[name]["rows_in"] == day[name]["rows_scored"] + day[name]["rows_quarantined"]


def test_demo_ends_with_an_intact_ledger(demo: tuple[Path, dict]) -> None:  # type: ignore[type-arg]
    root, report = demo
    assert chapter(report, "audit")["ok"] is True
    verify = subprocess.run(
        [*CHARTER, "-w", str(root), "audit", "verify", "--json"], capture_output=True, text=True
    )
    assert verify.returncode == 0
    assert json.loads(verify.stdout)["ok"] is True


def test_demo_ends_with_an_evidence_pack_beside_its_workspace_that_verifies(
    demo: tuple[Path, dict],  # type: ignore[type-arg]
) -> None:
    root, report = demo
    pack = root.parent / "charter-demo-evidence.zip"
    assert chapter(report, "evidence_pack")["file"] == str(pack)
    assert pack.exists()
    verify = charter_json(root, "evidence", "verify", str(pack))
    assert verify["ok"] is True
    assert verify["head_seq"] == chapter(report, "audit")["entries"]
    # the pilot days without a prediction (an unreadable file, a wholly quarantined one, two days
    # without traffic) are listed as a gap of the record-keeping clauses
    clauses = {(c["framework"], c["clause"]): c for c in chapter_crosswalk(pack)}
    assert clauses[("eu-ai-act", "Art 12")]["status"] == "gap"
    assert "2026-04-05" in clauses[("eu-ai-act", "Art 12")]["gaps"][0]
    assert clauses[("iso-42001", "A.6.2.5")]["status"] == "met"


def chapter_crosswalk(pack: Path) -> list[dict]:  # type: ignore[type-arg]
    import zipfile

    with zipfile.ZipFile(pack) as archive:
        clauses = json.loads(archive.read("crosswalk.json"))["clauses"]
    assert isinstance(clauses, list)
    return clauses


def test_demo_refuses_to_overwrite_a_folder_that_is_not_a_demo(tmp_path: Path) -> None:
    (tmp_path / "precious.txt").write_text("keep me")
    run = subprocess.run(
        [*CHARTER, "demo", "--workspace", str(tmp_path)], capture_output=True, text=True
    )
    assert run.returncode == 1
    assert "refusing to overwrite" in run.stderr
    assert (tmp_path / "precious.txt").read_text() == "keep me"


def test_demo_live_verdict_moves_from_pass_to_warn_to_breach(
    demo: tuple[Path, dict],  # type: ignore[type-arg]
) -> None:
    _, report = demo
    first = [w for w in chapters(report, "window") if w["version"] == 1 and w["status"] == "live"]
    verdicts = [w["verdict"] for w in first]
    assert verdicts[0] == "pass" and verdicts[-1] == "breach"
    assert "warn" in verdicts
    assert verdicts.index("warn") < verdicts.index("breach")
    assert first[0]["drifted"] == []
    assert first[-1]["rules"]["roc_auc|"] == "breach"


def test_demo_income_in_thousands_is_seen_as_drift(
    demo: tuple[Path, dict],  # type: ignore[type-arg]
) -> None:
    _, report = demo
    live_two = [
        w for w in chapters(report, "window") if w["version"] == 2 and w["status"] == "live"
    ]
    assert live_two and all("income" in w["drifted"] for w in live_two)
    assert all(w["verdict"] == "pass" for w in live_two)  # the ranking still holds


def test_demo_breach_drift_and_rollback_raise_alerts(
    demo: tuple[Path, dict],  # type: ignore[type-arg]
) -> None:
    _, report = demo
    events = set(chapter(report, "alerts")["events"])
    assert {"warn", "breach", "drift_breach", "rollback", "stalled_decision"} <= events


def test_demo_can_be_rerun_from_inside_its_workspace(demo: tuple[Path, dict]) -> None:  # type: ignore[type-arg]
    root, _ = demo
    run = subprocess.run(
        [*CHARTER, "demo", "--workspace", str(root)],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr
    assert "Audit:" in run.stdout and "intact" in run.stdout
