"""Bearer JWTs from the company's identity provider, checked and mapped to charter's roles.

Off until ``CHARTER_SERVER_JWT_ISSUER`` is set (:class:`charter.settings.JwtSettings`). Then a
bearer that is not a ``chr_`` token is checked here, in this order, and refused with
:class:`~charter.errors.AuthenticationError` (HTTP 401) at the first thing wrong:

1. it is a JWS compact token whose header names an ``alg`` of the configured public-key list:
   ``none`` and every ``HS*`` are refused before any key is looked at, so the provider's public
   key can never be used as an HMAC secret (the "algorithm confusion" attack);
2. its ``kid`` names a key of the JWKS (a file, re-read when it changes, or a URL, cached and
   re-fetched once for an unknown ``kid``), and that key's own algorithm is the token's;
3. the signature verifies, and ``exp`` (required), ``nbf``, ``iat``, ``iss`` (exactly the
   issuer) and ``aud`` (the audience) hold, with ``leeway_seconds`` of clock skew;
4. ``email_claim`` holds an email address and ``role_claim`` a value that ``role_map`` maps to a
   role (the highest wins).

A JWKS that cannot be read is :class:`~charter.errors.IdentityProviderUnavailableError` (503):
the caller's token may be fine, the server cannot tell.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jwt

from charter.errors import AuthenticationError, IdentityProviderUnavailableError
from charter.identity import check_actor
from charter.settings import JwtSettings

ROLES = ("viewer", "operator", "owner")  # lowest first, as charter.tokens orders them
_HINT = "Sign in to the identity provider again for a fresh token, or use a chr_ token."


@dataclass(frozen=True)
class Claims:
    """Who a verified JWT says the caller is."""

    identity: str
    role: str
    issuer: str
    key_id: str
    issued_at: datetime | None
    expires_at: datetime
    subject: str | None = None  # the provider's own id of the person (``sub``)


def verify(settings: JwtSettings, token: str) -> Claims:
    """The identity and role of a valid ``token``; otherwise :class:`AuthenticationError`."""
    header = _header(token)
    alg = str(header.get("alg", ""))
    if alg not in settings.algorithms:
        raise AuthenticationError(
            f"the JWT is signed with alg {alg or 'none'!r}, which is not accepted "
            f"(accepted: {', '.join(settings.algorithms)})",
            hint="charter accepts only public-key signatures (CHARTER_SERVER_JWT_ALGORITHMS).",
        )
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise AuthenticationError("the JWT names no key id (kid) in its header", hint=_HINT)
    key = _keys(settings).key(kid)
    try:
        payload = jwt.decode(
            token,
            key,
            algorithms=settings.algorithms,
            audience=settings.audience,
            issuer=settings.issuer,
            leeway=settings.leeway_seconds,
            options={"require": ["exp", "iss", "aud"]},
        )
    except jwt.PyJWTError as exc:
        raise AuthenticationError(_reason(exc, settings), hint=_HINT) from None
    return Claims(
        identity=_identity(payload, settings.email_claim),
        role=_role(payload, settings),
        issuer=str(payload["iss"]),
        key_id=kid,
        issued_at=_time(payload.get("iat")),
        expires_at=_time(payload["exp"]) or datetime.now(UTC),
        subject=str(payload["sub"]) if payload.get("sub") is not None else None,
    )


def _header(token: str) -> dict[str, Any]:
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise AuthenticationError(
            f"the bearer is neither a charter token (chr_…) nor a readable JWT: {exc}",
            hint="Send `Authorization: Bearer chr_…` or the identity provider's access token.",
        ) from None
    return header


def _reason(exc: jwt.PyJWTError, settings: JwtSettings) -> str:
    if isinstance(exc, jwt.ExpiredSignatureError):
        return "the JWT has expired"
    if isinstance(exc, jwt.InvalidIssuerError):
        return f"the JWT was not issued by {settings.issuer}"
    if isinstance(exc, jwt.InvalidAudienceError):
        return f"the JWT is not for the audience {settings.audience!r}"
    if isinstance(exc, jwt.MissingRequiredClaimError):
        return f"the JWT lacks the {exc.claim!r} claim"
    if isinstance(exc, jwt.ImmatureSignatureError):
        return "the JWT is not valid yet (nbf or iat in the future)"
    if isinstance(exc, jwt.InvalidSignatureError):
        return "the JWT's signature does not verify with the provider's key"
    return f"the JWT is not valid: {exc}"


def _identity(payload: dict[str, Any], claim: str) -> str:
    value = payload.get(claim)
    if not isinstance(value, str) or "@" not in value or " " in value.strip():
        raise AuthenticationError(
            f"the JWT's {claim!r} claim holds no email address",
            hint="Set CHARTER_SERVER_JWT_EMAIL_CLAIM to the claim that does.",
        )
    return check_actor(value.strip().lower(), what=f"the JWT's {claim!r} claim")


def _role(payload: dict[str, Any], settings: JwtSettings) -> str:
    value = payload.get(settings.role_claim)
    values = [value] if isinstance(value, str) else value if isinstance(value, list) else []
    mapping = settings.role_map or {role: role for role in ROLES}
    granted = [mapping[v] for v in values if isinstance(v, str) and mapping.get(v) in ROLES]
    if not granted:
        raise AuthenticationError(
            f"the JWT's {settings.role_claim!r} claim grants no charter role",
            hint=f"Map one of its values to viewer, operator or owner in "
            f"CHARTER_SERVER_JWT_ROLE_MAP (now {json.dumps(settings.role_map)}).",
        )
    return max(granted, key=ROLES.index)


def _time(value: Any) -> datetime | None:
    return datetime.fromtimestamp(value, UTC) if isinstance(value, int | float) else None


# -- the provider's keys --------------------------------------------------------------------------
class _FileKeys:
    """A JWKS file, re-read when its modification time or size changes (key rotation)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._seen: tuple[int, int] | None = None
        self._set: jwt.PyJWKSet | None = None
        self._lock = threading.Lock()

    def key(self, kid: str) -> jwt.PyJWK:
        with self._lock:
            try:
                stat = self.path.stat()
                if self._set is None or self._seen != (stat.st_mtime_ns, stat.st_size):
                    self._set = jwt.PyJWKSet.from_json(self.path.read_text(encoding="utf-8"))
                    self._seen = (stat.st_mtime_ns, stat.st_size)
            except (OSError, ValueError, jwt.PyJWTError) as exc:
                raise IdentityProviderUnavailableError(
                    f"the JWKS file {self.path} cannot be read: {exc}",
                    hint="Check CHARTER_SERVER_JWT_JWKS_FILE.",
                ) from None
            keys = self._set
        try:
            return keys[kid]
        except KeyError:
            raise _unknown_kid(kid) from None


