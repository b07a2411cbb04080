"""Registration refuses a model that reads inputs the charter does not give it (issue 9).

The charter here (see ``conftest.workspace_dir``) gives its models amount, channel, tenure and
ratio. Each model below names what it reads in its own way: scikit-learn's
``feature_names_in_``, ONNX input names, an MLflow signature.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
import polars as pl
import pytest
from sklearn.linear_model import LogisticRegression

from charter.errors import RegistryError
from charter.registry import register_version
from charter.workspace import Workspace

pytestmark = pytest.mark.postgres

CHARTER = "credit-default"


def fitted(training_frame: pl.DataFrame, columns: dict[str, str]) -> tuple[Any, pd.DataFrame]:
    """A classifier fitted on the training features renamed by ``columns``."""
    frame = training_frame.select("amount", "tenure", "ratio").rename(columns).to_pandas()
    return LogisticRegression(max_iter=500).fit(frame, training_frame["outcome"]), frame


def saved(tmp_path: Path, model: Any, name: str = "model.joblib") -> Path:
    path = tmp_path / name
    joblib.dump(model, path)
    return path


def test_a_sklearn_model_reading_unknown_inputs_is_refused_naming_them(
    ws: Workspace, tmp_path: Path, training_frame: pl.DataFrame, store_counts: Any
) -> None:
    model, _ = fitted(training_frame, {"tenure": "income", "ratio": "debt"})
    before = store_counts()

    with pytest.raises(RegistryError) as refused:
        register_version(ws, CHARTER, saved(tmp_path, model))

    message = refused.value.message
    assert "2 input(s) that charter credit-default does not give it: income, debt" in message
    assert "feature_names_in_" in message
    assert "amount, channel, tenure, ratio" in message
    assert store_counts() == before


def test_the_cli_refuses_it_with_exit_1_and_what_to_do(
    cli: Any, tmp_path: Path, training_frame: pl.DataFrame
) -> None:
    model, _ = fitted(training_frame, {"ratio": "utilisation"})

    result = cli("register", CHARTER, str(saved(tmp_path, model)))

    assert result.code == 1
    assert "utilisation" in result.stderr and "Declare utilisation" in result.stderr
    assert cli("versions", CHARTER, "--json").json() == []


def test_data_features_narrow_what_a_model_may_read(
    ws: Workspace, workspace_dir: Path, tmp_path: Path, training_frame: pl.DataFrame
) -> None:
    path = workspace_dir / "charters" / f"{CHARTER}.yaml"
    text, found = re.subn(
        r"(  key: id[^\n]*\n)", r"\1  features: [amount, tenure]\n", path.read_text()
    )
    assert found == 1
    path.write_text(text)
    model, _ = fitted(training_frame, {})

    with pytest.raises(RegistryError, match=r"does not give it: ratio .*\(data.features\)"):
        register_version(ws, CHARTER, saved(tmp_path, model))


def test_a_model_reading_only_charter_inputs_registers(
    ws: Workspace, tmp_path: Path, training_frame: pl.DataFrame
) -> None:
    model, _ = fitted(training_frame, {})
    assert register_version(ws, CHARTER, saved(tmp_path, model)).version == 1
    unnamed = LogisticRegression().fit(np.ones((4, 2)) * [[1], [2], [3], [4]], [0, 1, 0, 1])
    assert register_version(ws, CHARTER, saved(tmp_path, unnamed, "array.joblib")).version == 2


def test_onnx_input_names_are_checked(
    ws: Workspace, tmp_path: Path, training_frame: pl.DataFrame
) -> None:
    from skl2onnx import to_onnx
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    inputs = training_frame.select("amount", "tenure").rename({"tenure": "age"}).to_pandas()
    inputs = inputs.astype(np.float32)
    pipeline = Pipeline(
        [
            ("scale", ColumnTransformer([("n", StandardScaler(), ["amount", "age"])])),
            ("classify", LogisticRegression(max_iter=500)),
        ]
    ).fit(inputs, training_frame["outcome"].to_numpy())
    path = tmp_path / "pipeline.onnx"
    path.write_bytes(to_onnx(pipeline, inputs[:1], options={"zipmap": False}).SerializeToString())

    with pytest.raises(RegistryError, match=r"does not give it: age \(from its ONNX input names\)"):
        register_version(ws, CHARTER, path)


def test_an_mlflow_signature_is_checked(
    ws: Workspace, tmp_path: Path, training_frame: pl.DataFrame
) -> None:
    import mlflow.sklearn
    from mlflow.models import infer_signature

    model, frame = fitted(training_frame, {"ratio": "score_band"})
    folder = tmp_path / "mlflow-model"
    mlflow.sklearn.save_model(
        model,
        str(folder),
        signature=infer_signature(frame, model.predict_proba(frame)),
        pyfunc_predict_fn="predict_proba",
        pip_requirements=["scikit-learn"],
    )

    with pytest.raises(RegistryError, match=r"score_band \(from its MLflow signature\)"):
        register_version(ws, CHARTER, folder)
