"""Bearer JWTs from an identity provider: mapped to the same roles, refused with a 401 otherwise.

The provider is played by keys made in the test: a JWKS file, or a JWKS URL served by a local HTTP
server. Every refusal is checked to change nothing.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from tests.server.conftest import NAME, OWNER, Api, record

from charter.registry.versions import list_versions
from charter.settings import JwtSettings

ISSUER = "https://idp.bank.example/"
AUDIENCE = "charter-prod"
ROLE_MAP = {"ml-owners": "owner", "ml-ops": "operator", "staff": "viewer"}
APPROVE = f"/v1/charters/{NAME}/versions/{{v}}/approve"
RISK = {"accept_risk": "pilot too short; I accept it", "first_version_waiver": "first model"}


class Provider:
    """An identity provider's signing keys: RSA ``k-rsa`` and EC ``k-ec``, and an unpublished one."""

    def __init__(self) -> None:
        self.rsa = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.ec = ec.generate_private_key(ec.SECP256R1())
        self.stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def jwks(self) -> dict[str, Any]:
        rsa_jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.rsa.public_key()))
        ec_jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(self.ec.public_key()))
        rsa_jwk.update(kid="k-rsa", alg="RS256", use="sig")
        ec_jwk.update(kid="k-ec", alg="ES256", use="sig")
        return {"keys": [rsa_jwk, ec_jwk]}

    def claims(self, **changes: Any) -> dict[str, Any]:
        now = int(time.time())
        body: dict[str, Any] = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": "00u1",
            "email": OWNER,
            "groups": ["staff", "ml-owners"],
            "iat": now,
            "exp": now + 600,
        }
        body.update(changes)
        return {k: v for k, v in body.items() if v is not None}

    def token(self, kid: str = "k-rsa", key: Any = None, **changes: Any) -> str:
        signer, alg = (self.ec, "ES256") if kid == "k-ec" else (self.rsa, "RS256")
        return jwt.encode(
            self.claims(**changes), key or signer, algorithm=alg, headers={"kid": kid}
        )

    def public_pem(self) -> bytes:
        return self.rsa.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _forged(header: dict[str, Any], claims: dict[str, Any], secret: bytes | None) -> str:
    """A JWS made by hand, for what PyJWT refuses to sign: alg none, HS256 with a public key."""
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
    if secret is None:
        return signing_input + "."
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"


@pytest.fixture
def provider() -> Provider:
    return Provider()


def _use_jwts(api: Api, **source: Any) -> None:
    """Turn JWTs on for the served workspace (the app reads its settings at each call)."""
    api.ws.settings.server.jwt = JwtSettings(
        issuer=ISSUER, audience=AUDIENCE, role_claim="groups", role_map=ROLE_MAP, **source
    )


@pytest.fixture
def jwks_file(api: Api, provider: Provider, tmp_path: Path) -> Path:
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps(provider.jwks()))
    _use_jwts(api, jwks_file=path)
    return path


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.usefixtures("jwks_file")
@pytest.mark.parametrize("kid", ["k-rsa", "k-ec"])
def test_an_owner_approves_with_a_jwt_and_the_ledger_names_the_jwts_identity(
    api: Api, provider: Provider, kid: str
) -> None:
    version = api.register("return frame['amount'] / 100", "shadow")

    response = api.client.post(
        APPROVE.format(v=version), headers=_bearer(provider.token(kid)), json=RISK
    )

    assert response.status_code == 200, response.text
    assert response.json()["decided_by"] == OWNER
    (entry,) = api.ledger("decision.approved")
    assert entry["actor"] == OWNER and entry["by"] == OWNER
    assert [v.status for v in list_versions(api.ws, NAME)] == ["live"]


@pytest.mark.usefixtures("jwks_file")
def test_a_jwt_role_is_the_highest_its_groups_map_to(api: Api, provider: Provider) -> None:
    api.register("return frame['amount'] / 100", "live")
    ops = provider.token(email="Ops@Bank.example", groups=["staff", "ml-ops"])
    staff = provider.token(email="eve@bank.example", groups="staff")

    predicted = api.client.post(
        f"/v1/charters/{NAME}/predict", headers=_bearer(ops), json=record(1)
    )
    refused = api.client.post(
        f"/v1/charters/{NAME}/predict", headers=_bearer(staff), json=record(2)
    )
    read = api.client.get("/v1/charters", headers=_bearer(staff))

    assert predicted.status_code == 200, predicted.text
    assert refused.status_code == 403 and read.status_code == 200
    (refusal,) = api.ledger("api.refused")
    assert refusal["actor"] == "eve@bank.example" and refusal["credential"] == "jwt"
    assert refusal["role"] == "viewer"


