"""Each flavor round-trips: what load_model returns predicts exactly what the original model did."""

from __future__ import annotations

import sys
import uuid
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
import polars as pl
import pytest
import skops.io
from sklearn.base import BaseEstimator
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from charter.errors import DataError, ModelFileError, UserCodeError
from charter.registry import Predictor, load_model, register_version
from charter.workspace import Workspace

CHARTER = "credit-default"
FEATURES = ["amount", "tenure", "ratio"]


def expected_scores(model: Any, frame: pl.DataFrame) -> np.ndarray[Any, Any]:
    return np.asarray(model.predict_proba(frame.select(FEATURES).to_pandas())[:, 1])


# -- scikit-learn ---------------------------------------------------------------------------------
def test_joblib_round_trip_scores_positive_class_probability(
    ws: Workspace, model_file: Path, classifier: LogisticRegression, scoring_frame: pl.DataFrame
) -> None:
    info = register_version(ws, CHARTER, model_file)
    predictor = load_model(ws, CHARTER, info.version)
    assert isinstance(predictor, Predictor)
    assert (predictor.flavor, predictor.features) == ("sklearn", FEATURES)
    # Extra columns and another column order: the predictor picks the model's features.
    np.testing.assert_array_equal(
        predictor.predict(scoring_frame), expected_scores(classifier, scoring_frame)
    )


def test_regressor_scores_are_its_predictions(
    ws: Workspace, tmp_path: Path, regressor: LinearRegression, scoring_frame: pl.DataFrame
) -> None:
    path = tmp_path / "amount.pkl"
    joblib.dump(regressor, path)
    predictor = load_model(ws, CHARTER, register_version(ws, CHARTER, path).version)
    np.testing.assert_array_equal(
        predictor.predict(scoring_frame),
        regressor.predict(scoring_frame.select(FEATURES).to_pandas()),
    )


def test_model_fitted_on_an_array_reads_the_columns_given(
    ws: Workspace, tmp_path: Path, training_frame: pl.DataFrame
) -> None:
    features = training_frame.select(FEATURES).to_numpy()
    model = LogisticRegression(max_iter=500).fit(features, training_frame["outcome"].to_numpy())
    path = tmp_path / "array.joblib"
    joblib.dump(model, path)
    predictor = load_model(ws, CHARTER, register_version(ws, CHARTER, path).version)
    assert predictor.features is None
    np.testing.assert_array_equal(
        predictor.predict(training_frame.select(FEATURES)), model.predict_proba(features)[:, 1]
    )


@pytest.mark.parametrize(
    "estimator",
    [
        make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)),
        HistGradientBoostingClassifier(max_iter=10),  # has types skops does not trust by default
    ],
    ids=["pipeline", "hist-gradient-boosting"],
)
def test_skops_round_trip(
    ws: Workspace,
    tmp_path: Path,
    estimator: Any,
    features_pd: pd.DataFrame,
    training_frame: pl.DataFrame,
    scoring_frame: pl.DataFrame,
) -> None:
    model = estimator.fit(features_pd, training_frame["outcome"].to_numpy())
    path = tmp_path / "model.skops"
    skops.io.dump(model, path)
    info = register_version(ws, CHARTER, path)
    assert info.lineage["artifact"]["format"] == "skops"
    predictor = load_model(ws, CHARTER, info.version)
    np.testing.assert_array_equal(
        predictor.predict(scoring_frame), expected_scores(model, scoring_frame)
    )


class Doubler(BaseEstimator):  # type: ignore[misc]
    """A custom estimator: skops must refuse to load it, since charter cannot vouch for it."""

    def fit(self, features: Any, target: Any = None) -> Doubler:
        self.factor_ = 2.0
        return self

    def predict(self, features: Any) -> Any:
        return np.asarray(features)[:, 0] * self.factor_


def test_skops_file_with_untrusted_types_is_refused_by_name(
    ws: Workspace, tmp_path: Path, store_counts: Any
) -> None:
    path = tmp_path / "custom.skops"
    skops.io.dump(Doubler().fit([[1.0]]), path)
    with pytest.raises(ModelFileError, match=r"custom\.skops contains types .*Doubler") as e:
        register_version(ws, CHARTER, path)
    assert "scikit-learn, NumPy and SciPy" in str(e.value.hint)
    assert store_counts() == (0, 0)


