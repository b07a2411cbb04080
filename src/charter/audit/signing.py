"""The audit key: a secret kept in a file outside the database, used to sign checkpoints.

Anyone with write access to the database alone can rewrite the hash chain and recompute every hash;
they cannot produce a valid HMAC over the new head without this key.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

from charter.errors import AuditError


class AuditKey:
    """HMAC-SHA256 signing with a 256-bit key read from (or, the first time, written to) a file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._secret: bytes | None = None

    def exists(self) -> bool:
        return self.path.exists()

    def secret(self, *, create: bool) -> bytes:
        if self._secret is None:
            if not self.path.exists():
                if not create:
                    raise AuditError(
                        f"the audit key {self.path} is missing, so signed checkpoints cannot be "
                        "checked",
                        hint="Restore the key file (or set CHARTER_AUDIT_KEY_FILE to where it is).",
                    )
                self._write_new()
            text = self.path.read_text().strip()
            try:
                self._secret = bytes.fromhex(text)
            except ValueError:
                raise AuditError(f"the audit key {self.path} is not a hex-encoded key") from None
        return self._secret

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

    def key_id(self, *, create: bool = False) -> str:
        return hashlib.sha256(self.secret(create=create)).hexdigest()[:16]

    def sign(self, message: str) -> str:
        return hmac.new(self.secret(create=True), message.encode(), hashlib.sha256).hexdigest()

    def valid(self, message: str, signature: str) -> bool:
        expected = hmac.new(self.secret(create=False), message.encode(), hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, signature)


def checkpoint_message(seq: int, head_hash: str, signed_at: str, previous_signature: str) -> str:
    """What a checkpoint signs; including the previous signature chains the checkpoints too."""
    return f"charter-audit-checkpoint|{seq}|{head_hash}|{signed_at}|{previous_signature}"
