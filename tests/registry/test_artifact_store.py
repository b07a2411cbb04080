"""The content-addressed artifact store, on a local folder and on an fsspec URL."""

from __future__ import annotations

import shutil
import sqlite3
import uuid
from pathlib import Path

import fsspec
import numpy as np
import polars as pl
import pytest
from sklearn.linear_model import LogisticRegression

from charter.cli.main import main
from charter.registry import load_model, register_version
from charter.registry.artifacts import (
    UPLOAD_PREFIX,
    ArtifactStore,
    artifact_key,
    sha256_bytes,
    sha256_tree,
)
from charter.settings import Settings
from charter.workspace import Workspace

CHARTER = "credit-default"
FEATURES = ["amount", "tenure", "ratio"]


def test_an_fsspec_url_works_as_the_artifact_store(
    workspace_dir: Path,
    model_file: Path,
    classifier: LogisticRegression,
    scoring_frame: pl.DataFrame,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    root = f"memory://charter-tests-{uuid.uuid4().hex}"
    monkeypatch.setenv("CHARTER_ARTIFACTS", root)
    ws = Workspace(workspace_dir, settings=Settings())
    try:
        info = register_version(ws, CHARTER, model_file)
        key = artifact_key(info.sha256, "credit.joblib")
        assert info.artifact_uri == f"{root.replace('memory://', 'memory:///')}/{key}"
        memory = fsspec.filesystem("memory")
        assert memory.cat_file(info.artifact_uri) == model_file.read_bytes()
        assert not (workspace_dir / ".charter" / "artifacts").exists()
        predictor = load_model(ws, CHARTER, info.version)
        expected = classifier.predict_proba(scoring_frame.select(FEATURES).to_pandas())[:, 1]
        np.testing.assert_array_equal(predictor.predict(scoring_frame), expected)
    finally:
        ws.close()


def test_putting_the_same_bytes_again_writes_nothing_new(tmp_path: Path) -> None:
    store = ArtifactStore(str(tmp_path / "store"))
    data = b"model bytes"
    digest = sha256_bytes(data)
    first = store.put_bytes(digest, "m.joblib", data)
    stored = tmp_path / "store" / artifact_key(digest, "m.joblib")
    before = stored.stat().st_mtime_ns
    assert store.put_bytes(digest, "m.joblib", data) == first
    assert stored.stat().st_mtime_ns == before
    assert [p.name for p in stored.parent.iterdir()] == ["m.joblib"]  # no temporary left


def test_a_corrupt_leftover_under_the_key_is_replaced(tmp_path: Path) -> None:
    store = ArtifactStore(str(tmp_path / "store"))
    data = b"model bytes"
    digest = sha256_bytes(data)
    stored = tmp_path / "store" / artifact_key(digest, "m.joblib")
    stored.parent.mkdir(parents=True)
    stored.write_bytes(b"half a mod")
    store.put_bytes(digest, "m.joblib", data)
    assert stored.read_bytes() == data


def test_tree_hash_depends_on_paths_and_contents_only(tmp_path: Path) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    for folder, order in ((one, ["b", "a"]), (two, ["a", "b"])):
        (folder / "sub").mkdir(parents=True)
        for name in order:
            (folder / "sub" / name).write_text(name)
    assert sha256_tree(one) == sha256_tree(two)
    (two / f"{UPLOAD_PREFIX}123").write_text("an interrupted upload")
    assert sha256_tree(one) == sha256_tree(two)
    (two / "sub" / "a").rename(two / "sub" / "c")
    assert sha256_tree(one) != sha256_tree(two)


def test_a_moved_workspace_still_finds_its_artifacts(
    tmp_path: Path, workspace_dir: Path, model_file: Path, scoring_frame: pl.DataFrame
) -> None:
    """Versions record their artifact's key in the store, so a moved workspace reads its own."""
    ws = Workspace(workspace_dir, settings=Settings())
    info = register_version(ws, CHARTER, model_file)
    ws.close()
    moved = tmp_path / "moved-ws"
    shutil.move(workspace_dir, moved)
    ws = Workspace(moved, settings=Settings())
    try:
        predictor = load_model(ws, CHARTER, info.version)
        assert predictor.predict(scoring_frame).shape == (scoring_frame.height,)
    finally:
        ws.close()


def test_a_copied_workspace_reads_its_own_artifacts_not_the_originals(
    tmp_path: Path,
    workspace_dir: Path,
    model_file: Path,
    scoring_frame: pl.DataFrame,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The whole folder (its SQLite database included) copied elsewhere, the original then
    tampered with and deleted: the copy still verifies and loads, from its own store."""
    monkeypatch.delenv("CHARTER_DATABASE_URL")  # the database inside the workspace folder
    ws = Workspace(workspace_dir, settings=Settings())
    info = register_version(ws, CHARTER, model_file)
    ws.close()
    key = artifact_key(info.sha256, "credit.joblib")
    assert info.artifact_key == key
    assert info.artifact_uri == (workspace_dir / ".charter" / "artifacts" / key).as_uri()
    copy = tmp_path / "elsewhere" / "ws"
    shutil.copytree(workspace_dir, copy)
    (workspace_dir / ".charter" / "artifacts" / key).write_bytes(b"tampered")
    assert main(["-w", str(workspace_dir), "versions", CHARTER, "--verify"]) != 0
    shutil.rmtree(workspace_dir)

    with sqlite3.connect(copy / ".charter" / "charter.db") as conn:
        (recorded,) = conn.execute("SELECT artifact_uri FROM model_versions").fetchone()
    assert recorded == key
    assert main(["-w", str(copy), "versions", CHARTER, "--verify"]) == 0
    ws = Workspace(copy, settings=Settings())
    try:
        predictor = load_model(ws, CHARTER, info.version)
        assert predictor.predict(scoring_frame).shape == (scoring_frame.height,)
    finally:
        ws.close()
