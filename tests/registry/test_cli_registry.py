"""`charter register` and `charter versions` as a user and a script run them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from charter.cli.main import main
from charter.workspace import Workspace

CHARTER = "credit-default"


def test_register_then_versions_json_has_the_keys_scripts_rely_on(
    cli: Any, ws: Workspace, model_file: Path, other_model_file: Path, training_parquet: Path
) -> None:
    first = cli(
        "register",
        CHARTER,
        str(model_file),
        "--training-data",
        str(training_parquet),
        "--param",
        "C=0.25",
        "--param",
        "features=v3",
        "--meta",
        "offline_auc=0.81",
        "--meta",
        "ticket=RISK-12",
        "--json",
    )
    assert first.code == 0, first.stderr
    registered = first.json()
    assert (registered["version"], registered["flavor"], registered["status"]) == (
        1,
        "sklearn",
        "shadow",  # a charter's first version is its pilot: it starts in shadow
    )
    lineage = registered["lineage"]
    assert lineage["parameters"]["C"] == 0.25 and lineage["parameters"]["features"] == "v3"
    assert lineage["metadata"] == {"offline_auc": 0.81, "ticket": "RISK-12"}
    assert lineage["training_data"]["rows"] == 300
    assert cli("register", CHARTER, str(other_model_file), "--flavor", "sklearn").code == 0

    listed = cli("versions", CHARTER, "--json")
    assert listed.code == 0
    versions = listed.json()
    assert isinstance(versions, list) and [v["version"] for v in versions] == [1, 2]
    assert [v["status"] for v in versions] == ["shadow", "registered"]
    for entry in versions:
        assert {"version", "sha256", "flavor", "status"} <= set(entry)
        assert len(entry["sha256"]) == 64
    assert ws.ledger.verify().ok


def test_human_output_names_version_hash_and_status(cli: Any, model_file: Path) -> None:
    registered = cli("register", CHARTER, str(model_file))
    assert registered.code == 0
    assert "Registered credit-default version 1 (sklearn, sha256 " in registered.stdout
    assert "status shadow" in registered.stdout
    listed = cli("versions", CHARTER)
    assert listed.stdout.startswith("credit-default: 1 version\n")
    lines = listed.stdout.splitlines()
    line = lines[1].split()
    assert line[:4] == ["v1", "shadow", "sklearn", "sha256"]
    # 80 columns (the tests' console): who registered it goes under rather than wrap the line
    assert line[-1] == "UTC" and lines[2] == "        by tester@example.com"
    assert all(len(shown) <= 80 for shown in lines)


def test_versions_of_a_charter_without_any(cli: Any) -> None:
    result = cli("versions", CHARTER)
    assert result.code == 0 and "has no versions yet" in result.stdout
    assert cli("versions", CHARTER, "--json").json() == []


@pytest.mark.parametrize(
    ("args", "error_type", "message"),
    [
        (["register", "fraud", "{model}"], "CharterNotFoundError", "no charter named 'fraud'"),
        (["register", CHARTER, "{tmp}/missing.joblib"], "ModelFileError", "does not exist"),
        (["register", CHARTER, "{model}", "--flavor", "h2o"], "RegistryError", "unknown flavor"),
        (["register", CHARTER, "{tmp}/broken.joblib"], "ModelFileError", "cannot be loaded"),
        (["register", CHARTER, "not_a_module_x:predict"], "ModelFileError", "no module named"),
        (["versions", "fraud"], "CharterNotFoundError", "no charter named 'fraud'"),
    ],
    ids=["unknown-charter", "missing-file", "unknown-flavor", "broken", "entrypoint", "versions"],
)
def test_bad_input_exits_1_with_one_clear_error(
    cli: Any,
    store_counts: Any,
    tmp_path: Path,
    model_file: Path,
    args: list[str],
    error_type: str,
    message: str,
) -> None:
    (tmp_path / "broken.joblib").write_text("not a model")
    argv = [a.format(model=model_file, tmp=tmp_path) for a in args]
    before = store_counts()
    human = cli(*argv)
    assert human.code == 1
    assert human.stderr.startswith("error: ") and message in human.stderr
    assert "Traceback" not in human.stderr
    as_json = cli(*argv, "--json")
    assert as_json.code == 1
    assert as_json.json()["error"]["type"] == error_type
    assert store_counts() == before


def test_malformed_param_is_a_usage_error(cli: Any, model_file: Path, store_counts: Any) -> None:
    result = cli("register", CHARTER, str(model_file), "--param", "no-equals-sign")
    assert result.code == 2
    assert "'no-equals-sign' is not of the form key=value" in result.stderr
    assert store_counts() == (0, 0)


def test_duplicate_registration_names_the_existing_version(cli: Any, model_file: Path) -> None:
    assert cli("register", CHARTER, str(model_file)).code == 0
    again = cli("register", CHARTER, str(model_file), "--json")
    assert again.code == 1
    assert "already registered as credit-default version 1" in again.json()["error"]["message"]


def test_main_with_capsys(
    workspace_dir: Path, model_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The documented way to drive the CLI from Python: ``main([...])`` returns the exit code."""
    code = main(["-w", str(workspace_dir), "register", CHARTER, str(model_file), "--json"])
    assert code == 0
    assert '"version": 1' in capsys.readouterr().out
