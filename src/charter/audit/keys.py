"""Audit key rotation and the retired keys that keep old checkpoints verifiable.

Each checkpoint records the ``key_id`` it was signed with. :func:`rotate` replaces the key file
with a new key and keeps the old one verifiable twice over:

- its key is appended to the *keyring* beside the key file (``<key file>.retired``, mode 0600,
  one JSON object per line), so the machine that signs can check every old checkpoint;
- an ``audit.key_rotated`` ledger entry records the retired and the new key id, and, for
  ed25519, the retired *public* key, so a verifier holding only public keys checks old checkpoints
  too. A retired key is trusted only for checkpoints before the entry that retired it: the
  checkpoints after it are signed with the new key and chain to the old signatures, so a forger
  cannot use a retired key to rewrite history.

:func:`verifiers` picks the key for each checkpoint when the ledger is verified.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from charter.audit.signing import AuditKey
from charter.errors import AuditKeyError
from charter.schemas import audit as schemas
from charter.store import Session
from charter.store import ledger as store

if TYPE_CHECKING:
    from charter.audit.ledger import Ledger

ROTATED = "audit.key_rotated"
Check = Callable[[str, str], bool]


def keyring_path(key: AuditKey) -> Path:
    return key.path.with_name(key.path.name + ".retired")


def read_keyring(key: AuditKey) -> list[dict[str, Any]]:
    path = keyring_path(key)
    if key.command or not path.exists():
        return []
    try:
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    except (OSError, ValueError) as exc:
        raise AuditKeyError(f"the retired audit keys in {path} cannot be read: {exc}") from exc


def _rotations(session: Session) -> list[tuple[int, dict[str, Any]]]:
    return [
        (seq, json.loads(payload))
        for seq, payload in store.seq_payloads_of_action(session, ROTATED)
    ]


def verifiers(key: AuditKey, session: Session) -> Callable[[str, int], Check | None]:
    """A lookup ``(key_id, checkpoint seq) -> signature check``, None for an unknown key."""
    current = key.key_id()
    retired: dict[str, tuple[int | None, AuditKey]] = {}
    for item in read_keyring(key):
        retired[str(item["key_id"])] = (None, AuditKey.from_secret(item["algorithm"], item["key"]))
    for seq, payload in _rotations(session):
        old = payload.get("retired") or {}
        if old.get("public_key") and old.get("key_id") not in retired:
            public = AuditKey.from_public(str(old["public_key"]))
            retired[str(old["key_id"])] = (seq, public)

    def lookup(key_id: str, seq: int) -> Check | None:
        if key_id == current:
            return key.valid
        found = retired.get(key_id)
        if found is None or (found[0] is not None and seq >= found[0]):
            return None
        return found[1].valid

    return lookup


def _describe(key: AuditKey) -> dict[str, Any]:
    body: dict[str, Any] = {"key_id": key.key_id(), "algorithm": key.algorithm}
    if key.algorithm == "ed25519":
        body["public_key"] = key.public_hex()
    return body


def rotate(ledger: Ledger, *, actor: str) -> schemas.KeyRotation:
    """Sign from now on with a new key in the key file; the old one stays verifiable."""
    key = ledger.key
    if key.command:
        raise AuditKeyError(
            "the audit key comes from CHARTER_AUDIT_KEY_COMMAND; charter cannot replace it",
            hint="Rotate it where it is kept; a key file can be rotated with this command.",
        )
    old_secret = key.secret(create=False)
    retired = _describe(key)
    with ledger.db.read() as session:
        if store.checkpoint_count(session) == 0:
            raise AuditKeyError("the ledger has no checkpoints yet: there is no key to rotate")
    _append_keyring(key, retired["key_id"], old_secret)  # first: the old key is never lost
    _replace_key_file(key.path)
    key.forget()
    current = _describe(key)
    with ledger.db.session() as session:
        ledger.append(session, ROTATED, {"retired": retired, "current": current}, actor=actor)
    return schemas.KeyRotation(
        retired=schemas.AuditKey(**retired),
        current=schemas.AuditKey(**current),
        keyring=str(keyring_path(key)),
    )


def _append_keyring(key: AuditKey, key_id: str, secret: bytes) -> None:
    line = json.dumps({"key_id": key_id, "algorithm": key.algorithm, "key": secret.hex()})
    fd = os.open(keyring_path(key), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(fd, "a") as handle:
        handle.write(line + "\n")
        handle.flush()
        os.fsync(handle.fileno())


def _replace_key_file(path: Path) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(secrets.token_hex(32) + "\n")
    os.replace(temporary, path)


def list_keys(ledger: Ledger) -> schemas.AuditKeys:
    """The current key and every key the checkpoints were signed with, and how each is known."""
    with ledger.snapshot() as session:
        rows = store.checkpoints_by_key(session)
        rotations = _rotations(session)
    current = _describe(ledger.key)
    in_ledger = {str((p.get("retired") or {}).get("key_id")) for _, p in rotations}
    in_keyring = {str(item["key_id"]) for item in read_keyring(ledger.key)}
    keys = []
    for key_id, count, first, last in sorted(rows, key=lambda r: r[2]):
        if key_id == current["key_id"]:
            status = "current"
        elif key_id in in_ledger or key_id in in_keyring:
            status = "retired"
        else:
            status = "unknown"
        keys.append(
            schemas.SigningKey(
                key_id=key_id,
                status=status,
                checkpoints=int(count),
                first_seq=int(first),
                last_seq=int(last),
                in_keyring=key_id in in_keyring,
                in_ledger=key_id in in_ledger,
            )
        )
    return schemas.AuditKeys(
        current=schemas.AuditKey(**current), keys=keys, rotations=len(rotations)
    )


def export_public(ledger: Ledger, output: Path | None) -> schemas.PublicKey:
    """The public key for verifiers (ed25519 only), written to ``output`` when given."""
    body = _describe(ledger.key)
    if ledger.key.algorithm != "ed25519":
        raise AuditKeyError(
            "the audit key is an HMAC key: it has no public part, and whoever verifies needs "
            "the key itself",
            hint="Use CHARTER_AUDIT_ALGORITHM=ed25519 for keys whose public part can be shared.",
        )
    if output is not None:
        try:
            output.parent.mkdir(parents=True, exist_ok=True)
            output.write_text(body["public_key"] + "\n")
        except OSError as exc:
            raise AuditKeyError(f"cannot write the public key to {output}: {exc}") from exc
        body["file"] = str(output)
    return schemas.PublicKey(**body)
