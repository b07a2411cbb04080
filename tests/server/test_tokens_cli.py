"""``charter tokens``: a token is printed once, stored as a hash, listed without its secret."""

from __future__ import annotations

import hashlib
from typing import Any

import sqlalchemy as sa

from charter.store.tables import ApiToken
from charter.workspace import Workspace


def test_a_token_is_shown_once_and_stored_only_as_its_sha256(cli: Any, ws: Workspace) -> None:
    created = cli("tokens", "create", "--as", "Ops@Bank.example", "--role", "operator", "--json")

    assert created.code == 0, created.stderr
    body = created.json()
    token = body["token"]
    assert token.startswith("chr_") and len(token) > 40
    assert body["identity"] == "ops@bank.example" and body["role"] == "operator"
    with ws.db.read() as session:
        row = session.scalars(sa.select(ApiToken)).one()
    assert row.token_sha256 == hashlib.sha256(token.encode()).hexdigest()
    assert token not in str(vars(row))
    listed = cli("tokens", "list", "--json").json()
    assert [t["prefix"] for t in listed] == [token[:10]] and "token" not in listed[0]
    assert token not in cli("tokens", "list").stdout


def test_expiry_is_a_duration_or_never(cli: Any) -> None:
    never = cli(
        "tokens",
        "create",
        "--as",
        "a@b.example",
        "--role",
        "viewer",
        "--expires",
        "never",
        "--json",
    )
    assert never.json()["expires_at"] is None

    bad = cli("tokens", "create", "--as", "a@b.example", "--role", "viewer", "--expires", "soon")
    assert bad.code == 1 and "--expires 'soon' is not a duration" in bad.stderr

    role = cli("tokens", "create", "--as", "a@b.example", "--role", "admin")
    assert role.code == 2


def test_revoking_an_unknown_token_says_so(cli: Any) -> None:
    result = cli("tokens", "revoke", "999")
    assert result.code == 1 and "no API token with id 999" in result.stderr