def _refusals(provider: Provider) -> dict[str, tuple[str, str]]:
    """Each bad JWT and a phrase its 401 must say."""
    claims = provider.claims()
    pem = provider.public_pem()
    return {
        "expired": (provider.token(exp=int(time.time()) - 3600), "expired"),
        "wrong issuer": (provider.token(iss="https://evil.example/"), "not issued by"),
        "wrong audience": (provider.token(aud="another-app"), "audience"),
        "no expiry": (provider.token(exp=None), "'exp'"),
        "unknown kid": (provider.token("k-gone"), "key id 'k-gone'"),
        "no kid": (jwt.encode(claims, provider.rsa, algorithm="RS256"), "no key id"),
        "alg none": (_forged({"alg": "none", "kid": "k-rsa"}, claims, None), "'none'"),
        "HS256 keyed with the public key": (
            _forged({"alg": "HS256", "kid": "k-rsa", "typ": "JWT"}, claims, pem),
            "'HS256'",
        ),
        "signed by another key": (provider.token(key=provider.stranger), "signature"),
        "a key of the wrong algorithm": (
            jwt.encode(claims, provider.rsa, algorithm="RS256", headers={"kid": "k-ec"}),
            "not valid",
        ),
        "no email": (provider.token(email="00u1"), "email"),
        "no charter role": (provider.token(groups=["staff-eu"]), "grants no charter role"),
        "not a JWT": ("eyJhbGciOi.broken", "neither a charter token"),
    }


REFUSALS = [
    "expired",
    "wrong issuer",
    "wrong audience",
    "no expiry",
    "unknown kid",
    "no kid",
    "alg none",
    "HS256 keyed with the public key",
    "signed by another key",
    "a key of the wrong algorithm",
    "no email",
    "no charter role",
    "not a JWT",
]


def test_every_refusal_case_is_tested(provider: Provider) -> None:
    assert list(_refusals(provider)) == REFUSALS


@pytest.mark.usefixtures("jwks_file")
@pytest.mark.parametrize("case", REFUSALS)
def test_a_bad_jwt_is_refused_with_a_401_in_the_error_shape_and_changes_nothing(
    api: Api, provider: Provider, case: str
) -> None:
    version = api.register("return frame['amount'] / 100", "shadow")
    token, says = _refusals(provider)[case]

    response = api.client.post(APPROVE.format(v=version), headers=_bearer(token), json=RISK)

    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"] == "Bearer"
    error = response.json()["error"]
    assert error["type"] == "AuthenticationError" and error["hint"]
    assert says in error["message"], error["message"]
    assert api.ledger("decision.approved") == [] and api.ledger("api.refused") == []
    assert [v.status for v in list_versions(api.ws, NAME)] == ["shadow"]


def test_jwts_are_refused_while_no_issuer_is_set(api: Api, provider: Provider) -> None:
    response = api.client.get("/v1/charters", headers=_bearer(provider.token()))

    assert response.status_code == 401
    assert "not a charter token" in response.json()["error"]["message"]


def test_a_rotated_key_in_the_jwks_file_is_used_without_a_restart(
    api: Api, provider: Provider, jwks_file: Path
) -> None:
    old = provider.token()
    assert api.client.get("/v1/charters", headers=_bearer(old)).status_code == 200
    provider.rsa = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwks_file.write_text(json.dumps(provider.jwks()))

    assert api.client.get("/v1/charters", headers=_bearer(provider.token())).status_code == 200
    assert api.client.get("/v1/charters", headers=_bearer(old)).status_code == 401


@contextlib.contextmanager
def _jwks_server(provider: Provider) -> Iterator[tuple[str, list[str]]]:
    """The provider's JWKS over HTTP on a free loopback port; yields its URL and the paths fetched."""
    fetched: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            fetched.append(self.path)
            body = json.dumps(provider.jwks()).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/.well-known/jwks.json", fetched
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_a_jwks_url_is_fetched_once_and_checks_jwts(api: Api, provider: Provider) -> None:
    version = api.register("return frame['amount'] / 100", "shadow")
    with _jwks_server(provider) as (url, fetched):
        _use_jwts(api, jwks_url=url)
        read = api.client.get("/v1/charters", headers=_bearer(provider.token("k-ec")))
        approved = api.client.post(
            APPROVE.format(v=version), headers=_bearer(provider.token()), json=RISK
        )
        unknown = api.client.get("/v1/charters", headers=_bearer(provider.token("k-gone")))

    assert read.status_code == 200, read.text
    assert approved.status_code == 200, approved.text
    assert unknown.status_code == 401 and "k-gone" in unknown.json()["error"]["message"]
    assert fetched == ["/.well-known/jwks.json"]  # cached; an unknown kid waits for the cooldown
    (entry,) = api.ledger("decision.approved")
    assert entry["actor"] == OWNER


def test_an_unreachable_jwks_url_is_a_503_with_retry_after(api: Api, provider: Provider) -> None:
    with _jwks_server(provider) as (url, _):
        pass  # the port is closed again: nothing answers there
    _use_jwts(api, jwks_url=url)

    response = api.client.get("/v1/charters", headers=_bearer(provider.token()))

    assert response.status_code == 503
    assert response.headers["retry-after"]
    assert response.json()["error"]["type"] == "IdentityProviderUnavailableError"


def test_hs_algorithms_cannot_be_configured() -> None:
    with pytest.raises(ValueError, match="public-key"):
        JwtSettings(issuer=ISSUER, audience=AUDIENCE, algorithms=["RS256", "HS256"])


@pytest.mark.usefixtures("jwks_file")
def test_the_dashboard_signs_in_with_a_jwt(api: Api, provider: Provider) -> None:
    from tests.dashboard.test_sessions_http import _csrf, sign_in

    sign_in(api.client, provider.token())
    home = api.client.get("/", follow_redirects=False)
    api.client.cookies.clear()
    form = api.client.get("/login")
    refused = api.client.post(
        "/login", data={"token": provider.token(aud="other"), "csrf_token": _csrf(form.text)}
    )

    assert home.status_code == 200
    assert refused.status_code == 401 and "audience" in refused.text
