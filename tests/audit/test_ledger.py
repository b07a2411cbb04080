"""The audit ledger catches every kind of tampering and never forks under concurrent writers."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import sqlalchemy as sa

from charter.audit.hashing import entry_hash
from charter.audit.ledger import Ledger
from charter.settings import Settings
from charter.workspace import Workspace


@pytest.fixture(params=["cold", "after-a-verification"])
def ws(request: pytest.FixtureRequest, workspace_dir: Path) -> Iterator[Workspace]:
    """Every test twice: once on a fresh ledger object, once on a ledger that verified the
    intact chain just before the tampering, so it remembers what it verified: that memory must
    never make a tampered ledger verify."""
    workspace = Workspace(workspace_dir, settings=Settings())
    workspace.__dict__[_WARM] = request.param != "cold"
    yield workspace
    workspace.close()


_WARM = "_test_verify_after_appending"


def append_events(ws: Workspace, count: int, *, per_transaction: int = 1) -> None:
    for start in range(0, count, per_transaction):
        with ws.db.session() as session:
            for i in range(start, min(count, start + per_transaction)):
                ws.ledger.append(session, "test.event", {"i": i}, actor="tester", charter="c")
    if ws.__dict__.get(_WARM):
        assert ws.ledger.verify().ok  # remembered up to the last checkpoint


def sql(ws: Workspace, statement: str, **params: Any) -> None:
    with ws.db.engine.begin() as conn:
        conn.execute(sa.text(statement), params)


def forge_entry(
    conn: Any, seq: int, recorded_at: str, actor: str, action: str, charter: str | None, prev: str
) -> str:
    """Insert an entry as someone with database access would: correctly chained to ``prev``."""
    digest = entry_hash(prev, seq, recorded_at, actor, action, charter, "{}")
    conn.execute(
        sa.text(
            "INSERT INTO audit_entries"
            " (seq, recorded_at, actor, action, charter, payload, prev_hash, hash)"
            " VALUES (:seq, :at, :actor, :action, :charter, '{}', :prev, :hash)"
        ),
        {
            "seq": seq,
            "at": recorded_at,
            "actor": actor,
            "action": action,
            "charter": charter,
            "prev": prev,
            "hash": digest,
        },
    )
    return digest


def test_intact_ledger_verifies(ws: Workspace) -> None:
    append_events(ws, 30, per_transaction=7)
    report = ws.ledger.verify()
    assert report.ok and report.entries == 30 and report.first_bad is None
    assert report.checkpoints == 5  # one signature per committed transaction


def test_edited_payload_is_caught_at_its_seq(ws: Workspace) -> None:
    append_events(ws, 10)
    sql(ws, "UPDATE audit_entries SET payload = :p WHERE seq = 4", p='{"i":999}')
    report = ws.ledger.verify()
    assert not report.ok
    assert report.first_bad is not None and report.first_bad.seq == 4
    assert "altered" in report.first_bad.reason


def test_deleted_row_is_caught(ws: Workspace) -> None:
    append_events(ws, 10)
    sql(ws, "DELETE FROM audit_entries WHERE seq = 6")
    report = ws.ledger.verify()
    assert report.first_bad is not None and report.first_bad.seq == 6
    assert "missing" in report.first_bad.reason


def test_reordered_rows_are_caught(ws: Workspace) -> None:
    append_events(ws, 10)
    # Swap the content of entries 3 and 4 (keeping each row's own hash): a reordering.
    with ws.db.engine.begin() as conn:
        rows = {
            r.seq: r
            for r in conn.execute(sa.text("SELECT * FROM audit_entries WHERE seq IN (3, 4)"))
        }
        for seq, other in ((3, 4), (4, 3)):
            conn.execute(
                sa.text("UPDATE audit_entries SET payload = :p, recorded_at = :t WHERE seq = :s"),
                {"p": rows[other].payload, "t": rows[other].recorded_at, "s": seq},
            )
    report = ws.ledger.verify()
    assert report.first_bad is not None and report.first_bad.seq == 3


def test_inserted_row_is_caught(ws: Workspace) -> None:
    append_events(ws, 5)
    # Shift entries 3.. up by one, insert a forged entry 3 chained to entry 2, and re-point the
    # shifted entry at the forgery (prev_hash is unique, so the chain cannot simply fork).
    with ws.db.engine.begin() as conn:
        for seq in (5, 4, 3):
            conn.execute(
                sa.text("UPDATE audit_entries SET seq = seq + 1 WHERE seq = :s"), {"s": seq}
            )
        prev = conn.execute(sa.text("SELECT hash FROM audit_entries WHERE seq = 2")).scalar_one()
        forged = entry_hash(prev, 3, "2026-01-01T00:00:00+00:00", "mallory", "forged", None, "{}")
        conn.execute(
            sa.text("UPDATE audit_entries SET prev_hash = :h WHERE seq = 4"), {"h": forged}
        )
        forge_entry(conn, 3, "2026-01-01T00:00:00+00:00", "mallory", "forged", None, prev)
    report = ws.ledger.verify()
    assert report.first_bad is not None and report.first_bad.seq == 3
    assert "checkpoint" in report.first_bad.reason  # entry 3 was signed with another head


def test_fully_recomputed_chain_is_caught_by_the_signed_checkpoints(ws: Workspace) -> None:
    """Someone with database access alone edits entry 2 and recomputes every hash after it."""
    append_events(ws, 10, per_transaction=5)
    with ws.db.engine.begin() as conn:
        rows = list(conn.execute(sa.text("SELECT * FROM audit_entries ORDER BY seq")))
        prev = "0" * 64
        for row in rows:
            payload = '{"i":12345}' if row.seq == 2 else row.payload
            digest = entry_hash(
                prev, row.seq, row.recorded_at, row.actor, row.action, row.charter, payload
            )
            conn.execute(
                sa.text(
                    "UPDATE audit_entries SET payload = :p, prev_hash = :ph, hash = :h WHERE seq = :s"
                ),
                {"p": payload, "ph": "x" + str(row.seq), "h": "y" + str(row.seq), "s": row.seq},
            )
            conn.execute(
                sa.text("UPDATE audit_entries SET prev_hash = :ph, hash = :h WHERE seq = :s"),
                {"ph": prev, "h": digest, "s": row.seq},
            )
            prev = digest
        # The forger also re-points the checkpoints at the new hashes; without the key, the
        # signatures cannot follow.
        conn.execute(
            sa.text(
                "UPDATE audit_checkpoints SET head_hash = (SELECT hash FROM audit_entries WHERE audit_entries.seq = audit_checkpoints.seq)"
            )
        )
    report = ws.ledger.verify()
    assert not report.ok
    assert report.first_bad is not None and "checkpoint" in report.first_bad.reason


def test_recomputed_chain_without_touching_checkpoints_is_caught(ws: Workspace) -> None:
    append_events(ws, 6, per_transaction=3)
    with ws.db.engine.begin() as conn:
        rows = list(conn.execute(sa.text("SELECT * FROM audit_entries ORDER BY seq")))
        prev = "0" * 64
        updates = []
        for row in rows:
            payload = '{"i":-1}' if row.seq == 1 else row.payload
            digest = entry_hash(
                prev, row.seq, row.recorded_at, row.actor, row.action, row.charter, payload
            )
            updates.append({"p": payload, "ph": prev, "h": digest, "s": row.seq})
            prev = digest
        conn.execute(sa.text("DELETE FROM audit_entries"))
        for u in updates:
            conn.execute(
                sa.text(
                    "INSERT INTO audit_entries (seq, recorded_at, actor, action, charter, payload, prev_hash, hash)"
                    " SELECT :s, 't', 'a', 'x', NULL, :p, :ph, :h"
                ),
                u,
            )
    report = ws.ledger.verify()
    assert report.first_bad is not None
    assert report.first_bad.seq == 1  # content edits are caught first, before the checkpoint


def test_forged_entry_at_the_tail_is_caught(ws: Workspace) -> None:
    append_events(ws, 4)
    with ws.db.engine.begin() as conn:
        prev = conn.execute(sa.text("SELECT hash FROM audit_entries WHERE seq = 4")).scalar_one()
        forge_entry(conn, 5, "t", "mallory", "approve", "c", prev)
    report = ws.ledger.verify()
    assert report.first_bad is not None and report.first_bad.seq == 5
    assert "never signed" in report.first_bad.reason


def test_deleted_checkpoint_is_caught(ws: Workspace) -> None:
    append_events(ws, 6)
    sql(ws, "DELETE FROM audit_checkpoints WHERE seq = 3")
    report = ws.ledger.verify()
    assert report.first_bad is not None and report.first_bad.seq == 4
    assert "checkpoint" in report.first_bad.reason


def test_truncated_tail_is_caught(ws: Workspace) -> None:
    append_events(ws, 6)
    sql(ws, "DELETE FROM audit_entries WHERE seq >= 5")
    report = ws.ledger.verify()
    assert report.first_bad is not None and report.first_bad.seq == 5
    assert "truncated" in report.first_bad.reason


def test_missing_key_is_a_clear_error(ws: Workspace, tmp_path: Path) -> None:
    from charter.errors import AuditError

    append_events(ws, 2)
    ws.audit_key_file.unlink()
    with pytest.raises(AuditError, match=r"audit key .* is missing"):
        Workspace(ws.root, settings=Settings()).ledger.verify()


def test_verify_cli_json_shape_and_exit_codes(ws: Workspace, cli: Any) -> None:
    append_events(ws, 3)
    ok = cli("audit", "verify", "--json")
    assert ok.code == 0
    assert ok.json() == {
        "ok": True,
        "entries": 3,
        "checkpoints": 3,
        "first_bad": None,
        "state_rows": 0,
        "state_problems": [],
    }
    sql(ws, "UPDATE audit_entries SET actor = 'mallory' WHERE seq = 2")
    bad = cli("audit", "verify", "--json")
    assert bad.code == 1
    assert bad.json()["first_bad"]["seq"] == 2
    human = cli("audit", "verify")
    assert human.code == 1 and "seq 2" in human.stdout


def test_export_jsonl_and_parquet(ws: Workspace, cli: Any, tmp_path: Path) -> None:
    append_events(ws, 12, per_transaction=4)
    out = tmp_path / "a.jsonl"
    assert cli("audit", "export", "--format", "jsonl", "-o", str(out)).code == 0
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [row["seq"] for row in lines] == list(range(1, 13))
    assert lines[3]["payload"] == {"i": 3}
    pq_out = tmp_path / "a.parquet"
    result = cli("audit", "export", "--format", "parquet", "-o", str(pq_out), "--json")
    assert result.json()["entries"] == 12
    frame = pl.read_parquet(pq_out)
    assert frame.height == 12 and frame["hash"].to_list() == [row["hash"] for row in lines]
    assert cli("audit", "export", "--format", "xml").code == 2


WRITER = """
import sys
from charter.settings import Settings
from charter.workspace import Workspace
ws = Workspace(sys.argv[1], settings=Settings())
for i in range(int(sys.argv[2])):
    with ws.db.session() as session:
        ws.ledger.append(session, "concurrent", {"writer": sys.argv[3], "i": i}, actor=sys.argv[3])
