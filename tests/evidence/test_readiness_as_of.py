"""``charter readiness --as-of`` (issue 15, point 6): the gate's checklist as it stood then.

The demo's story (real ingestion, labels, monitoring, alert tests, three promotions, an automatic
rollback) is run on SQLite and on the real PostgreSQL server. Each ``decision.opened`` entry keeps
the checklist the gate printed at that moment; rebuilt later from the ledger cut just before the
decision opened, ``readiness --as-of`` must give the same checklist, item by item.
"""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from charter.cli.main import main
from charter.demo.story import run_demo
from charter.settings import Settings
from charter.store.tables import AuditCheckpoint, AuditEntry
from charter.workspace import Workspace

pytestmark = [pytest.mark.postgres, pytest.mark.slow]  # a whole demo story per backend
NAME = "credit-default"


@pytest.fixture
def demo(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CHARTER_DATABASE_URL", database_url)
    monkeypatch.setenv("CHARTER_AUDIT_KEY_FILE", str(tmp_path / "keys" / "audit.key"))
    root = tmp_path / "demo"
    run_demo(root, lambda title, text: None, settings=Settings(workspace=root))
    return root


def charter(root: Path, *args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["-w", str(root), *args])
    return code, out.getvalue(), err.getvalue()


def openings(root: Path) -> list[tuple[int, dict[str, Any], str]]:
    """Each decision opened: (version, the checklist recorded with it, the moment just before)."""
    ws = Workspace(root, settings=Settings(workspace=root))
    try:
        with ws.ledger.snapshot() as session:
            found = []
            for seq, payload in session.execute(
                sa.select(AuditEntry.seq, AuditEntry.payload)
                .where(AuditEntry.action == "decision.opened")
                .order_by(AuditEntry.seq)
            ):
                before = session.scalar(
                    sa.select(AuditCheckpoint.signed_at)
                    .where(AuditCheckpoint.seq < seq)
                    .order_by(AuditCheckpoint.seq.desc())
                    .limit(1)
                )
                recorded = json.loads(payload)
                found.append((int(recorded["version"]), recorded["readiness"], str(before)))
    finally:
        ws.close()
    return found


def test_the_checklist_as_of_a_moment_is_the_one_the_gate_printed_then(demo: Path) -> None:
    opened = openings(demo)
    assert [version for version, _, _ in opened] == [1, 2, 3]

    for version, printed, before in opened:
        code, out, err = charter(demo, "readiness", NAME, str(version), "--as-of", before, "--json")
        assert code == 0, err
        rebuilt = json.loads(out)
        assert rebuilt["as_of"] == before
        assert rebuilt["rebuilt_from"]["not_reconstructed"]
        for mine, then in zip(rebuilt["items"], printed["items"], strict=True):
            if then["name"] == "rollback_target" and then["facts"]["waiver"] is not None:
                # the pilot's first-version waiver was given with `promote`, not before it
                assert mine["facts"]["waiver"] is None and not mine["ok"]
                continue
            assert mine == then, version
        assert rebuilt["approval"] == printed["approval"]
        assert (rebuilt["version"], rebuilt["status"]) == (printed["version"], printed["status"])

    # today's checklist of the rolled-back version differs from the one before its promotion
    now = json.loads(charter(demo, "readiness", NAME, "3", "--json")[1])
    assert now["status"] == "rolled_back" and opened[2][1]["status"] == "shadow"


def test_readiness_as_of_tells_what_it_rebuilt_and_refuses_what_was_not_yet(demo: Path) -> None:
    (_, _, before_pilot), (_, _, before_second), _ = openings(demo)

    code, out, err = charter(demo, "readiness", NAME, "1", "--as-of", before_second)
    assert code == 0, err
    assert f"as of {before_second}" in out and "rebuilt from the ledger up to entry" in out
    assert "version 1 (live)" in out

    code, _, err = charter(demo, "readiness", NAME, "3", "--as-of", before_pilot)
    assert code != 0 and "version 3 was not registered by" in err
    code, _, err = charter(demo, "readiness", NAME, "--as-of", "1999-01-01T00:00:00Z")
    assert code != 0 and "--as-of" in err and "before the ledger's first entry" in err
