"""The audit key: a secret kept outside the database, used to sign checkpoints.

Anyone with write access to the database alone can rewrite the hash chain and recompute every hash;
they cannot produce a valid signature over the new head without this key.

Two algorithms (``CHARTER_AUDIT_ALGORITHM``):

- ``hmac`` (default): HMAC-SHA256 with a 256-bit secret; whoever verifies needs the secret too.
- ``ed25519``: an asymmetric signature (the ``cryptography`` package); whoever verifies needs only
  the public key (``CHARTER_AUDIT_PUBLIC_KEY``, hex), so auditors and read-only machines never
  hold the signing key.

The key comes from a file (``CHARTER_AUDIT_KEY_FILE``) or from a command that prints it
(``CHARTER_AUDIT_KEY_COMMAND``, e.g. a KMS or vault client), so a team's machines share one signing
identity. A key file is created only while the ledger is still empty: once checkpoints exist, a
missing key is an :class:`~charter.errors.AuditKeyError`, never silently replaced.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import shlex
import subprocess
from pathlib import Path

from charter.errors import AuditKeyError

ALGORITHMS = ("hmac", "ed25519")
COMMAND_TIMEOUT_SECONDS = 30


class AuditKey:
    """Signing and checking checkpoint signatures with the configured key."""

    def __init__(
        self,
        path: Path,
        *,
        algorithm: str = "hmac",
        command: str | None = None,
        public_key: str | None = None,
    ) -> None:
        if algorithm not in ALGORITHMS:
            raise AuditKeyError(
                f"CHARTER_AUDIT_ALGORITHM is {algorithm!r}; use one of {', '.join(ALGORITHMS)}"
            )
        self.path = path
        self.algorithm = algorithm
        self.command = command
        self.public_key = public_key
        self._secret: bytes | None = None

    @classmethod
    def from_secret(cls, algorithm: str, secret_hex: str) -> AuditKey:
        """A key held in memory (a retired key from the keyring)."""
        key = cls(Path(os.devnull), algorithm=algorithm)
        key._secret = bytes.fromhex(secret_hex)
        return key

    @classmethod
    def from_public(cls, public_hex: str) -> AuditKey:
        """An ed25519 key that can only verify."""
        return cls(Path(os.devnull), algorithm="ed25519", public_key=public_hex)

    def forget(self) -> None:
        """Drop the cached key, so the next use reads it again (after a rotation)."""
        self._secret = None

    def exists(self) -> bool:
        return self.command is not None or self.path.exists()

    # -- the secret ---------------------------------------------------------------------------
    def secret(self, *, create: bool) -> bytes:
        """The signing key. ``create`` (only while the ledger is empty) writes a new key file."""
        if self._secret is None:
            text = self._from_command() if self.command else self._from_file(create=create)
            try:
                self._secret = bytes.fromhex(text.strip())
            except ValueError:
                raise AuditKeyError(
                    f"the audit key {self._where} is not a hex-encoded key"
                ) from None
            if len(self._secret) != 32:
                raise AuditKeyError(f"the audit key {self._where} is not 32 bytes (64 hex digits)")
        return self._secret

    @property
    def _where(self) -> str:
        return f"from `{self.command}`" if self.command else str(self.path)

    def _from_command(self) -> str:
        assert self.command is not None
        try:
            done = subprocess.run(
                shlex.split(self.command),
                capture_output=True,
                text=True,
                timeout=COMMAND_TIMEOUT_SECONDS,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise AuditKeyError(f"the audit key command `{self.command}` failed: {exc}") from exc
        if done.returncode != 0 or not done.stdout.strip():
            raise AuditKeyError(
                f"the audit key command `{self.command}` printed no key "
                f"(exit {done.returncode}): {done.stderr.strip()[:200]}"
            )
        return done.stdout

    def _from_file(self, *, create: bool) -> str:
        if not self.path.exists():
            if not create:
                raise AuditKeyError(
                    f"the audit key {self.path} is missing, so signed checkpoints cannot be "
                    "made or checked; the ledger already has checkpoints, so a new key would "
                    "make every old one fail",
                    hint="Restore the key file (or set CHARTER_AUDIT_KEY_FILE to where it is).",
                )
            self._write_new()
        return self.path.read_text()

    def _write_new(self) -> None:
        """Create the key atomically: written to a temporary file, then linked into place, so a
        concurrent process either sees no key or the whole key, and the first one wins."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_name(f".{self.path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32) + "\n")
        try:
            os.link(temporary, self.path)
        except FileExistsError:
            pass
        finally:
            temporary.unlink()

    # -- identity -----------------------------------------------------------------------------
    def public_hex(self, *, create: bool = False) -> str:
        """The ed25519 public key (hex): from CHARTER_AUDIT_PUBLIC_KEY, or derived."""
        if self.algorithm != "ed25519":
            raise AuditKeyError("an HMAC audit key has no public part; share the key itself")
        if self.public_key and self._secret is None and not create:
            return _public_text(self.public_key)
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

        private = Ed25519PrivateKey.from_private_bytes(self.secret(create=create))
        return private.public_key().public_bytes_raw().hex()

    def key_id(self, *, create: bool = False) -> str:
        if self.algorithm == "ed25519":
            material = bytes.fromhex(self.public_hex(create=create))
            return "ed25519:" + hashlib.sha256(material).hexdigest()[:8]
        return hashlib.sha256(self.secret(create=create)).hexdigest()[:16]

    # -- signing ------------------------------------------------------------------------------
    def sign(self, message: str, *, create: bool = True) -> str:
        secret = self.secret(create=create)
        if self.algorithm == "ed25519":
            from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

            return Ed25519PrivateKey.from_private_bytes(secret).sign(message.encode()).hex()
        return hmac.new(secret, message.encode(), hashlib.sha256).hexdigest()

    def valid(self, message: str, signature: str) -> bool:
        if self.algorithm == "ed25519":
            from cryptography.exceptions import InvalidSignature
            from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

            public = Ed25519PublicKey.from_public_bytes(bytes.fromhex(self.public_hex()))
            try:
                public.verify(bytes.fromhex(signature), message.encode())
            except (InvalidSignature, ValueError):
                return False
            return True
        expected = hmac.new(self.secret(create=False), message.encode(), hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, signature)


def _public_text(value: str) -> str:
    """CHARTER_AUDIT_PUBLIC_KEY: the key in hex, or the path of a file holding it (exported)."""
    text = value.strip()
    if len(text) != 64 or any(c not in "0123456789abcdefABCDEF" for c in text):
        try:
            text = Path(text).expanduser().read_text().strip()
        except OSError as exc:
            raise AuditKeyError(
                f"CHARTER_AUDIT_PUBLIC_KEY is neither a hex ed25519 public key nor a readable "
                f"file: {exc}"
            ) from exc
    return text.lower()


def checkpoint_message(seq: int, head_hash: str, signed_at: str, previous_signature: str) -> str:
    """What a checkpoint signs; including the previous signature chains the checkpoints too."""
    return f"charter-audit-checkpoint|{seq}|{head_hash}|{signed_at}|{previous_signature}"