ws.close()
"""


def test_two_processes_appending_at_once_never_fork_the_chain(workspace_dir: Path) -> None:
    writers = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(workspace_dir), "150", f"w{n}"])
        for n in range(2)
    ]
    assert [p.wait(timeout=240) for p in writers] == [0, 0]
    ws = Workspace(workspace_dir, settings=Settings())
    report = ws.ledger.verify()
    assert report.ok, report.first_bad
    assert report.entries == 300
    by_writer: dict[str, list[int]] = {}
    for entry in ws.ledger.iter_all():
        data = json.loads(entry.payload)
        by_writer.setdefault(data["writer"], []).append(data["i"])
    assert sorted(by_writer) == ["w0", "w1"]
    assert all(values == list(range(150)) for values in by_writer.values())
    ws.close()


def test_ledger_is_reusable_across_workspace_objects(ws: Workspace) -> None:
    append_events(ws, 2)
    other = Workspace(ws.root, settings=Settings())
    with other.db.session() as session:
        other.ledger.append(session, "x", {}, actor="b")
    assert other.ledger.verify().entries == 3
    assert isinstance(other.ledger, Ledger)
    other.close()


# -- remembering what was verified --------------------------------------------------------------
def _checked(ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The seqs whose entries the next verifications check one by one."""
    seen: list[int] = []
    real = Ledger._check_entry

    def spy(self: Ledger, entry: Any, *args: Any) -> Any:
        seen.append(entry.seq)
        return real(self, entry, *args)

    monkeypatch.setattr(Ledger, "_check_entry", spy)
    return seen


