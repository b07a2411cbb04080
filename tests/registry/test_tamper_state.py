"""State a decision depends on is bound to the signed ledger: a row changed behind charter's back
(a version's status or artifact hash, a pre-authorisation) is refused at use and reported by
``charter audit verify``."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from charter.errors import StateTamperedError
from charter.lifecycle.authorization import authorize, revoke_authorization
from charter.lifecycle.gate import approval_mode
from charter.lifecycle.transitions import rollback
from charter.registry import get_version, list_versions, load_model, register_version, set_status
from charter.workspace import Workspace

CHARTER = "credit-default"
OWNER = "dana.ruiz@bank.example"


def sql(ws: Workspace, statement: str, **params: Any) -> None:
    """What someone with database access alone would do."""
    with ws.db.engine.begin() as conn:
        conn.execute(sa.text(statement), params)


def test_intact_state_verifies_and_counts_every_bound_row(
    ws: Workspace, model_file: Path, other_model_file: Path, cli: Any
) -> None:
    register_version(ws, CHARTER, model_file)
    register_version(ws, CHARTER, other_model_file)
    with ws.db.session() as session:
        set_status(ws, session, CHARTER, 1, "live", reason="approved")
        set_status(ws, session, CHARTER, 2, "shadow", reason="pilot")
    assert [v.status for v in list_versions(ws, CHARTER)] == ["live", "shadow"]
    report = cli("audit", "verify", "--json")
    assert report.code == 0, report.stdout
    # two versions and the charter's accepted terms
    assert report.json()["state_rows"] == 3 and report.json()["state_problems"] == []


def test_a_status_set_in_the_database_is_refused_and_reported(
    ws: Workspace, model_file: Path, other_model_file: Path, cli: Any
) -> None:
    register_version(ws, CHARTER, model_file)
    register_version(ws, CHARTER, other_model_file)
    sql(ws, "UPDATE model_versions SET status = 'live' WHERE version = 2")

    with pytest.raises(StateTamperedError, match=r"credit-default version 2 was changed outside"):
        load_model(ws, CHARTER, 2)
    with pytest.raises(StateTamperedError):
        rollback(ws, CHARTER)  # no decision builds on the forged status
    with pytest.raises(StateTamperedError), ws.db.session() as session:
        set_status(ws, session, CHARTER, 2, "retired")
    assert load_model(ws, CHARTER, 1) is not None  # the untouched version still works

    listing = cli("versions", CHARTER, "--json")
    assert listing.code == 4 and listing.json()["error"]["type"] == "StateTamperedError"
    report = cli("audit", "verify", "--json")
    assert report.code == 1
    body = report.json()
    assert body["ok"] is False and body["first_bad"] is None  # the chain itself is intact
    (problem,) = body["state_problems"]
    assert problem["binding"] == "model_version"
    assert problem["key"] == {"charter": CHARTER, "version": 2}
    human = cli("audit", "verify")
    assert "TAMPERED state: credit-default version 2" in human.stdout


def test_a_row_pointed_at_another_models_artifact_is_not_loaded(
    ws: Workspace, model_file: Path, other_model_file: Path, cli: Any
) -> None:
    register_version(ws, CHARTER, model_file)
    second = register_version(ws, CHARTER, other_model_file)
    sql(
        ws,
        "UPDATE model_versions SET sha256 = :h, artifact_uri = :u, lineage = "
        "(SELECT lineage FROM model_versions WHERE version = 2) WHERE version = 1",
        h=second.sha256,
        u=second.artifact_uri,
    )
    with pytest.raises(StateTamperedError, match="version 1"):
        load_model(ws, CHARTER, 1)
    with pytest.raises(StateTamperedError):
        get_version(ws, CHARTER, 1)
    verified = cli("versions", CHARTER, "--verify")
    assert verified.code == 4 and "version 1" in verified.stderr
    assert cli("audit", "verify").code == 1


def test_a_row_inserted_outside_charter_has_no_binding(ws: Workspace, model_file: Path) -> None:
    register_version(ws, CHARTER, model_file)
    sql(
        ws,
        "INSERT INTO model_versions (charter, version, sha256, flavor, artifact_uri, status, "
        "lineage, created_at, created_by, status_changed_at) SELECT charter, 7, sha256, flavor, "
        "artifact_uri, 'live', lineage, created_at, created_by, status_changed_at "
        "FROM model_versions WHERE version = 1",
    )
    with pytest.raises(StateTamperedError, match="version 7 has no binding"):
        load_model(ws, CHARTER, 7)
    report = ws.ledger.verify()
    assert not report.ok and [p["key"]["version"] for p in report.state_problems] == [7]


def test_an_edited_binding_entry_does_not_vouch_for_a_row(ws: Workspace, model_file: Path) -> None:
    register_version(ws, CHARTER, model_file)
    sql(ws, "UPDATE model_versions SET status = 'live'")
    # The forger also rewrites the digest in the ledger entry, but cannot re-sign the chain.
    from charter.audit.state import MODEL_VERSION, digest

    with ws.db.read() as session:
        row = session.scalar(sa.select(MODEL_VERSION.table))
        forged = digest(MODEL_VERSION, row)
        payload = session.scalar(
            sa.text("SELECT payload FROM audit_entries WHERE action = 'version.registered'")
        )
    import json

    body = json.loads(payload)
    body["state"][0]["digest"] = forged
    sql(
        ws,
        "UPDATE audit_entries SET payload = :p WHERE action = 'version.registered'",
        p=json.dumps(body, sort_keys=True, separators=(",", ":")),
    )
    with pytest.raises(StateTamperedError, match="was edited"):
        load_model(ws, CHARTER, 1)
    assert not ws.ledger.verify().ok


def _auto_if_sufficient(ws: Workspace) -> None:
    path = ws.charter_path(CHARTER)
    path.write_text(path.read_text().replace("approval: owner", "approval: auto_if_sufficient"))


def test_a_revoked_pre_authorisation_revived_in_the_database_is_refused(
    ws: Workspace, cli: Any
) -> None:
    _auto_if_sufficient(ws)
    authorize(ws, CHARTER, by=OWNER)
    charter = ws.load(CHARTER).charter
    assert approval_mode(ws, charter).mode == "auto_if_sufficient"
    revoke_authorization(ws, CHARTER, by=OWNER)
    assert approval_mode(ws, charter).mode == "owner"
    assert ws.ledger.verify().ok

    sql(ws, "UPDATE promotion_authorizations SET revoked_at = NULL, revoked_by = NULL")
    with pytest.raises(StateTamperedError, match="pre-authorisation 1 of credit-default"):
        approval_mode(ws, charter)
    report = cli("audit", "verify", "--json").json()
    assert [p["binding"] for p in report["state_problems"]] == ["promotion_authorization"]


def test_a_superseded_pre_authorisation_stays_bound(ws: Workspace) -> None:
    _auto_if_sufficient(ws)
    authorize(ws, CHARTER, by=OWNER)
    authorize(ws, CHARTER, by=OWNER)  # supersedes the first: its revocation is bound too
    report = ws.ledger.verify()
    assert report.ok and report.state_rows == 3  # two grants and the accepted terms
    sql(ws, "UPDATE promotion_authorizations SET revoked_at = NULL WHERE id = 1")
    assert not ws.ledger.verify().ok


def test_rows_from_before_bindings_are_checked_against_what_the_ledger_recorded(
    ws: Workspace, model_file: Path, other_model_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from charter.audit import state

    with monkeypatch.context() as older_charter:  # writes as charter did before bindings
        older_charter.setattr(state, "bound", lambda payload, *seals: dict(payload))
        register_version(ws, CHARTER, model_file)
        register_version(ws, CHARTER, other_model_file)
        with ws.db.session() as session:
            set_status(ws, session, CHARTER, 1, "live", reason="approved")
    assert '"state"' not in "".join(e.payload for e in ws.ledger.entries())
    assert load_model(ws, CHARTER, 1) is not None and ws.ledger.verify().ok

    sql(ws, "UPDATE model_versions SET status = 'live' WHERE version = 2")
    with pytest.raises(StateTamperedError, match="version 2 was changed outside charter"):
        load_model(ws, CHARTER, 2)
    sql(ws, "UPDATE model_versions SET status = 'registered' WHERE version = 2")
    with ws.db.session() as session:  # the first write through this charter binds the row
        set_status(ws, session, CHARTER, 2, "shadow", reason="pilot")
    assert [v.status for v in list_versions(ws, CHARTER)] == ["live", "shadow"]
    assert ws.ledger.verify().ok


def test_accepted_terms_changed_in_the_database_are_refused_and_reported(
    ws: Workspace, model_file: Path, cli: Any
) -> None:
    register_version(ws, CHARTER, model_file)  # the ledger records the terms' sha256
    text = (ws.charters_dir / f"{CHARTER}.yaml").read_text()
    forged = text.replace("dana.ruiz@bank.example", "eve@bank.example")
    assert forged != text
    digest = hashlib.sha256(forged.encode()).hexdigest()
    sql(ws, "UPDATE charter_terms SET content = :c, sha256 = :s", c=forged, s=digest)

    with pytest.raises(StateTamperedError, match="the accepted terms of credit-default"):
        ws.load(CHARTER)
    report = cli("audit", "verify", "--json")
    assert report.code == 1
    (problem,) = report.json()["state_problems"]
    assert problem["binding"] == "charter_terms" and problem["key"] == {"charter": CHARTER}

    sql(ws, "UPDATE charter_terms SET content = :c", c=text)  # the text alone, sha256 kept
    with pytest.raises(StateTamperedError):
        ws.load(CHARTER)
