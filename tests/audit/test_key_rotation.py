"""``charter audit keys list|rotate|export``: after a rotation, old checkpoints stay verifiable."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from charter.settings import Settings
from charter.workspace import Workspace


def append(ws: Workspace, count: int) -> None:
    for i in range(count):
        with ws.db.session() as session:
            ws.ledger.append(session, "test.event", {"i": i}, actor="tester")


def fresh(ws: Workspace) -> Workspace:
    """The same workspace as the next command sees it (nothing cached)."""
    return Workspace(ws.root, settings=Settings())


def test_hmac_rotation_keeps_old_checkpoints_verifiable_through_the_keyring(
    ws: Workspace, cli: Any
) -> None:
    append(ws, 3)
    old = ws.audit_key_file.read_text()
    rotated = cli("audit", "keys", "rotate", "--json")
    assert rotated.code == 0, rotated.stderr
    body = rotated.json()
    assert body["retired"]["key_id"] != body["current"]["key_id"]
    assert ws.audit_key_file.read_text() != old
    later = fresh(ws)
    append(later, 2)
    assert cli("audit", "verify").code == 0

    listing = cli("audit", "keys", "list", "--json").json()
    assert listing["current"]["key_id"] == body["current"]["key_id"]
    assert [(k["key_id"], k["status"], k["checkpoints"]) for k in listing["keys"]] == [
        (body["retired"]["key_id"], "retired", 3),
        (body["current"]["key_id"], "current", 3),  # the rotation entry's and two more
    ]

    Path(body["keyring"]).unlink()  # an HMAC key is only in the keyring: without it ...
    report = cli("audit", "verify", "--json").json()
    assert report["ok"] is False and "neither the audit key" in report["first_bad"]["reason"]
    later.close()


def test_ed25519_rotation_is_verifiable_with_public_keys_alone(
    workspace_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Any
) -> None:
    monkeypatch.setenv("CHARTER_AUDIT_ALGORITHM", "ed25519")
    signer = Workspace(workspace_dir, settings=Settings())
    append(signer, 2)
    assert cli("audit", "keys", "rotate").code == 0
    append(fresh(signer), 2)
    public_file = tmp_path / "audit.pub"
    exported = cli("audit", "keys", "export", "-o", str(public_file), "--json")
    assert exported.code == 0 and public_file.read_text().strip() == exported.json()["public_key"]

    # An auditor: the exported public key, no signing key and no keyring.
    monkeypatch.setenv("CHARTER_AUDIT_KEY_FILE", str(tmp_path / "auditor" / "none.key"))
    monkeypatch.setenv("CHARTER_AUDIT_PUBLIC_KEY", str(public_file))
    auditor = Workspace(workspace_dir, settings=Settings())
    report = auditor.ledger.verify()
    assert report.ok and report.checkpoints == 5
    assert cli("audit", "verify").code == 0
    auditor.close()
    signer.close()


def test_hmac_keys_have_nothing_to_export(ws: Workspace, cli: Any) -> None:
    append(ws, 1)
    result = cli("audit", "keys", "export", "--json")
    assert result.code == 1 and "no public part" in result.json()["error"]["message"]


def test_a_key_from_a_command_is_not_rotated_by_charter(
    ws: Workspace, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    append(ws, 1)
    secret = ws.audit_key_file.read_text().strip()
    command = f"{sys.executable} -c 'print(\"{secret}\")'"
    monkeypatch.setenv("CHARTER_AUDIT_KEY_COMMAND", command)
    assert cli("audit", "verify").code == 0
    result = cli("audit", "keys", "rotate")
    assert result.code == 1 and "CHARTER_AUDIT_KEY_COMMAND" in result.stderr
    assert ws.audit_key_file.read_text().strip() == secret
