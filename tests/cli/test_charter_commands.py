"""`charter init`, `check`, `schema` and error output, as a user runs them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jsonschema

from charter.spec.loader import read_yaml


def test_init_scaffolds_a_charter_that_passes_check(cli: Any, workspace_dir: Path) -> None:
    result = cli(
        "init", "claims-triage", "--owner-name", "Ana Lee", "--owner-email", "ana@ins.example"
    )
    assert result.code == 0
    path = workspace_dir / "charters" / "claims-triage.yaml"
    assert path.exists() and "# The business owner is accountable" in path.read_text()
    check = cli("check", "claims-triage")
    assert check.code == 0
    assert "ok  claims-triage" in check.stdout


def test_init_refuses_to_overwrite(cli: Any) -> None:
    assert cli("init", "credit-default").code == 1


def test_init_rejects_a_bad_name(cli: Any) -> None:
    result = cli("init", "Bad Name")
    assert result.code == 1
    assert "'Bad Name' is not a valid charter name" in result.stderr


def test_check_reports_each_problem_and_exits_nonzero(cli: Any, workspace_dir: Path) -> None:
    path = workspace_dir / "charters" / "credit-default.yaml"
    text = (
        path.read_text()
        .replace("at_least: 0.75", "at_least: 1.5")
        .replace("type: float", "type: decimal")
    )
    path.write_text(text)
    result = cli("check", "credit-default")
    assert result.code == 1
    assert (
        "sufficiency.metrics[0].at_least: must be a number between 0 and 1 for roc_auc"
        in result.stdout
    )
    assert "data.fields.amount.type: unknown field type 'decimal'" in result.stdout
    data = cli("check", "--json").json()
    assert data["ok"] is False
    assert len(data["charters"][0]["problems"]) == 2


def test_check_of_a_file_path(cli: Any, workspace_dir: Path) -> None:
    result = cli("check", str(workspace_dir / "charters" / "credit-default.yaml"), "--json")
    assert result.code == 0
    assert result.json()["charters"][0]["ok"] is True


def test_unknown_charter_is_one_paragraph_without_traceback(cli: Any) -> None:
    result = cli("check", "nope")
    assert result.code == 1
    assert result.stderr.startswith("error: no charter named 'nope'")
    assert "Traceback" not in result.stderr
    assert "credit-default" in result.stderr  # the hint lists the charters that do exist


def test_errors_in_json_mode_are_json(cli: Any) -> None:
    result = cli("check", "nope", "--json")
    assert result.code == 1
    assert result.json()["error"]["type"] == "CharterNotFoundError"


def test_schema_is_a_json_schema_that_accepts_the_scaffold(cli: Any, workspace_dir: Path) -> None:
    result = cli("schema")
    assert result.code == 0
    schema = result.json()
    jsonschema.Draft202012Validator.check_schema(schema)
    document = read_yaml((workspace_dir / "charters" / "credit-default.yaml").read_text())
    jsonschema.validate(document, schema)
    assert "owner" in schema["required"]


def test_usage_error_exits_2(cli: Any) -> None:
    result = cli("register")
    assert result.code == 2


def test_schema_accepts_json_like_every_command(cli: Any) -> None:
    result = cli("schema", "--json")
    assert result.code == 0 and result.json()["title"] == "charter"


def test_unreachable_database_is_one_paragraph_and_exit_3(cli: Any, monkeypatch: Any) -> None:
    monkeypatch.setenv(
        "CHARTER_DATABASE_URL", "postgresql+psycopg://nobody:secret@127.0.0.1:1/none"
    )
    result = cli("versions", "credit-default")
    assert result.code == 3
    assert result.stderr.startswith(
        "error: cannot open the database at postgresql+psycopg://nobody:***@127.0.0.1:1/none"
    )
    assert "secret" not in result.stderr and "Traceback" not in result.stderr
    assert cli("audit", "verify", "--json").json()["error"]["type"] == "StoreUnavailableError"


def test_malformed_database_url_is_named(cli: Any, monkeypatch: Any) -> None:
    monkeypatch.setenv("CHARTER_DATABASE_URL", "not a url")
    result = cli("audit", "verify")
    assert result.code == 3
    assert "'not a url' is not a valid SQLAlchemy URL" in result.stderr


def test_schema_results_prints_a_json_schema_per_result(cli: Any) -> None:
    result = cli("schema", "--results")
    assert result.code == 0
    schemas = result.json()
    assert {"Version", "AlertList", "IngestResult", "StatusResult"} <= set(schemas)
    for schema in schemas.values():
        jsonschema.Draft202012Validator.check_schema(schema)
    one = cli("schema", "--results", "Version").json()
    assert one == schemas["Version"]
    assert {"sha256", "status", "lineage"} <= set(one["properties"])


def test_schema_results_of_a_command_and_of_a_listing(cli: Any) -> None:
    listing = cli("schema", "--results", "versions").json()
    assert listing["type"] == "array"
    assert listing["items"]["title"] == "Version"
    alerts = cli("schema", "--results", "alerts list").json()
    assert alerts["title"] == "AlertList"
    init = cli("init", "another-model", "--json")
    jsonschema.validate(init.json(), cli("schema", "--results", "init").json())
    checked = cli("check", "--json")
    jsonschema.validate(checked.json(), cli("schema", "--results", "check").json())


def test_schema_results_of_an_unknown_name_says_which_exist(cli: Any) -> None:
    result = cli("schema", "--results", "nope")
    assert result.code == 1
    assert "no result or command named 'nope'" in result.stderr
    assert "Version" in result.stderr
    assert cli("schema", "Version").code == 2  # NAME needs --results
