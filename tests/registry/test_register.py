"""Registering model versions: content-addressed storage, numbering, the ledger, bad input."""

from __future__ import annotations

import hashlib
import json
import threading
from pathlib import Path
from typing import Any

import pytest

from charter.errors import (
    CharterNotFoundError,
    ModelFileError,
    RegistryError,
    UserCodeError,
    VersionNotFoundError,
)
from charter.registry import (
    get_version,
    list_versions,
    load_model,
    register_version,
    set_status,
)
from charter.settings import Settings
from charter.spec.scaffold import write_scaffold
from charter.workspace import Workspace

CHARTER = "credit-default"


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_artifact_is_stored_under_its_sha256(
    ws: Workspace, model_file: Path, artifacts_dir: Path
) -> None:
    info = register_version(ws, CHARTER, model_file)
    digest = sha256(model_file)
    stored = artifacts_dir / "sha256" / digest[:2] / digest / "credit.joblib"
    assert info.sha256 == digest
    assert stored.read_bytes() == model_file.read_bytes()
    assert info.artifact_uri == stored.as_uri()
    assert (info.version, info.flavor, info.status) == (1, "sklearn", "shadow")


def test_versions_are_numbered_per_charter(
    ws: Workspace, workspace_dir: Path, model_file: Path, other_model_file: Path
) -> None:
    write_scaffold(
        workspace_dir / "charters", "claims-triage", owner_name="A", owner_email="a@b.example"
    )
    assert register_version(ws, CHARTER, model_file).version == 1
    assert register_version(ws, CHARTER, other_model_file).version == 2
    assert register_version(ws, "claims-triage", other_model_file).version == 1
    assert [v.version for v in list_versions(ws, CHARTER)] == [1, 2]
    assert get_version(ws, CHARTER, 2).sha256 == sha256(other_model_file)


def test_registration_is_in_the_ledger_with_its_lineage(ws: Workspace, model_file: Path) -> None:
    info = register_version(ws, CHARTER, model_file, metadata={"ticket": "RISK-12"})
    entries = list(ws.ledger.iter_all())
    assert [e.action for e in entries] == ["charter.created", "version.registered"]
    registered = entries[-1]
    assert registered.charter == CHARTER and registered.actor == "tester@example.com"
    payload = json.loads(registered.payload)
    assert payload["version"] == 1 and payload["sha256"] == info.sha256
    assert payload["lineage"]["metadata"] == {"ticket": "RISK-12"}
    assert ws.ledger.verify().ok


def test_same_bytes_twice_is_refused_naming_the_existing_version(
    ws: Workspace, model_file: Path, store_counts: Any
) -> None:
    register_version(ws, CHARTER, model_file)
    before = store_counts()
    with pytest.raises(RegistryError, match=r"already registered as credit-default version 1"):
        register_version(ws, CHARTER, model_file)
    assert store_counts() == before


def test_same_bytes_may_serve_another_charter(
    ws: Workspace, workspace_dir: Path, model_file: Path
) -> None:
    write_scaffold(
        workspace_dir / "charters", "claims-triage", owner_name="A", owner_email="a@b.example"
    )
    first = register_version(ws, CHARTER, model_file)
    second = register_version(ws, "claims-triage", model_file)
    assert first.sha256 == second.sha256 and first.artifact_uri == second.artifact_uri


def _text_as_joblib(tmp_path: Path) -> dict[str, Any]:
    path = tmp_path / "broken.joblib"
    path.write_text("this is not a pickle\n")
    return {"model": path}


def _missing_file(tmp_path: Path) -> dict[str, Any]:
    return {"model": tmp_path / "nowhere" / "model.joblib"}


def _unknown_flavor(tmp_path: Path) -> dict[str, Any]:
    path = tmp_path / "m.joblib"
    path.write_bytes(b"x")
    return {"model": path, "flavor": "tensorflow"}


def _unknown_suffix(tmp_path: Path) -> dict[str, Any]:
    path = tmp_path / "model.bin"
    path.write_bytes(b"x")
    return {"model": path}


def _unimportable_entrypoint(tmp_path: Path) -> dict[str, Any]:
    return {"model": "no_such_module_anywhere.scoring:predict"}


def _missing_training_data(tmp_path: Path) -> dict[str, Any]:
    return {"training_data": tmp_path / "no-such.parquet"}


