"""A stored artifact is re-hashed before anything loads it; any change is refused by name."""

from __future__ import annotations

import hashlib
import pickle
import shutil
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import joblib
import numpy as np
import pytest
import skops.io
from sklearn.linear_model import LogisticRegression

from charter.errors import ArtifactTamperedError, ModelFileError
from charter.registry import (
    VersionInfo,
    get_version,
    load_model,
    register_version,
    verify_version,
)
from charter.workspace import Workspace

CHARTER = "credit-default"


def stored_path(info: VersionInfo) -> Path:
    return Path(unquote(urlparse(info.artifact_uri).path))


class Trap:
    """Unpickling this creates a file: proof of whether a pickle was ever loaded."""

    def __init__(self, sentinel: Path) -> None:
        self.sentinel = str(sentinel)

    def __reduce__(self) -> tuple[Any, tuple[str, str]]:
        return (open, (self.sentinel, "w"))


def test_swapped_pickle_is_refused_before_it_is_unpickled(
    ws: Workspace, model_file: Path, tmp_path: Path
) -> None:
    info = register_version(ws, CHARTER, model_file)
    sentinel = tmp_path / "pickle-was-loaded"
    stored = stored_path(info)
    stored.write_bytes(pickle.dumps(Trap(sentinel)))
    with pytest.raises(ArtifactTamperedError) as caught:
        load_model(ws, CHARTER, 1)
    assert not sentinel.exists()
    message = str(caught.value)
    assert "credit-default version 1" in message and "credit.joblib" in message
    assert info.sha256 in message
    joblib.load(stored).close()  # the control: the trap really fires when loaded unchecked
    assert sentinel.exists()


def test_tampered_message_names_expected_and_actual_hash(ws: Workspace, model_file: Path) -> None:
    info = register_version(ws, CHARTER, model_file)
    stored = stored_path(info)
    stored.write_bytes(stored.read_bytes() + b"\0")
    actual = hashlib.sha256(stored.read_bytes()).hexdigest()
    with pytest.raises(
        ArtifactTamperedError, match=rf"should have sha256 {info.sha256} but has {actual}"
    ):
        verify_version(ws, CHARTER, 1)
    assert ArtifactTamperedError.exit_code == 4


def test_tampered_skops_file_is_refused(
    ws: Workspace, tmp_path: Path, classifier: LogisticRegression
) -> None:
    path = tmp_path / "credit.skops"
    skops.io.dump(classifier, path)
    info = register_version(ws, CHARTER, path)
    other = LogisticRegression(C=100.0).fit(np.array([[0.0], [1.0]]), [0, 1])
    skops.io.dump(other, stored_path(info))
    with pytest.raises(ArtifactTamperedError):
        load_model(ws, CHARTER, info.version)


def test_changed_or_added_file_in_an_mlflow_model_is_refused(
    ws: Workspace, tmp_path: Path, classifier: LogisticRegression
) -> None:
    import mlflow.sklearn

    folder = tmp_path / "mlflow-credit"
    mlflow.sklearn.save_model(classifier, str(folder), pip_requirements=["scikit-learn"])
    info = register_version(ws, CHARTER, folder)
    stored = stored_path(info)
    assert sorted(p.name for p in stored.iterdir()) == sorted(p.name for p in folder.iterdir())
    load_model(ws, CHARTER, info.version)  # intact: loads

    (stored / "code").mkdir()
    (stored / "code" / "sitecustomize.py").write_text("print('owned')\n")
    with pytest.raises(ArtifactTamperedError, match=r"credit-default version 1 .*mlflow-credit"):
        load_model(ws, CHARTER, info.version)
    shutil.rmtree(stored / "code")
    verify_version(ws, CHARTER, info.version)  # back to the registered tree

    mlmodel = stored / "MLmodel"
    mlmodel.write_text(mlmodel.read_text() + "\n# edited\n")
    with pytest.raises(ArtifactTamperedError):
        verify_version(ws, CHARTER, info.version)


def test_entrypoint_whose_source_changed_is_refused(
    ws: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    name = f"tamper_scoring_{uuid.uuid4().hex[:10]}"  # never shared through sys.modules
    module = tmp_path / f"{name}.py"
    module.write_text("def predict(frame):\n    return frame['ratio'].to_numpy()\n")
    info = register_version(ws, CHARTER, f"{name}:predict")
    verify_version(ws, CHARTER, info.version)
    module.write_text("def predict(frame):\n    return frame['ratio'].to_numpy() * 0\n")
    with pytest.raises(ArtifactTamperedError, match=r"source of entrypoint .* changed since"):
        load_model(ws, CHARTER, info.version)


def test_deleted_artifact_is_reported_missing(ws: Workspace, model_file: Path) -> None:
    info = register_version(ws, CHARTER, model_file)
    stored_path(info).unlink()
    with pytest.raises(ModelFileError, match=r"the artifact credit\.joblib .* is missing"):
        load_model(ws, CHARTER, 1)


def test_cli_verify_exits_4_on_a_tampered_artifact(
    cli: Any, ws: Workspace, model_file: Path
) -> None:
    assert cli("register", CHARTER, str(model_file)).code == 0
    intact = cli("versions", CHARTER, "--verify", "--json")
    assert intact.code == 0 and intact.json()[0]["version"] == 1
    stored = stored_path(get_version(ws, CHARTER, 1))
    stored.write_bytes(b"tampered")
    human = cli("versions", CHARTER, "--verify")
    assert human.code == 4
    assert "was modified after registration" in human.stderr
    assert "Traceback" not in human.stderr
    as_json = cli("versions", CHARTER, "--verify", "--json")
    assert as_json.code == 4
    assert as_json.json()["error"]["type"] == "ArtifactTamperedError"
