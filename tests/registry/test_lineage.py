"""Lineage: training data fingerprint, code version, parameters, metadata, environment."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from charter.registry import register_version
from charter.registry.lineage import code_version, fingerprint_data, json_safe
from charter.workspace import Workspace

CHARTER = "credit-default"


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def test_lineage_holds_data_params_metadata_and_environment(
    ws: Workspace,
    model_file: Path,
    training_parquet: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    info = register_version(
        ws,
        CHARTER,
        model_file,
        training_data=training_parquet,
        params={"C": 0.25, "features": "v3"},
        metadata={"offline_auc": 0.81, "trained_by": "risk-ml"},
    )
    lineage = info.lineage
    assert lineage["training_data"] == {
        "path": str(training_parquet.resolve()),
        "kind": "file",
        "sha256": hashlib.sha256(training_parquet.read_bytes()).hexdigest(),
        "bytes": training_parquet.stat().st_size,
        "format": "parquet",
        "rows": 300,
        "columns": {
            "amount": "Float64",
            "tenure": "Float64",
            "ratio": "Float64",
            "outcome": "Int64",
        },
    }
    # The estimator's own parameters, overridden by the ones given explicitly.
    assert lineage["parameters"]["max_iter"] == 500
    assert lineage["parameters"]["C"] == 0.25 and lineage["parameters"]["features"] == "v3"
    assert lineage["metadata"] == {"offline_auc": 0.81, "trained_by": "risk-ml"}
    assert lineage["model"]["class"] == "sklearn.linear_model._logistic.LogisticRegression"
    assert lineage["model"]["features"] == ["amount", "tenure", "ratio"]
    assert lineage["artifact"]["format"] == "joblib"
    assert lineage["artifact"]["source"] == str(model_file.resolve())
    environment = lineage["environment"]
    assert environment["python"].count(".") == 2
    assert {"scikit-learn", "numpy", "joblib", "charter-ml"} <= set(environment["packages"])
    assert lineage["code"] is None  # tmp_path is not in a git repository


def test_code_version_is_the_git_commit_with_a_dirty_flag(
    ws: Workspace,
    model_file: Path,
    other_model_file: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    repo = tmp_path / "project"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    (repo / "train.py").write_text("print('train')\n")
    git(repo, "add", "train.py")
    git(repo, "commit", "-q", "-m", "train")
    monkeypatch.chdir(repo)
    clean = register_version(ws, CHARTER, model_file).lineage["code"]
    assert clean == {
        "commit": git(repo, "rev-parse", "HEAD"),
        "dirty": False,
        "repository": str(repo.resolve()),
        "branch": "main",
    }
    (repo / "train.py").write_text("print('changed')\n")
    assert register_version(ws, CHARTER, other_model_file).lineage["code"]["dirty"] is True


def test_code_version_is_none_without_git(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    assert code_version(Path.cwd()) is None


def test_csv_training_data_is_fingerprinted_with_its_shape(tmp_path: Path) -> None:
    path = tmp_path / "train.csv"
    pl.DataFrame({"a": [1, 2, 3], "b": ["x", "y", "z"]}).write_csv(path)
    fingerprint = fingerprint_data(path)
    assert (fingerprint["format"], fingerprint["rows"]) == ("csv", 3)
    assert fingerprint["columns"] == {"a": "Int64", "b": "String"}


def test_unreadable_training_data_still_gets_a_hash(tmp_path: Path) -> None:
    path = tmp_path / "train.parquet"
    path.write_bytes(b"not parquet at all")
    fingerprint = fingerprint_data(path)
    assert fingerprint["sha256"] == hashlib.sha256(b"not parquet at all").hexdigest()
    assert "rows" not in fingerprint


def test_a_training_data_folder_gets_a_tree_hash_and_total_rows(tmp_path: Path) -> None:
    folder = tmp_path / "landing"
    folder.mkdir()
    pl.DataFrame({"a": [1, 2]}).write_parquet(folder / "one.parquet")
    pl.DataFrame({"a": [3]}).write_parquet(folder / "two.parquet")
    first = fingerprint_data(folder)
    assert (first["kind"], first["rows"]) == ("directory", 3)
    pl.DataFrame({"a": [4]}).write_parquet(folder / "three.parquet")
    assert fingerprint_data(folder)["sha256"] != first["sha256"]


def test_parameters_of_any_estimator_become_json() -> None:
    pipeline = make_pipeline(StandardScaler(), LogisticRegression(class_weight={0: 1.0, 1: 3.0}))
    params = json_safe(pipeline.get_params(deep=False))
    assert params["steps"][0] == [
        "standardscaler",
        {"estimator": "sklearn.preprocessing._data.StandardScaler"},
    ]
    assert json_safe({"w": np.float32(0.5), "n": np.int64(3), "inf": float("inf")}) == {
        "w": 0.5,
        "n": 3,
        "inf": "inf",
    }
    assert json_safe(np.log1p) == "numpy.log1p"
