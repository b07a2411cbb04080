"""Exit code 5, "ran, but needs attention", and the ``"attention"`` list (issue 9, point 7).

``ingest``, ``labels``, ``rescore`` and ``run --once`` exit 5 when rows were quarantined, a file
failed or a model version failed, and say so under ``"attention"``; 0 and 1 keep their meaning.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from charter.registry.versions import register_version, set_status
from charter.workspace import Workspace

pytestmark = pytest.mark.postgres

NAME = "credit-default"


def land(ws: Workspace, file: str, n: int, *, start: int = 0, channel: str = "web") -> None:
    folder = ws.root / "landing" / NAME
    folder.mkdir(parents=True, exist_ok=True)
    pl.DataFrame(
        {
            "id": [f"k{i}" for i in range(start, start + n)],
            "event_at": [datetime(2024, 3, 1) + timedelta(minutes=i) for i in range(n)],
            "amount": [float(i) for i in range(n)],
            "channel": [channel] * n,
        }
    ).write_parquet(folder / file)


def model(ws: Workspace, body: str, status: str) -> None:
    module = f"exit_model_{uuid.uuid4().hex[:10]}"
    (ws.root / f"{module}.py").write_text(f"def score(frame):\n    return {body}\n")
    version = register_version(ws, NAME, f"{module}:score").version
    with ws.db.session() as session:
        set_status(ws, session, NAME, version, status)


def test_a_clean_ingest_exits_0_with_nothing_to_attend_to(ws: Workspace, cli: Any) -> None:
    model(ws, "frame['amount'] / 100", "live")
    land(ws, "a.parquet", 3)
    result = cli("ingest", NAME, "--json")
    assert result.code == 0, result.stderr
    assert result.json()["attention"] == []


def test_quarantined_rows_exit_5_and_are_listed(ws: Workspace, cli: Any) -> None:
    land(ws, "a.parquet", 2)
    land(ws, "b.parquet", 3, start=2, channel="fax")  # not an allowed channel
    result = cli("ingest", NAME, "--json")
    assert result.code == 5
    assert result.json()["attention"] == [
        {
            "kind": "rows_quarantined",
            "charter": NAME,
            "file": "b.parquet",
            "rows": 3,
            "message": f"3 row(s) of b.parquet were quarantined; see `charter quarantine {NAME}`",
        }
    ]


def test_a_failed_version_exits_5_and_names_version_file_and_rows(ws: Workspace, cli: Any) -> None:
    model(ws, "frame['amount'] / 100", "live")
    model(ws, "frame['income']", "shadow")
    land(ws, "a.parquet", 4)

    result = cli("ingest", NAME, "--json")

    assert result.code == 5
    (fact,) = result.json()["attention"]
    assert {k: fact[k] for k in ("kind", "charter", "file", "version", "rows")} == {
        "kind": "version_failed",
        "charter": NAME,
        "file": "a.parquet",
        "version": "2",
        "rows": 4,
    }
    assert "income" in fact["message"]
    land(ws, "b.parquet", 1, start=4)
    human = cli("ingest", NAME)
    assert human.code == 5
    assert "VERSION FAILED 2 (shadow) on 1 row(s) of b.parquet" in human.stdout


def test_run_once_does_not_call_ingest_ok_when_a_version_failed(ws: Workspace, cli: Any) -> None:
    model(ws, "frame['amount'] / 100", "live")
    model(ws, "frame['income']", "shadow")
    land(ws, "a.parquet", 4)

    result = cli("run", "--once", "--json")

    assert result.code == 5, result.stdout + result.stderr
    body = result.json()
    (ingest,) = [s for s in body["steps"] if s["step"] == "ingest"]
    assert ingest["status"] == "failed" and "version 2" in ingest["summary"]
    assert [a["kind"] for a in body["attention"]] == ["version_failed"]
    land(ws, "b.parquet", 2, start=4)
    human = cli("run", "--once")
    assert human.code == 5
    line = next(x for x in human.stdout.splitlines() if " ingest " in x)
    assert "FAILED" in line and " ok " not in line
    assert "needs attention: credit-default: shadow version 2" in human.stdout


def test_run_once_exits_1_when_a_step_fails_outright(workspace_dir: Path, cli: Any) -> None:
    (workspace_dir / "charters" / "broken.yaml").write_text("name: broken\nowner: nobody\n")
    land_dir = workspace_dir / "landing" / NAME
    land_dir.mkdir(parents=True)
    result = cli("run", "--once", "--json")
    assert result.code == 1
    assert any(s["step"] == "load" and s["status"] == "failed" for s in result.json()["steps"])


def test_a_failed_label_delivery_exits_5(ws: Workspace, cli: Any, tmp_path: Path) -> None:
    path = tmp_path / "labels.parquet"
    pl.DataFrame({"id": ["k1"], "wrong": [1]}).write_parquet(path)
    result = cli("labels", NAME, str(path), "--json")
    assert result.code == 5
    assert [a["kind"] for a in result.json()["attention"]] == ["file_failed"]


def test_errors_still_exit_1(cli: Any) -> None:
    assert cli("ingest", "nope").code == 1
    assert cli("rescore", "nope").code == 1