class _UrlKeys:
    """A JWKS endpoint through PyJWT's client (cached; re-fetched once for an unknown kid)."""

    def __init__(self, url: str, lifespan: float) -> None:
        self.url = url
        self.client = jwt.PyJWKClient(url, lifespan=lifespan, timeout=5)

    def key(self, kid: str) -> jwt.PyJWK:
        try:
            return self.client.get_signing_key(kid)
        except jwt.PyJWKClientConnectionError as exc:
            raise IdentityProviderUnavailableError(
                f"the JWKS at {self.url} cannot be fetched: {exc}",
                hint="Check CHARTER_SERVER_JWT_JWKS_URL; retry later.",
            ) from None
        except jwt.PyJWKClientError:
            raise _unknown_kid(kid) from None
        except jwt.PyJWTError as exc:  # an endpoint answering something that is not a JWKS
            raise IdentityProviderUnavailableError(
                f"the JWKS at {self.url} is not usable: {exc}",
                hint="Check CHARTER_SERVER_JWT_JWKS_URL.",
            ) from None


def _unknown_kid(kid: str) -> AuthenticationError:
    return AuthenticationError(
        f"the JWT's key id {kid!r} is not one of the identity provider's keys", hint=_HINT
    )


_SOURCES: dict[tuple[Any, ...], _FileKeys | _UrlKeys] = {}
_SOURCES_LOCK = threading.Lock()


def _keys(settings: JwtSettings) -> _FileKeys | _UrlKeys:
    """One key source per JWKS file or URL for the process, so a URL is not fetched per call."""
    if (settings.jwks_file is None) == (settings.jwks_url is None):
        raise IdentityProviderUnavailableError(
            "JWTs are on (CHARTER_SERVER_JWT_ISSUER) but exactly one of "
            "CHARTER_SERVER_JWT_JWKS_FILE and CHARTER_SERVER_JWT_JWKS_URL must be set",
            hint="Point charter at the provider's public keys.",
        )
    if settings.audience is None:
        raise IdentityProviderUnavailableError(
            "JWTs are on but CHARTER_SERVER_JWT_AUDIENCE is unset: a token for any other "
            "application of the provider would be accepted",
            hint="Set it to the client id charter is registered under.",
        )
    source = ("file", settings.jwks_file) if settings.jwks_file else ("url", settings.jwks_url)
    with _SOURCES_LOCK:
        found = _SOURCES.get((*source, settings.jwks_cache_seconds))
        if found is None:
            if settings.jwks_file is not None:
                found = _FileKeys(settings.jwks_file)
            else:
                assert settings.jwks_url is not None
                try:
                    found = _UrlKeys(settings.jwks_url, settings.jwks_cache_seconds)
                except jwt.PyJWKClientError as exc:
                    raise IdentityProviderUnavailableError(
                        f"CHARTER_SERVER_JWT_JWKS_URL is not usable: {exc}"
                    ) from None
            _SOURCES[(*source, settings.jwks_cache_seconds)] = found
        return found
