"""Nobody decides in someone else's name: charter names, look-alike identities, bounded actors.

On SQLite and on the real PostgreSQL server. Every refusal exits 1 with a clear message (never an
"unexpected error") and, once the charter is known, leaves a ``decision.refused`` ledger entry.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from charter.identity import canonical, check_identity, confusable_with, label, skeleton
from charter.settings import Settings
from charter.spec.scaffold import render
from charter.store.tables import AuditEntry
from charter.workspace import Workspace

OWNER = "dana.ruiz@bank.example"
KELVIN = "dana.ruiz@ban\u212a.example"
CYRILLIC_A = "dana.ruiz@b\u0430nk.example"


def refusals(workspace_dir: Path) -> list[dict[str, Any]]:
    ws = Workspace(workspace_dir, settings=Settings())
    try:
        with ws.db.read() as session:
            rows = session.execute(
                sa.select(AuditEntry.actor, AuditEntry.payload)
                .where(AuditEntry.action == "decision.refused")
                .order_by(AuditEntry.seq)
            ).all()
    finally:
        ws.close()
    return [{**json.loads(r.payload), "_actor": r.actor} for r in rows]


def write_evil(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        render("credit-default", owner_name="Eve", owner_email="eve@evil.example"), "utf-8"
    )


# -- names ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["relative", "absolute"])
def test_a_path_given_as_name_is_refused_and_never_read(
    cli: Any, workspace_dir: Path, tmp_path: Path, kind: str
) -> None:
    evil = tmp_path / "evil" / "credit-default.yaml"
    write_evil(evil)
    target = "../../evil/credit-default" if kind == "relative" else str(evil)
    result = cli("approve", target, "3", "--as", "eve@evil.example")
    assert result.code == 1
    assert "is not a charter name" in result.stderr
    assert "unexpected" not in result.stderr
    assert refusals(workspace_dir) == []
    assert cli("status", "credit-default.yaml").code == 1


def test_check_alone_still_takes_a_file(cli: Any, tmp_path: Path) -> None:
    evil = tmp_path / "elsewhere" / "credit-default.yaml"
    write_evil(evil)
    result = cli("check", str(evil), "--json")
    assert result.code == 0
    assert result.json()["charters"][0]["file"] == str(evil)


# -- identities -----------------------------------------------------------------------------------
def test_a_kelvin_sign_look_alike_of_the_owner_is_refused_and_recorded(
    cli: Any, workspace_dir: Path
) -> None:
    result = cli("approve", "credit-default", "1", "--as", KELVIN)
    assert result.code == 1
    assert "U+212A KELVIN SIGN" in result.stderr
    (refused,) = refusals(workspace_dir)
    assert refused["action"] == "approve"
    assert refused["by"] == canonical(KELVIN) == OWNER  # recorded in the form it pretends
    assert "KELVIN SIGN" in refused["refused"]


def test_a_cyrillic_look_alike_of_the_owner_is_refused_as_such(
    cli: Any, workspace_dir: Path
) -> None:
    result = cli("reject", "credit-default", "1", "--as", CYRILLIC_A, "--reason", "no")
    assert result.code == 1
    assert f"looks like {OWNER!r} but is a different identity" in result.stderr
    (refused,) = refusals(workspace_dir)
    assert refused["action"] == "reject" and refused["by"] == CYRILLIC_A


def test_the_owner_in_other_case_is_the_owner(cli: Any, workspace_dir: Path) -> None:
    result = cli("approve", "credit-default", "1", "--as", "  Dana.Ruiz@BANK.example ")
    assert result.code == 1
    assert "may not approve" not in result.stderr  # authorised; refused for the version alone
    assert "version" in result.stderr
    (refused,) = refusals(workspace_dir)
    assert refused["by"] == OWNER


def test_an_overlong_decider_is_refused_before_any_write_and_recorded(
    cli: Any, workspace_dir: Path
) -> None:
    result = cli("approve", "credit-default", "1", "--as", "e" * 400 + "@evil.example")
    assert result.code == 1
    assert "413 characters long, over the limit of 320" in result.stderr
    (refused,) = refusals(workspace_dir)
    assert refused["by"].endswith("… (413 characters)") and len(refused["by"]) < 120


def test_an_overlong_actor_still_gets_its_refusal_recorded(
    cli: Any, workspace_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHARTER_ACTOR", "a" * 400)
    result = cli("approve", "credit-default", "1", "--as", "eve@evil.example")
    assert result.code == 1
    assert "may not approve" in result.stderr and "unexpected" not in result.stderr
    (refused,) = refusals(workspace_dir)
    assert refused["_actor"].startswith("invalid actor 'aaaa")
    assert refused["_actor"].endswith("… (400 characters)")
    monkeypatch.setenv("CHARTER_ACTOR", "auditor@bank.example")
    assert cli("audit", "verify").code == 0


def test_an_actor_with_an_invisible_character_is_refused_clearly(
    cli: Any, workspace_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHARTER_ACTOR", "ops\u202e@bank.example")
    result = cli("promote", "credit-default", "1")
    assert result.code == 1
    assert "U+202E RIGHT-TO-LEFT OVERRIDE" in result.stderr
    assert "unexpected" not in result.stderr
    assert cli("approve", "credit-default", "1", "--as", "eve@evil.example").code == 1
    (refused,) = refusals(workspace_dir)
    assert refused["_actor"] == "invalid actor 'ops\\u202e@bank.example'"


# -- the charter file -----------------------------------------------------------------------------
def test_a_charter_refuses_a_delegate_that_looks_like_the_owner(
    cli: Any, workspace_dir: Path
) -> None:
    path = workspace_dir / "charters" / "credit-default.yaml"
    text = path.read_text().replace(
        "delegates: []", f'delegates: [{{name: "Dana R", email: "{CYRILLIC_A}"}}]'
    )
    path.write_text(text, "utf-8")
    result = cli("check", "credit-default", "--json")
    assert result.code == 1
    [problem] = result.json()["charters"][0]["problems"]
    assert problem.startswith("delegates[0].email:")
    assert f"looks like {OWNER!r}" in problem


def test_a_charter_refuses_an_owner_spelt_with_a_compatibility_character(
    cli: Any, workspace_dir: Path
) -> None:
    path = workspace_dir / "charters" / "credit-default.yaml"
    path.write_text(path.read_text().replace(OWNER, KELVIN), "utf-8")
    result = cli("check", "credit-default", "--json")
    assert result.code == 1
    [problem] = result.json()["charters"][0]["problems"]
    assert problem.startswith("owner.email:") and "KELVIN SIGN" in problem


# -- the rules themselves (no store) --------------------------------------------------------------
def test_canonical_form_is_nfkc_then_casefold() -> None:
    assert canonical(" Dana.Ruiz@Bank.Example ") == OWNER
    assert canonical("STRASSE@x.example") == canonical("straße@x.example")
    assert canonical("jose\u0301@x.example") == canonical("jos\u00e9@x.example")


def test_skeletons_catch_latin_cyrillic_and_greek_look_alikes() -> None:
    assert skeleton(CYRILLIC_A) == skeleton(OWNER)
    assert skeleton("dana.ruiz@bank.ex\u03b1mple") == skeleton(OWNER)  # Greek alpha
    assert skeleton("dana.ruiz@bank.examp1e") == skeleton(OWNER)  # digit one for l
    assert confusable_with(CYRILLIC_A, [OWNER]) == OWNER
    assert confusable_with(OWNER, [OWNER]) is None  # the same identity is not a look-alike
    assert confusable_with("dan@bank.example", [OWNER]) is None


def test_compatibility_characters_are_refused_plain_unicode_is_not() -> None:
    with pytest.raises(Exception, match="ANGSTROM SIGN"):
        check_identity("\u212bsa@x.example")
    with pytest.raises(Exception, match="FULLWIDTH"):
        check_identity("ｄana@x.example")
    assert check_identity("José@x.example") == "josé@x.example"


def test_label_bounds_and_escapes_what_it_shows() -> None:
    assert label("a\u0000b") == "'a\\u0000b'"
    assert len(label("x" * 10_000)) < 120


def test_an_overlong_alert_actor_is_refused_before_the_alert_is_touched(cli: Any) -> None:
    result = cli("alerts", "credit-default", "ack", "1", "--as", "o" * 400)
    assert result.code == 1
    assert "400 characters long, over the limit of 320" in result.stderr
    assert "unexpected" not in result.stderr
