"""Registration never executes untrusted bytes: a pickle is inspected, unexecuted, and refused
when it imports anything outside the allow-list; the user may trust more by name."""

from __future__ import annotations

import io
import pickle
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from charter.errors import ModelFileError
from charter.registry import list_versions, load_model, register_version
from charter.registry.flavors import pickle_scan
from charter.workspace import Workspace

CHARTER = "credit-default"


class Trap:
    """Unpickling this writes a file: proof of whether a pickle was ever executed."""

    def __init__(self, sentinel: Path) -> None:
        self.sentinel = str(sentinel)

    def __reduce__(self) -> tuple[Any, tuple[str, str]]:
        return (open, (self.sentinel, "w"))


def test_a_pickle_that_would_write_a_file_is_refused_unexecuted(
    ws: Workspace, tmp_path: Path, cli: Any
) -> None:
    sentinel = tmp_path / "pickle-was-executed"
    evil = tmp_path / "evil.pkl"
    evil.write_bytes(pickle.dumps(Trap(sentinel)))

    result = cli("register", CHARTER, str(evil), "--json")

    assert result.code == 1
    error = result.json()["error"]
    assert error["type"] == "ModelFileError" and "io.open" in error["message"]
    assert "--trust io.open" in error["hint"]
    assert not sentinel.exists()
    assert list_versions(ws, CHARTER) == []
    pickle.loads(evil.read_bytes()).close()  # the control: the trap really fires when loaded
    assert sentinel.exists()


def test_a_joblib_file_hiding_a_call_among_arrays_is_refused(ws: Workspace, tmp_path: Path) -> None:
    sentinel = tmp_path / "joblib-was-executed"
    path = tmp_path / "mixed.joblib"
    joblib.dump({"weights": np.arange(1000.0), "trap": Trap(sentinel)}, path)
    with pytest.raises(ModelFileError, match=r"io\.open"):
        register_version(ws, CHARTER, path)
    assert not sentinel.exists()


@pytest.mark.parametrize("compress", [0, 3, ("gzip", 3), ("lzma", 3), ("bz2", 3)])
def test_real_pipelines_pass_the_scan_in_every_joblib_compression(compress: Any) -> None:
    import pandas as pd

    frame = pd.DataFrame(
        {"a": np.linspace(0, 1, 40), "b": np.linspace(1, 2, 40), "c": ["x", "y"] * 20}
    )
    pipeline = make_pipeline(
        ColumnTransformer([("n", StandardScaler(), ["a", "b"]), ("c", OneHotEncoder(), ["c"])]),
        RandomForestClassifier(n_estimators=3, random_state=0),
    ).fit(frame, [0, 1] * 20)
    buffer = io.BytesIO()
    joblib.dump(pipeline, buffer, compress=compress)
    imports = pickle_scan.scan(buffer.getvalue(), "pipeline")
    assert "sklearn.ensemble._forest.RandomForestClassifier" in imports
    assert pickle_scan.refused(imports) == []


def test_functions_and_file_touching_classes_are_not_trusted_even_in_numpy() -> None:
    names = {"numpy.testing._private.utils.runstring", "numpy.memmap", "numpy.load", "os.system"}
    assert pickle_scan.refused(names) == sorted(names)
    assert pickle_scan.refused({"numpy.ndarray", "numpy.log1p", "builtins.dict"}) == []


class Custom(LogisticRegression):  # type: ignore[misc]
    """A user's own estimator class: not on the allow-list until trusted by name."""


def test_a_custom_class_loads_once_trusted_by_flag_or_setting(
    ws: Workspace,
    tmp_path: Path,
    cli: Any,
    features_pd: Any,
    training_frame: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    model = Custom(max_iter=500).fit(features_pd, training_frame["outcome"].to_numpy())
    path = tmp_path / "custom.joblib"
    joblib.dump(model, path)
    name = f"{Custom.__module__}.Custom"

    refused = cli("register", CHARTER, str(path))
    assert refused.code == 1 and name in refused.stderr

    accepted = cli("register", CHARTER, str(path), "--trust", name, "--json")
    assert accepted.code == 0, accepted.stderr
    assert accepted.json()["lineage"]["artifact"]["trusted"] == [name]
    assert load_model(ws, CHARTER, 1).flavor == "sklearn"  # the recorded trust holds at load

    monkeypatch.setenv("CHARTER_TRUSTED_TYPES", f"something.Else, {name}")
    other = tmp_path / "custom2.joblib"
    joblib.dump(Custom(C=3.0, max_iter=500).fit(features_pd, training_frame["outcome"]), other)
    assert cli("register", CHARTER, str(other)).code == 0
