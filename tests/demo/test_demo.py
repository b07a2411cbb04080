"""`charter demo` tells the whole story and leaves a workspace a script can inspect."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

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


def test_demo_registers_a_version_with_lineage(demo: tuple[Path, dict]) -> None:  # type: ignore[type-arg]
    root, report = demo
    assert chapter(report, "registration")["version"] == 1
    versions = subprocess.run(
        [*CHARTER, "-w", str(root), "versions", "credit-default", "--json"],
        capture_output=True,
        text=True,
    )
    listed = json.loads(versions.stdout)
    assert [v["version"] for v in listed] == [1]
    assert {"version", "sha256", "flavor", "status"} <= set(listed[0])


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


def test_demo_refuses_to_overwrite_a_folder_that_is_not_a_demo(tmp_path: Path) -> None:
    (tmp_path / "precious.txt").write_text("keep me")
    run = subprocess.run(
        [*CHARTER, "demo", "--workspace", str(tmp_path)], capture_output=True, text=True
    )
    assert run.returncode == 1
    assert "refusing to overwrite" in run.stderr
    assert (tmp_path / "precious.txt").read_text() == "keep me"


def test_demo_verdict_moves_from_pass_to_warn_to_breach(demo: tuple[Path, dict]) -> None:  # type: ignore[type-arg]
    _, report = demo
    windows = [c for c in report["chapters"] if c["chapter"] == "window"]
    verdicts = [w["verdict"] for w in windows]
    assert verdicts[0] == "pass" and verdicts[-1] == "breach"
    assert "warn" in verdicts
    assert verdicts.index("warn") < verdicts.index("breach")
    assert windows[0]["drifted"] == []
    assert "income" in windows[-1]["drifted"]  # upstream started reporting income in thousands
    assert windows[-1]["rules"]["roc_auc|"] == "breach"


def test_demo_breach_and_drift_raise_alerts(demo: tuple[Path, dict]) -> None:  # type: ignore[type-arg]
    _, report = demo
    events = chapter(report, "alerts")["events"]
    assert "breach" in events and "drift_breach" in events


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
