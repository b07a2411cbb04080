"""Tokens and roles: who may read, predict and decide; every refusal to change is in the ledger."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from tests.server.conftest import NAME, OWNER, Api, record

from charter.registry.versions import list_versions
from charter.store.tables import ApiToken
from charter.tokens import create_token, hash_token

APPROVE = f"/v1/charters/{NAME}/versions/{{v}}/approve"
RISK = {"accept_risk": "pilot too short; I accept it", "first_version_waiver": "first model"}


def test_an_approval_through_the_api_is_in_the_ledger_with_the_tokens_identity(api: Api) -> None:
    version = api.register("return frame['amount'] / 100", "shadow")

    response = api.post(APPROVE.format(v=version), who="owner", json=RISK)

    assert response.status_code == 200, response.text
    assert response.json()["decided_by"] == OWNER
    (entry,) = api.ledger("decision.approved")
    assert entry["actor"] == OWNER and entry["by"] == OWNER
    assert entry["accepted_risk"] == RISK["accept_risk"]
    assert [v.status for v in list_versions(api.ws, NAME)] == ["live"]


def test_an_owner_role_not_named_by_the_charter_is_refused_and_recorded(api: Api) -> None:
    version = api.register("return frame['amount'] / 100", "shadow")

    response = api.post(APPROVE.format(v=version), who="stranger", json=RISK)

    assert response.status_code == 403
    assert response.json()["error"]["type"] == "NotAuthorizedError"
    (refusal,) = api.ledger("decision.refused")
    assert refusal["actor"] == "mallory@bank.example"
    assert [v.status for v in list_versions(api.ws, NAME)] == ["shadow"]


def test_a_viewer_may_read_but_not_predict_and_the_refusal_is_recorded(api: Api) -> None:
    api.register("return frame['amount'] / 100", "live")

    assert api.get("/v1/charters").status_code == 200
    response = api.post(f"/v1/charters/{NAME}/predict", who="viewer", json=record(1))

    assert response.status_code == 403
    error = response.json()["error"]
    assert error["type"] == "PermissionDeniedError" and "operator" in error["message"]
    (refusal,) = api.ledger("api.refused")
    assert refusal["actor"] == "viewer@bank.example"
    assert refusal["path"] == f"/v1/charters/{NAME}/predict"
    assert api.ledger("batch.ingested") == []


def test_an_operator_may_not_approve(api: Api) -> None:
    version = api.register("return frame['amount'] / 100", "shadow")

    response = api.post(APPROVE.format(v=version), who="operator", json=RISK)

    assert response.status_code == 403
    assert api.ledger("decision.approved") == []


def test_a_call_without_a_token_is_401_and_changes_nothing(api: Api) -> None:
    api.register("return frame['amount'] / 100", "live")

    missing = api.client.post(f"/v1/charters/{NAME}/predict", json=record(1))
    wrong = api.client.get("/v1/charters", headers={"Authorization": "Bearer chr_nope"})
    basic = api.client.get("/v1/charters", headers={"Authorization": "Basic dXNlcg=="})

    for response in (missing, wrong, basic):
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"] == "Bearer"
        assert set(response.json()["error"]) == {"type", "message", "hint"}
    assert api.ledger("batch.ingested") == []


def test_an_expired_or_revoked_token_is_refused(api: Api, cli: object) -> None:
    digest = hash_token(api.tokens["viewer"])
    with api.ws.db.session() as session:
        session.execute(
            sa.update(ApiToken)
            .where(ApiToken.token_sha256 == digest)
            .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    expired = api.get("/v1/charters")
    assert expired.status_code == 401 and "expired" in expired.json()["error"]["message"]

    token_id = next(
        t["id"]
        for t in cli("tokens", "list", "--json").json()  # type: ignore[operator]
        if t["identity"] == "ops@bank.example"
    )
    assert cli("tokens", "revoke", str(token_id)).code == 0  # type: ignore[operator]
    revoked = api.get("/v1/charters", who="operator")
    assert revoked.status_code == 401 and "revoked" in revoked.json()["error"]["message"]


def test_health_docs_and_openapi_need_no_token(api: Api) -> None:
    assert api.client.get("/healthz").json() == {"status": "ok"}
    openapi = api.client.get("/openapi.json").json()
    assert openapi["info"]["title"] == "charter"
    # routes that answer with a CLI result document the same schema as its --json
    readiness = openapi["paths"]["/v1/charters/{name}/readiness/{version}"]["get"]
    ok = readiness["responses"]["200"]["content"]["application/json"]["schema"]
    assert ok["$ref"] == "#/components/schemas/Readiness"
    assert {"Decision", "Rollback", "Readiness"} <= set(openapi["components"]["schemas"])
    page = api.client.get("/docs")
    assert page.status_code == 200 and "/docs/assets/swagger-ui-bundle.js" in page.text
    asset = api.client.get("/docs/assets/swagger-ui-bundle.js")
    assert asset.status_code == 200 and len(asset.content) > 100_000  # served here, no CDN


def test_two_callers_are_recorded_as_themselves_not_as_the_server(api: Api) -> None:
    api.tokens["ops2"] = create_token(api.ws, "ops2@bank.example", "operator")[0]
    first = api.register("return frame['amount'] / 100", "shadow")
    risk = {"accept_risk": "accepted", "first_version_waiver": "first"}
    assert api.post(f"/v1/charters/{NAME}/versions/{first}/approve", "owner", json=risk).is_success
    second = api.register("return frame['amount'] / 50", "shadow")
    again = {"accept_risk": "accepted"}
    assert api.post(
        f"/v1/charters/{NAME}/versions/{second}/approve", "owner", json=again
    ).is_success

    rolled = api.post(f"/v1/charters/{NAME}/rollback", "ops2", json={"reason": "bad week"})

    assert rolled.status_code == 200, rolled.text
    assert [e["actor"] for e in api.ledger("decision.approved")] == [OWNER, OWNER]
    assert [e["actor"] for e in api.ledger("version.rolled_back")] == ["ops2@bank.example"]
    assert api.ws.context.who == "tester@example.com"  # the server's own identity, unused
