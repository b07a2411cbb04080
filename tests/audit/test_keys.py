"""Audit keys: never silently replaced, shareable by a team (a command, ed25519 public keys)."""

from __future__ import annotations

import secrets
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from charter.errors import AuditKeyError
from charter.settings import Settings
from charter.store.tables import AuditEntry
from charter.workspace import Workspace


def append(ws: Workspace, count: int = 1) -> None:
    for i in range(count):
        with ws.db.session() as session:
            ws.ledger.append(session, "test.event", {"i": i}, actor="tester")


def machine(root: Path, monkeypatch: pytest.MonkeyPatch, **env: str) -> Workspace:
    """Another machine on the same store: its own environment, the same database."""
    for name in ("AUDIT_KEY_FILE", "AUDIT_KEY_COMMAND", "AUDIT_ALGORITHM", "AUDIT_PUBLIC_KEY"):
        monkeypatch.delenv(f"CHARTER_{name}", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(f"CHARTER_{name}", value)
    return Workspace(root, settings=Settings())


def test_a_missing_key_is_an_error_once_the_ledger_has_checkpoints(ws: Workspace) -> None:
    append(ws, 2)
    ws.audit_key_file.unlink()
    other = Workspace(ws.root, settings=Settings())
    with pytest.raises(AuditKeyError, match=r"audit key .* is missing"):
        append(other)
    assert not ws.audit_key_file.exists()  # not replaced by a new key
    with other.db.read() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(AuditEntry)) == 2
    other.close()


def test_a_key_is_created_only_for_an_empty_ledger(ws: Workspace) -> None:
    assert not ws.audit_key_file.exists()
    append(ws)
    assert ws.audit_key_file.exists() and ws.ledger.verify().ok


def test_two_machines_with_their_own_default_keys_disagree_but_a_shared_command_agrees(
    workspace_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = machine(workspace_dir, monkeypatch, AUDIT_KEY_FILE=str(tmp_path / "a.key"))
    append(first, 2)
    second = machine(workspace_dir, monkeypatch, AUDIT_KEY_FILE=str(tmp_path / "b.key"))
    with pytest.raises(AuditKeyError):  # the second machine's own key does not exist: refused
        append(second)
    (tmp_path / "b.key").write_text(secrets.token_hex(32))
    assert not second.ledger.verify().ok  # a different key sees the other's checkpoints as forged
    first.close()
    second.close()

    shared = tmp_path / "kms-secret"
    shared.write_text((tmp_path / "a.key").read_text())
    command = f"{sys.executable} -c \"print(open('{shared}').read())\""
    one = machine(workspace_dir, monkeypatch, AUDIT_KEY_COMMAND=command)
    append(one, 2)
    two = machine(workspace_dir, monkeypatch, AUDIT_KEY_COMMAND=command)
    append(two, 2)
    assert one.ledger.verify().ok and two.ledger.verify().entries == 6
    one.close()
    two.close()


def test_a_failing_key_command_is_a_clear_error(
    workspace_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = machine(workspace_dir, monkeypatch, AUDIT_KEY_COMMAND=f"{sys.executable} -c 'exit(3)'")
    with pytest.raises(AuditKeyError, match=r"printed no key \(exit 3\)"):
        append(ws)
    ws.close()


def test_ed25519_checkpoints_verify_with_the_public_key_alone(
    workspace_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    signer = machine(
        workspace_dir, monkeypatch, AUDIT_ALGORITHM="ed25519", AUDIT_KEY_FILE=str(tmp_path / "k")
    )
    append(signer, 3)
    public = signer.ledger.key.public_hex()
    assert signer.ledger.verify().ok
    signer.close()

    auditor = machine(
        workspace_dir,
        monkeypatch,
        AUDIT_ALGORITHM="ed25519",
        AUDIT_KEY_FILE=str(tmp_path / "nowhere"),
        AUDIT_PUBLIC_KEY=public,
    )
    report = auditor.ledger.verify()
    assert report.ok and report.checkpoints == 3
    assert not (tmp_path / "nowhere").exists()
    with auditor.db.engine.begin() as conn:
        conn.execute(sa.text("UPDATE audit_entries SET actor = 'mallory' WHERE seq = 2"))
    assert not auditor.ledger.verify().ok
    auditor.close()

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    stranger = Ed25519PrivateKey.generate().public_key().public_bytes_raw().hex()
    wrong = machine(
        workspace_dir, monkeypatch, AUDIT_ALGORITHM="ed25519", AUDIT_PUBLIC_KEY=stranger
    )
    bad = wrong.ledger.verify()
    assert not bad.ok and bad.first_bad is not None and "checkpoint" in bad.first_bad.reason
    wrong.close()