def test_a_pickle_that_is_not_a_model_is_refused(ws: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "settings.pkl"
    joblib.dump({"threshold": 0.5}, path)
    with pytest.raises(ModelFileError, match=r"holds a builtins\.dict, which has no predict"):
        register_version(ws, CHARTER, path)


def test_missing_feature_columns_are_named(
    ws: Workspace, model_file: Path, scoring_frame: pl.DataFrame
) -> None:
    predictor = load_model(ws, CHARTER, register_version(ws, CHARTER, model_file).version)
    with pytest.raises(DataError, match="the model reads columns tenure that the data lacks"):
        predictor.predict(scoring_frame.drop("tenure"))


# -- ONNX -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("zipmap", [True, False], ids=["zipmap", "tensor"])
def test_onnx_round_trip(
    ws: Workspace,
    tmp_path: Path,
    classifier: LogisticRegression,
    training_frame: pl.DataFrame,
    zipmap: bool,
) -> None:
    from skl2onnx import to_onnx

    features = training_frame.select(FEATURES)
    onnx_model = to_onnx(
        classifier, features.to_numpy()[:1].astype(np.float32), options={"zipmap": zipmap}
    )
    path = tmp_path / "credit.onnx"
    path.write_bytes(onnx_model.SerializeToString())
    info = register_version(ws, CHARTER, path)
    assert info.flavor == "onnx"
    predictor = load_model(ws, CHARTER, info.version)
    np.testing.assert_allclose(
        predictor.predict(features), expected_scores(classifier, training_frame), atol=1e-5
    )
    with pytest.raises(DataError, match="takes 3 feature columns, but the data has 4"):
        predictor.predict(training_frame)


def test_onnx_with_one_input_per_column_selects_them_by_name(
    ws: Workspace,
    tmp_path: Path,
    features_pd: pd.DataFrame,
    training_frame: pl.DataFrame,
    scoring_frame: pl.DataFrame,
) -> None:
    from skl2onnx import to_onnx

    inputs = features_pd.astype(np.float32)
    pipeline = Pipeline(
        [
            ("scale", ColumnTransformer([("numeric", StandardScaler(), FEATURES)])),
            ("classify", LogisticRegression(max_iter=500)),
        ]
    ).fit(inputs, training_frame["outcome"].to_numpy())
    path = tmp_path / "pipeline.onnx"
    path.write_bytes(to_onnx(pipeline, inputs[:1], options={"zipmap": False}).SerializeToString())
    predictor = load_model(ws, CHARTER, register_version(ws, CHARTER, path).version)
    assert predictor.features == FEATURES
    np.testing.assert_allclose(
        predictor.predict(scoring_frame), expected_scores(pipeline, scoring_frame), atol=1e-5
    )


def test_onnx_regressor(
    ws: Workspace, tmp_path: Path, regressor: LinearRegression, training_frame: pl.DataFrame
) -> None:
    from skl2onnx import to_onnx

    features = training_frame.select(FEATURES)
    path = tmp_path / "amount.onnx"
    path.write_bytes(to_onnx(regressor, features.to_numpy()[:1]).SerializeToString())
    predictor = load_model(ws, CHARTER, register_version(ws, CHARTER, path).version)
    np.testing.assert_allclose(
        predictor.predict(features), regressor.predict(features.to_pandas()), rtol=1e-4
    )


# -- entrypoints ----------------------------------------------------------------------------------
def write_module(folder: Path, body: str) -> str:
    """A uniquely named module in ``folder`` (so tests never share sys.modules entries)."""
    name = f"scoring_{uuid.uuid4().hex[:10]}"
    (folder / f"{name}.py").write_text(body)
    return name


@pytest.fixture
def code_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "code"
    folder.mkdir()
    monkeypatch.chdir(folder)
    return folder


def test_entrypoint_round_trip(ws: Workspace, code_dir: Path, scoring_frame: pl.DataFrame) -> None:
    module = write_module(
        code_dir,
        "import polars as pl\n\ndef predict(frame: pl.DataFrame):\n"
        "    return (frame['ratio'] / 2).to_numpy()\n",
    )
    info = register_version(ws, CHARTER, f"{module}:predict")
    assert (info.flavor, info.lineage["artifact"]["name"]) == ("entrypoint", "entrypoint.json")
    predictor = load_model(ws, CHARTER, info.version)
    np.testing.assert_array_equal(
        predictor.predict(scoring_frame), scoring_frame["ratio"].to_numpy() / 2
    )


def test_entrypoint_errors_are_user_code_errors_with_the_cause(
    ws: Workspace, code_dir: Path, scoring_frame: pl.DataFrame
) -> None:
    module = write_module(
        code_dir,
        "def predict(frame):\n    raise KeyError('missing_feature')\n\n"
        "def short(frame):\n    return [0.5]\n",
    )
    failing = load_model(ws, CHARTER, register_version(ws, CHARTER, f"{module}:predict").version)
    with pytest.raises(UserCodeError, match=rf"{module}:predict raised KeyError") as e:
        failing.predict(scoring_frame)
    assert isinstance(e.value.__cause__, KeyError)
    short = load_model(ws, CHARTER, register_version(ws, CHARTER, f"{module}:short").version)
    with pytest.raises(UserCodeError, match=r"returned output of shape \(1,\) for 40 rows"):
        short.predict(scoring_frame)


def test_entrypoint_that_names_nothing_callable_is_refused(ws: Workspace, code_dir: Path) -> None:
    module = write_module(code_dir, "THRESHOLD = 0.5\n")
    with pytest.raises(ModelFileError, match="has no 'predict'"):
        register_version(ws, CHARTER, f"{module}:predict")
    with pytest.raises(ModelFileError, match="'THRESHOLD' is not callable"):
        register_version(ws, CHARTER, f"{module}:THRESHOLD")


# -- MLflow ---------------------------------------------------------------------------------------
def test_mlflow_sklearn_model_round_trip(
    ws: Workspace,
    tmp_path: Path,
    classifier: LogisticRegression,
    features_pd: pd.DataFrame,
    scoring_frame: pl.DataFrame,
) -> None:
    import mlflow.sklearn
    from mlflow.models import infer_signature

    folder = tmp_path / "mlflow-credit"
    mlflow.sklearn.save_model(
        classifier,
        str(folder),
        signature=infer_signature(features_pd, classifier.predict_proba(features_pd)),
        pyfunc_predict_fn="predict_proba",
        pip_requirements=["scikit-learn"],
    )
    info = register_version(ws, CHARTER, folder)
    assert info.flavor == "mlflow" and info.lineage["artifact"]["kind"] == "directory"
    predictor = load_model(ws, CHARTER, info.version)
    assert predictor.features == FEATURES
    np.testing.assert_allclose(
        predictor.predict(scoring_frame), expected_scores(classifier, scoring_frame)
    )


def test_mlflow_python_model_round_trip(
    ws: Workspace, tmp_path: Path, scoring_frame: pl.DataFrame
) -> None:
    import mlflow.pyfunc

    # MLflow warns (in a way no filter reaches) that predict has no type hints: harmless here.
    class HalfRatio(mlflow.pyfunc.PythonModel):  # type: ignore[misc,name-defined]
        def predict(self, context, model_input, params=None):  # type: ignore[no-untyped-def]
            return model_input["ratio"].to_numpy() / 2

    folder = tmp_path / "mlflow-half"
    mlflow.pyfunc.save_model(str(folder), python_model=HalfRatio(), pip_requirements=[])
    predictor = load_model(ws, CHARTER, register_version(ws, CHARTER, folder).version)
    assert predictor.features is None
    np.testing.assert_allclose(
        predictor.predict(scoring_frame), scoring_frame["ratio"].to_numpy() / 2
    )


def test_folder_without_mlmodel_is_not_a_model(ws: Workspace, tmp_path: Path) -> None:
    folder = tmp_path / "just-a-folder"
    folder.mkdir()
    with pytest.raises(ModelFileError, match="folder without an MLmodel file"):
        register_version(ws, CHARTER, folder)


def test_mlflow_missing_names_the_extra_to_install(
    ws: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "mlflow-model"
    folder.mkdir()
    (folder / "MLmodel").write_text("flavors:\n  python_function:\n    loader_module: x\n")
    monkeypatch.setitem(sys.modules, "mlflow", None)  # as if the extra were not installed
    monkeypatch.delitem(sys.modules, "mlflow.pyfunc", raising=False)
    with pytest.raises(ModelFileError, match="MLflow is not installed") as e:
        register_version(ws, CHARTER, folder)
    assert e.value.hint == "Install the MLflow extra: pip install 'charter-ml[mlflow]'."
