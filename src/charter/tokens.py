"""HTTP API tokens: who is calling, and with which role.

A token is ``chr_`` followed by 43 random URL-safe characters. It is printed once, by
:func:`create_token`; the store keeps only its SHA-256, so a copy of the database cannot be used
to call the API. Roles are ordered: ``viewer`` reads; ``operator`` also predicts and sends labels;
``owner`` also decides, but only on the charters that name the identity as owner or delegate
(that rule is :func:`charter.lifecycle.decisions.check_decider`, not a role check).

Creating and revoking a token is recorded in the audit ledger (never the token itself).

With ``CHARTER_SERVER_JWT_ISSUER`` set, :func:`authenticate` also takes the identity provider's
JWTs (:mod:`charter.idp`): the JWT's email is the identity and its mapped role the role, exactly
as if it were a token of that identity (``kind`` ``"jwt"``, nothing stored).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from charter import idp
from charter.errors import AuthenticationError, CharterError, PermissionDeniedError
from charter.schemas import tokens as schemas
from charter.spec.durations import parse_duration
from charter.store import tokens as store
from charter.store.statuses import TokenRole
from charter.store.tables import ApiToken
from charter.workspace import Workspace

PREFIX = "chr_"
ROLES = tuple(role.value for role in TokenRole)
Role = Literal["viewer", "operator", "owner"]
_SHOWN = 10  # characters of a token kept in clear, to tell tokens apart in a list
_TOUCH_EVERY = timedelta(minutes=1)  # last use is written at most this often per token


@dataclass(frozen=True)
class TokenInfo:
    """A stored token, without the secret: what ``charter tokens list`` shows."""

    id: int
    prefix: str
    identity: str
    role: str
    created_at: datetime
    created_by: str
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None
    kind: Literal["token", "jwt"] = "token"

    @classmethod
    def from_row(cls, row: ApiToken) -> TokenInfo:
        return cls(
            id=row.id,
            prefix=row.prefix,
            identity=row.identity,
            role=row.role,
            created_at=row.created_at,
            created_by=row.created_by,
            expires_at=row.expires_at,
            last_used_at=row.last_used_at,
            revoked_at=row.revoked_at,
        )

    @property
    def status(self) -> str:
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= datetime.now(UTC):
            return "expired"
        return "active"

    def allows(self, role: Role) -> bool:
        return ROLES.index(self.role) >= ROLES.index(role)

    def to_schema(self) -> schemas.Token:
        return schemas.Token(
            id=self.id,
            prefix=self.prefix,
            identity=self.identity,
            role=self.role,
            status=self.status,
            created_at=self.created_at,
            expires_at=self.expires_at,
            last_used_at=self.last_used_at,
            revoked_at=self.revoked_at,
            created_by=self.created_by,
        )

    def to_dict(self) -> dict[str, Any]:
        return self.to_schema().to_json_dict()


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(
    ws: Workspace, identity: str, role: str, *, expires: str | None = "90d"
) -> tuple[str, TokenInfo]:
    """A new token for ``identity`` with ``role``; returns the token (shown once) and its record.

    ``expires`` is a duration such as ``90d`` or ``12h``; ``None`` or ``never``: no expiry.
    """
    who = identity.strip().lower()
    if "@" not in who or " " in who:
        raise CharterError(
            f"--as {identity!r} is not an email address",
            hint="Tokens belong to a person or a service account: --as name@example.com.",
        )
    if role not in ROLES:
        raise CharterError(f"unknown role {role!r}", hint=f"Roles: {', '.join(ROLES)}.")
    now = ws.context.clock()
    expires_at = None
    if expires is not None and expires.strip().lower() != "never":
        try:
            lifetime = parse_duration(expires)
        except (ValueError, TypeError) as exc:
            raise CharterError(
                f"--expires {expires!r} is not a duration: {exc}",
                hint="Use e.g. 90d, 12h or never.",
            ) from None
        expires_at = now + lifetime
    token = PREFIX + secrets.token_urlsafe(32)
    with ws.db.session() as session:
        row = ApiToken(
            token_sha256=hash_token(token),
            prefix=token[:_SHOWN],
            identity=who,
            role=role,
            created_at=now,
            created_by=ws.context.who,
            expires_at=expires_at,
        )
        store.add(session, row)
        info = TokenInfo.from_row(row)
        entry = {k: v for k, v in info.to_dict().items() if k != "last_used_at"}
        ws.ledger.append(session, "token.created", entry, actor=ws.context.who)
    return token, info


def list_tokens(ws: Workspace, *, include_inactive: bool = False) -> list[TokenInfo]:
    """Every token, oldest first; by default only the active ones."""
    with ws.db.read() as session:
        rows = store.every(session)
    found = [TokenInfo.from_row(row) for row in rows]
    return found if include_inactive else [t for t in found if t.status == "active"]


def revoke_token(ws: Workspace, token_id: int) -> TokenInfo:
    """Revoke a token at once; it can never be used again."""
    with ws.db.session() as session:
        row = store.by_id(session, token_id)
        if row is None:
            raise CharterError(
                f"no API token with id {token_id}", hint="See `charter tokens list --all`."
            )
        if row.revoked_at is None:
            store.revoke(session, row, at=ws.context.clock(), by=ws.context.who)
            entry = {"id": row.id, "prefix": row.prefix, "identity": row.identity}
            ws.ledger.append(session, "token.revoked", entry, actor=ws.context.who)
        return TokenInfo.from_row(row)


def authenticate(ws: Workspace, token: str | None) -> TokenInfo:
    """The identity behind ``token``, or :class:`AuthenticationError` saying what is wrong."""
    if not token:
        raise AuthenticationError(
            "this call needs an API token",
            hint="Send `Authorization: Bearer chr_…`; create one with `charter tokens create`.",
        )
    jwts = ws.settings.server.jwt
    if not token.startswith(PREFIX) and jwts.enabled:
        return from_jwt(idp.verify(jwts, token))
    if not token.startswith(PREFIX):
        raise AuthenticationError(
            "the API token is not a charter token (they start with chr_)",
            hint="Create one with `charter tokens create --as EMAIL --role ROLE`.",
        )
    digest = hash_token(token)
    with ws.db.read() as session:
        row = store.by_digest(session, digest)
        info = TokenInfo.from_row(row) if row is not None else None
    if info is None:
        raise AuthenticationError("the API token is unknown", hint="Check for a copying mistake.")
    if info.status != "active":
        raise AuthenticationError(
            f"the API token {info.prefix}… of {info.identity} is {info.status}",
            hint="Ask for a new one: `charter tokens create`.",
        )
    _touch(ws, info)
    return info


def from_jwt(claims: idp.Claims) -> TokenInfo:
    """A verified JWT as the token it stands for: its identity and role, until it expires."""
    return TokenInfo(
        id=0,
        prefix=f"jwt:{claims.key_id}"[: _SHOWN * 3],
        identity=claims.identity,
        role=claims.role,
        created_at=claims.issued_at or claims.expires_at,
        created_by=claims.issuer,
        expires_at=claims.expires_at,
        last_used_at=None,
        revoked_at=None,
        kind="jwt",
    )


def require_role(info: TokenInfo, role: Role, action: str) -> None:
    if not info.allows(role):
        raise PermissionDeniedError(
            f"{info.identity} ({info.role}) may not {action}: that needs the {role} role",
            hint="The refusal was recorded in the audit ledger.",
        )


def decider(ws: Workspace, by: str | None, token: str | None, action: str) -> tuple[Workspace, str]:
    """Who decides from the CLI: the token's identity, or ``--as`` unless the settings require
    authenticated decisions. Returns the workspace acting as that identity, and the identity."""
    if token:
        info = authenticate(ws, token)
        require_role(info, "owner", action)
        if by is not None and by.strip().lower() != info.identity:
            raise AuthenticationError(
                f"--as {by} does not match the token, which belongs to {info.identity}",
                hint="Drop --as: the token says who decides.",
            )
        return ws.acting_as(info.identity), info.identity
    if ws.settings.require_authenticated_decisions:
        raise AuthenticationError(
            f"to {action}, this workspace requires an API token "
            "(CHARTER_REQUIRE_AUTHENTICATED_DECISIONS=true): a bare --as is not accepted",
            hint="Pass --token chr_… (or set CHARTER_TOKEN) with an owner-role token of yours.",
        )
    if not by:
        raise CharterError(
            f"say who decides: --as EMAIL (or --token) to {action}",
            hint="The charter's owner or a delegate it names decides.",
        )
    return ws, by


def _touch(ws: Workspace, info: TokenInfo) -> None:
    now = ws.context.clock()
    if info.last_used_at is not None and now - info.last_used_at < _TOUCH_EVERY:
        return
    with ws.db.session() as session:
        store.touch(session, info.id, now)
