"""Audit results: ``charter audit verify``, ``charter audit export`` and ``charter audit keys``."""

from __future__ import annotations

from pydantic import Field

from charter.schemas.base import Facts, Result


class BadEntry(Result):
    """The first ledger entry that does not verify."""

    seq: int
    reason: str


class AuditVerify(Result):
    """``charter audit verify --json``: the chain, the signed checkpoints, the bound state rows."""

    ok: bool
    entries: int
    checkpoints: int
    first_bad: BadEntry | None
    state_rows: int
    state_problems: list[Facts]


class AuditExport(Result):
    """``charter audit export --json``."""

    file: str
    format: str
    entries: int


class AuditKey(Result):
    """An audit key as a verifier knows it: its id, algorithm and (ed25519) public key."""

    key_id: str
    algorithm: str
    public_key: str | None = Field(default=None, exclude_if=lambda v: v is None)


class SigningKey(Result):
    """A key the checkpoints were signed with, and how charter knows it."""

    key_id: str
    status: str = Field(description="current, retired or unknown.")
    checkpoints: int
    first_seq: int
    last_seq: int
    in_keyring: bool
    in_ledger: bool


class AuditKeys(Result):
    """``charter audit keys list --json``."""

    current: AuditKey
    keys: list[SigningKey]
    rotations: int


class KeyRotation(Result):
    """``charter audit keys rotate --json``: the retired key, the new one, the keyring file."""

    retired: AuditKey
    current: AuditKey
    keyring: str


class PublicKey(Result):
    """``charter audit keys export --json``: the ed25519 public key verifiers need."""

    key_id: str
    algorithm: str
    public_key: str
    file: str | None = Field(default=None, exclude_if=lambda v: v is None)
