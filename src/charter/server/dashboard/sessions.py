"""Browser sessions over API tokens, and the CSRF tokens of every form.

Signing in exchanges an API token (``charter tokens create``) for a session cookie. The cookie
holds the token and a random nonce, encrypted and authenticated with the workspace's session key
(Fernet), so only this server can read it and nobody can forge one. Every request re-checks the
token (:func:`charter.tokens.authenticate`): revoking or expiring a token ends its sessions at once.

CSRF: a signed-in form carries ``HMAC(key, "csrf|" + nonce)``; the sign-in form (no session yet)
carries ``HMAC(key, "login|" + value)`` of a random value kept in a short-lived cookie. Both are
compared in constant time. The key lives in ``<state>/keys/dashboard-session.key`` (created once,
0600), so every worker process and every restart agrees on it.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from charter.workspace import Workspace

SESSION_COOKIE = "charter_session"
LOGIN_COOKIE = "charter_login"
SESSION_SECONDS = 12 * 3600  # a working day: then sign in again
LOGIN_SECONDS = 3600


@dataclass(frozen=True)
class Session:
    token: str
    nonce: str


def key_path(ws: Workspace) -> Path:
    return ws.state_dir / "keys" / "dashboard-session.key"


def _load_key(ws: Workspace) -> bytes:
    """The workspace's session key; the first process to need one writes it (atomically)."""
    path = key_path(ws)
    with contextlib.suppress(FileNotFoundError):
        return path.read_bytes().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(6)}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(Fernet.generate_key())
    try:
        os.link(temporary, path)  # fails if another process won the race: use its key
    except FileExistsError:
        pass
    finally:
        temporary.unlink()
    return path.read_bytes().strip()


class Sessions:
    """Seal and open session cookies, and make and check CSRF tokens, with one key."""

    def __init__(self, ws: Workspace) -> None:
        self._ws = ws
        self._key: bytes | None = None

    @property
    def key(self) -> bytes:
        if self._key is None:
            self._key = _load_key(self._ws)
        return self._key

    def seal(self, token: str) -> str:
        body = json.dumps({"t": token, "n": secrets.token_urlsafe(16)}).encode()
        return Fernet(self.key).encrypt(body).decode()

    def open(self, cookie: str | None) -> Session | None:
        """The session in ``cookie``, or None when it is missing, forged or too old."""
        if not cookie:
            return None
        try:
            body = json.loads(Fernet(self.key).decrypt(cookie.encode(), ttl=SESSION_SECONDS))
        except (InvalidToken, ValueError):
            return None
        if not isinstance(body, dict) or not all(isinstance(body.get(k), str) for k in "tn"):
            return None
        return Session(body["t"], body["n"])

    def _mac(self, purpose: str, value: str) -> str:
        return hmac.new(self.key, f"{purpose}|{value}".encode(), hashlib.sha256).hexdigest()

    def csrf(self, session: Session) -> str:
        return self._mac("csrf", session.nonce)

    def login_csrf(self, value: str) -> str:
        return self._mac("login", value)

    @staticmethod
    def same(given: str | None, expected: str) -> bool:
        return bool(given) and hmac.compare_digest(str(given), expected)
