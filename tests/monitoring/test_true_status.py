"""``charter status`` and ``charter report`` tell each version's status as the registry has it now.

Until issue 9 they showed the status stored with each window when ``monitor`` last ran, so after
a rollback the rolled-back version still looked live until the next monitor run.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

from charter.monitoring.service import monitor

pytestmark = pytest.mark.postgres


@pytest.fixture
def rolled_back(mkit: Any, cli: Any) -> Any:
    """v1 standby, v2 live, one monitored week, then a rollback (and no monitor since)."""
    mkit.register("standby")
    module = f"true_status_{uuid.uuid4().hex[:8]}"
    (mkit.ws.root / f"{module}.py").write_text(
        "def score(frame):\n    return frame['amount'] / 100\n"
    )
    mkit.register("live", model=f"{module}:score")
    mkit.land("week0.parquet", mkit.world(300, seed=5))
    monitor(mkit.ws, mkit.name)
    result = cli("rollback", mkit.name, "--reason", "test")
    assert result.code == 0, result.stderr
    return mkit


def test_status_reads_the_registry_not_the_stored_windows(rolled_back: Any, cli: Any) -> None:
    result = cli("status", rolled_back.name, "--json")

    assert result.code == 0, result.stderr
    shown = {w["version"]: w for w in result.json()["windows"]}
    assert shown["2"]["status"] == "rolled_back" and shown["1"]["status"] == "live"
    assert shown["2"]["status_at_evaluation"] == "live"
    assert shown["1"]["status_at_evaluation"] == "standby"
    human = cli("status", rolled_back.name)
    assert "2 rolled_back" in human.stdout and "1 live" in human.stdout


def test_the_report_shows_the_rolled_back_version_as_rolled_back(
    rolled_back: Any, cli: Any, tmp_path: Path
) -> None:
    page = tmp_path / "report.html"
    assert cli("report", rolled_back.name, "--html", str(page)).code == 0

    text = page.read_text()
    assert "version 2 <span class='muted'>(rolled_back)</span>" in text
    assert "version 1 <span class='muted'>(live)</span>" in text
