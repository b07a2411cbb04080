"""CHARTER_REQUIRE_AUTHENTICATED_DECISIONS: the CLI's decisions need a token, never a bare --as."""

from __future__ import annotations

import json
from typing import Any

import pytest
from tests.server.conftest import NAME, OWNER

from charter.registry.versions import list_versions
from charter.tokens import create_token
from charter.workspace import Workspace

MAX_VERSION = 2**31 - 1  # versions are INTEGER columns (PostgreSQL: 32 bits)

RISK = ["--accept-risk", "short pilot, accepted", "--first-version-waiver", "first model"]


def _shadow_version(ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> int:
    from charter.registry.versions import register_version, set_status

    monkeypatch.syspath_prepend(str(ws.root))
    (ws.root / "cli_model.py").write_text("def score(frame):\n    return frame['amount']\n")
    info = register_version(ws, NAME, "cli_model:score")
    with ws.db.session() as session:
        set_status(ws, session, NAME, info.version, "shadow", reason="test")
    return info.version


def test_a_bare_as_is_refused_when_decisions_must_be_authenticated(
    cli: Any, ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    version = _shadow_version(ws, monkeypatch)
    monkeypatch.setenv("CHARTER_REQUIRE_AUTHENTICATED_DECISIONS", "true")

    result = cli("approve", NAME, str(version), "--as", OWNER, *RISK)

    assert result.code == 1
    assert "requires an API token" in result.stderr
    assert [v.status for v in list_versions(ws, NAME)] == ["shadow"]


def test_the_owners_token_decides_as_its_identity(
    cli: Any, ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    version = _shadow_version(ws, monkeypatch)
    token, _ = create_token(ws, OWNER, "owner")
    monkeypatch.setenv("CHARTER_REQUIRE_AUTHENTICATED_DECISIONS", "true")
    monkeypatch.setenv("CHARTER_TOKEN", token)

    result = cli("approve", NAME, str(version), *RISK, "--json")

    assert result.code == 0, result.stderr
    assert result.json()["decided_by"] == OWNER
    assert [v.status for v in list_versions(ws, NAME)] == ["live"]


def test_a_token_of_someone_else_or_a_lesser_role_does_not_decide(
    cli: Any, ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    version = _shadow_version(ws, monkeypatch)
    operator, _ = create_token(ws, "ops@bank.example", "operator")
    owner, _ = create_token(ws, OWNER, "owner")

    lesser = cli("approve", NAME, str(version), "--token", operator, *RISK)
    mismatch = cli("approve", NAME, str(version), "--token", owner, "--as", "x@bank.example", *RISK)
    nobody = cli("approve", NAME, str(version), *RISK)

    assert lesser.code == 1 and "needs the owner role" in lesser.stderr
    assert mismatch.code == 1 and "does not match the token" in mismatch.stderr
    assert nobody.code == 1 and "say who decides" in nobody.stderr
    assert [v.status for v in list_versions(ws, NAME)] == ["shadow"]


def _ledger(ws: Workspace, action: str) -> list[dict[str, Any]]:
    return [json.loads(e.payload) for e in ws.ledger.entries() if e.action == action]


def test_a_token_decision_records_which_token_it_was(
    cli: Any, ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    version = _shadow_version(ws, monkeypatch)
    token, info = create_token(ws, OWNER, "owner")
    monkeypatch.setenv("CHARTER_REQUIRE_AUTHENTICATED_DECISIONS", "true")

    result = cli("approve", NAME, str(version), "--token", token, *RISK, "--json")

    assert result.code == 0, result.stderr
    (entry,) = _ledger(ws, "decision.approved")
    assert entry["credential"] == {"kind": "token", "token_id": info.id, "prefix": info.prefix}
    assert token not in str(entry)


def test_an_identity_providers_jwt_passed_to_token_decides_and_is_recorded(
    cli: Any, ws: Workspace, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    from tests.server.test_jwt import AUDIENCE, ISSUER, ROLE_MAP, Provider

    provider = Provider()
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps(provider.jwks()))
    monkeypatch.setenv("CHARTER_SERVER_JWT_ISSUER", ISSUER)
    monkeypatch.setenv("CHARTER_SERVER_JWT_AUDIENCE", AUDIENCE)
    monkeypatch.setenv("CHARTER_SERVER_JWT_JWKS_FILE", str(jwks))
    monkeypatch.setenv("CHARTER_SERVER_JWT_ROLE_CLAIM", "groups")
    monkeypatch.setenv("CHARTER_SERVER_JWT_ROLE_MAP", json.dumps(ROLE_MAP))
    monkeypatch.setenv("CHARTER_REQUIRE_AUTHENTICATED_DECISIONS", "true")
    version = _shadow_version(ws, monkeypatch)
    ops = provider.token(email="ops@bank.example", groups=["ml-ops"])
    stranger = provider.token(key=provider.stranger)

    lesser = cli("approve", NAME, str(version), "--token", ops, *RISK)
    forged = cli("approve", NAME, str(version), "--token", stranger, *RISK)
    assert lesser.code == 1 and "needs the owner role" in lesser.stderr
    assert forged.code == 1 and "signature" in forged.stderr
    assert [v.status for v in list_versions(ws, NAME)] == ["shadow"]

    result = cli("approve", NAME, str(version), "--token", provider.token("k-ec"), *RISK, "--json")

    assert result.code == 0, result.stderr
    assert result.json()["decided_by"] == OWNER
    assert [v.status for v in list_versions(ws, NAME)] == ["live"]
    (entry,) = _ledger(ws, "decision.approved")
    assert entry["by"] == OWNER
    assert entry["credential"] == {
        "kind": "jwt",
        "issuer": ISSUER,
        "subject": "00u1",
        "key_id": "k-ec",
    }


def test_a_declared_decider_records_no_credential(
    cli: Any, ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    version = _shadow_version(ws, monkeypatch)

    result = cli("approve", NAME, str(version), "--as", OWNER, *RISK)

    assert result.code == 0, result.stderr
    (entry,) = _ledger(ws, "decision.approved")
    assert "credential" not in entry


@pytest.mark.parametrize(
    "args",
    [
        ["shadow", NAME, "{v}"],
        ["promote", NAME, "{v}"],
        ["approve", NAME, "{v}", "--as", OWNER],
        ["reject", NAME, "{v}", "--as", OWNER, "--reason", "no"],
        ["retire", NAME, "{v}", "--as", OWNER, "--reason", "no"],
        ["readiness", NAME, "{v}"],
        ["rollback", NAME, "--to", "{v}", "--reason", "no"],
        ["reference", NAME, "{v}", "labels.parquet"],
    ],
    ids=lambda args: args[0],
)
def test_a_version_number_past_the_database_integer_is_a_clear_error(
    cli: Any, ws: Workspace, monkeypatch: pytest.MonkeyPatch, args: list[str]
) -> None:
    version = _shadow_version(ws, monkeypatch)
    before = len(ws.ledger.entries())

    result = cli(*(a.format(v=MAX_VERSION + 1) for a in args))

    assert result.code == 2, (result.code, result.stdout, result.stderr)
    assert str(MAX_VERSION) in result.stderr and "invalid value" in result.stderr.lower()
    assert "database" not in result.stderr.lower()
    assert [v.status for v in list_versions(ws, NAME)] == ["shadow"]
    assert len(ws.ledger.entries()) == before
    assert version == 1


def test_the_cli_and_the_api_bound_version_numbers_alike() -> None:
    from charter.cli.lifecycle import MAX_VERSION as CLI_MAX
    from charter.server.routes_manage import MAX_VERSION as API_MAX

    assert CLI_MAX == API_MAX == MAX_VERSION