def test_a_second_verification_checks_only_the_entries_after_the_remembered_checkpoint(
    ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws.__dict__[_WARM] = False  # this test verifies when it says so
    append_events(ws, 8, per_transaction=4)
    checked = _checked(ws, monkeypatch)
    first = ws.ledger.verify()
    append_events(ws, 3)  # entries 9..11, each signed
    checked.clear()

    second = ws.ledger.verify()

    assert first.ok and second.ok and second.entries == 11 and second.checkpoints == 5
    assert checked == [9, 10, 11]


@pytest.mark.parametrize("column", ["payload", "actor", "recorded_at", "hash"])
def test_an_entry_edited_inside_the_remembered_prefix_is_caught(
    ws: Workspace, monkeypatch: pytest.MonkeyPatch, column: str
) -> None:
    append_events(ws, 10, per_transaction=5)
    assert ws.ledger.verify().ok
    append_events(ws, 2)
    sql(ws, f"UPDATE audit_entries SET {column} = :v WHERE seq = 3", v="edited")
    checked = _checked(ws, monkeypatch)

    report = ws.ledger.verify()

    assert not report.ok and report.first_bad is not None and report.first_bad.seq in (3, 4)
    assert checked[0] == 1  # the whole chain was walked again
    assert not ws.ledger.verify().ok  # and a failed verification is never remembered


def test_an_edited_checkpoint_inside_the_remembered_prefix_is_caught(ws: Workspace) -> None:
    append_events(ws, 6, per_transaction=2)
    assert ws.ledger.verify().ok
    sql(ws, "UPDATE audit_checkpoints SET signed_at = 'then' WHERE seq = 2")

    report = ws.ledger.verify()

    assert not report.ok and report.first_bad is not None and report.first_bad.seq == 2
