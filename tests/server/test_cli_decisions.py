"""CHARTER_REQUIRE_AUTHENTICATED_DECISIONS: the CLI's decisions need a token, never a bare --as."""

from __future__ import annotations

from typing import Any

import pytest
from tests.server.conftest import NAME, OWNER

from charter.registry.versions import list_versions
from charter.tokens import create_token
from charter.workspace import Workspace

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