@pytest.mark.parametrize(
    ("make", "error", "message"),
    [
        (_missing_file, ModelFileError, r"model file .*nowhere/model\.joblib does not exist"),
        (_text_as_joblib, ModelFileError, r"broken\.joblib cannot be loaded as a scikit-learn"),
        (_unknown_flavor, RegistryError, r"unknown flavor 'tensorflow'"),
        (_unknown_suffix, ModelFileError, r"cannot tell the flavor of .*model\.bin"),
        (_unimportable_entrypoint, ModelFileError, r"no module named 'no_such_module_anywhere"),
        (_missing_training_data, RegistryError, r"training data .*no-such\.parquet does not exist"),
    ],
    ids=lambda v: v.__name__.strip("_") if callable(v) else None,
)
def test_bad_input_is_refused_and_leaves_the_store_unchanged(
    ws: Workspace,
    tmp_path: Path,
    model_file: Path,
    store_counts: Any,
    artifacts_dir: Path,
    make: Any,
    error: type[Exception],
    message: str,
) -> None:
    register_version(ws, CHARTER, model_file)
    before = store_counts()
    stored_before = sorted(artifacts_dir.rglob("*"))
    kwargs = {"model": model_file, **make(tmp_path)}
    with pytest.raises(error, match=message):
        register_version(ws, CHARTER, kwargs.pop("model"), **kwargs)
    assert store_counts() == before
    assert sorted(artifacts_dir.rglob("*")) == stored_before
    assert ws.ledger.verify().ok


def test_unknown_charter_is_refused_before_anything_is_stored(
    ws: Workspace, model_file: Path, store_counts: Any, artifacts_dir: Path
) -> None:
    with pytest.raises(CharterNotFoundError, match="no charter named 'fraud'"):
        register_version(ws, "fraud", model_file)
    assert store_counts() == (0, 0)
    assert not artifacts_dir.exists()


def test_entrypoint_whose_import_raises_is_user_code_error(
    ws: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "exploding_scorer.py").write_text("raise RuntimeError('no config')\n")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(
        UserCodeError, match="importing 'exploding_scorer' raised RuntimeError"
    ) as e:
        register_version(ws, CHARTER, "exploding_scorer:predict")
    assert isinstance(e.value.__cause__, RuntimeError)


def test_unknown_version_lists_the_existing_ones(ws: Workspace, model_file: Path) -> None:
    register_version(ws, CHARTER, model_file)
    with pytest.raises(VersionNotFoundError, match="credit-default has no version 7") as e:
        get_version(ws, CHARTER, 7)
    assert e.value.hint == "Versions of credit-default: 1."
    with pytest.raises(VersionNotFoundError):
        load_model(ws, CHARTER, 7)


def test_versions_of_an_unknown_charter_is_charter_not_found(ws: Workspace) -> None:
    assert list_versions(ws, CHARTER) == []
    with pytest.raises(CharterNotFoundError):
        list_versions(ws, "fraud")


def test_set_status_changes_status_and_appends_to_the_ledger(
    ws: Workspace, model_file: Path
) -> None:
    register_version(ws, CHARTER, model_file)
    with ws.db.session() as session:
        changed = set_status(ws, session, CHARTER, 1, "live", reason="owner approved")
    assert changed.status == "live" and get_version(ws, CHARTER, 1).status == "live"
    last = list(ws.ledger.iter_all())[-1]
    assert last.action == "version.status_changed"
    assert '"from":"shadow"' in last.payload and '"to":"live"' in last.payload
    with pytest.raises(RegistryError, match="unknown status 'promoted'"), ws.db.session() as s:
        set_status(ws, s, CHARTER, 1, "promoted")
    assert ws.ledger.verify().ok


def test_concurrent_registrations_get_distinct_versions(
    workspace_dir: Path, model_file: Path, other_model_file: Path
) -> None:
    """Two writers (separate engines, as two processes would have) never collide on a number."""
    results: list[int] = []
    errors: list[BaseException] = []

    def register(path: Path) -> None:
        workspace = Workspace(workspace_dir, settings=Settings())
        try:
            results.append(register_version(workspace, CHARTER, path).version)
        except BaseException as exc:  # surfaced below
            errors.append(exc)
        finally:
            workspace.close()

    Workspace(workspace_dir, settings=Settings()).db.dispose()  # migrate once, up front
    threads = [threading.Thread(target=register, args=(p,)) for p in (model_file, other_model_file)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert sorted(results) == [1, 2]
    check = Workspace(workspace_dir, settings=Settings())
    assert check.ledger.verify().ok
    check.close()
