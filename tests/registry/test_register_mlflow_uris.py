"""`charter register NAME models:/NAME/3` (and ``@alias``, ``runs:/ID/model``): a model in an MLflow
tracking store, found through ``MLFLOW_TRACKING_URI``, registered with its run as lineage.

The tracking store is a real MLflow SQLite store in a temporary folder (no server), made once
for the module: a run logging a parameter, a metric and the model, registered as version 1 of
``credit-scorer`` with the alias ``champion``, and a second registered model reading an input
the charter does not give it.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pandas as pd
import polars as pl
import pytest
from sklearn.linear_model import LogisticRegression

from charter.errors import RegistryError
from charter.registry import list_versions, load_model, register_version
from charter.workspace import Workspace

CHARTER = "credit-default"
# MLflow's own SQLite tracking store uses a loader strategy SQLAlchemy 2.1 deprecates: its noise.
pytestmark = pytest.mark.filterwarnings(
    "ignore:The ``noload`` loader strategy is deprecated:DeprecationWarning"
)


@dataclass(frozen=True)
class Tracking:
    uri: str
    run_id: str
    mismatch_run_id: str


def _log(mlflow: Any, frame: pd.DataFrame, outcome: Any, name: str, experiment: str) -> str:
    import mlflow.sklearn
    from mlflow.models import infer_signature

    model = LogisticRegression(C=0.5, max_iter=500).fit(frame, outcome)
    with mlflow.start_run(run_name=f"train-{name}", experiment_id=experiment) as run:
        mlflow.log_param("C", 0.5)
        mlflow.log_metric("val_auc", 0.81)
        mlflow.sklearn.log_model(
            model,
            name="model",
            signature=infer_signature(frame, model.predict_proba(frame)),
            pyfunc_predict_fn="predict_proba",
            pip_requirements=["scikit-learn"],
            registered_model_name=name,
        )
    return str(run.info.run_id)


@pytest.fixture(scope="module")
def tracking(tmp_path_factory: pytest.TempPathFactory, training_frame: pl.DataFrame) -> Tracking:
    import mlflow

    folder = tmp_path_factory.mktemp("mlflow")
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    features = training_frame.select("amount", "tenure", "ratio").to_pandas()
    outcome = training_frame["outcome"].to_numpy()
    with pytest.MonkeyPatch.context() as env:  # as a user's shell would set it
        env.setenv("MLFLOW_TRACKING_URI", uri)
        # artifacts in the test's folder (by default MLflow writes them under ./mlruns)
        experiment = mlflow.create_experiment("charter", artifact_location=str(folder / "runs"))
        run_id = _log(mlflow, features, outcome, "credit-scorer", experiment)
        mlflow.MlflowClient().set_registered_model_alias("credit-scorer", "champion", "1")
        renamed = features.rename(columns={"tenure": "income"})
        other = _log(mlflow, renamed, outcome, "other", experiment)
    return Tracking(uri, run_id, other)


@pytest.fixture
def mlflow_env(tracking: Tracking, monkeypatch: pytest.MonkeyPatch) -> Iterator[Tracking]:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", tracking.uri)
    yield tracking


@pytest.mark.parametrize(
    "uri", ["models:/credit-scorer/1", "models:/credit-scorer@champion", "runs:/{run}/model"]
)
def test_a_model_in_mlflow_is_registered_with_its_run_as_lineage(
    ws: Workspace, mlflow_env: Tracking, uri: str, scoring_frame: pl.DataFrame
) -> None:
    uri = uri.format(run=mlflow_env.run_id)
    info = register_version(ws, CHARTER, uri)
    assert info.flavor == "mlflow" and info.version == 1
    origin = info.lineage["mlflow"]
    assert origin["uri"] == uri and origin["tracking_uri"] == mlflow_env.uri
    assert origin["run_id"] == mlflow_env.run_id and origin["run_name"] == "train-credit-scorer"
    assert origin["metrics"] == {"val_auc": 0.81} and origin["params"] == {"C": "0.5"}
    assert info.lineage["parameters"]["C"] == "0.5"  # the run's parameters are the training's
    assert info.lineage["artifact"]["source"] == uri  # not the scratch folder it came through
    if uri.startswith("models:/"):
        assert (origin["registered_model"], origin["model_version"]) == ("credit-scorer", "1")
    assert origin.get("alias") == ("champion" if "@" in uri else None)
    # stored like any other version: listed, and scored from the stored copy
    assert [v.version for v in list_versions(ws, CHARTER)] == [1]
    scores = load_model(ws, CHARTER, 1).predict(scoring_frame)
    assert scores.shape == (scoring_frame.height,) and ((scores >= 0) & (scores <= 1)).all()


def test_the_register_command_prints_the_mlflow_run(cli: Any, mlflow_env: Tracking) -> None:
    result = cli("register", CHARTER, "models:/credit-scorer@champion")
    assert result.code == 0, result.stderr
    assert f"mlflow: models:/credit-scorer@champion, run {mlflow_env.run_id}" in result.stdout


def test_a_signature_reading_what_the_charter_lacks_is_refused_naming_it(
    ws: Workspace, mlflow_env: Tracking, store_counts: Any
) -> None:
    before = store_counts()
    with pytest.raises(RegistryError, match=r"income \(from its MLflow signature\)"):
        register_version(ws, CHARTER, "models:/other/1")
    assert store_counts() == before


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("models:/credit-scorer/7", "MLflow cannot give models:/credit-scorer/7"),
        ("models:/credit-scorer@nobody", "MLflow cannot give models:/credit-scorer@nobody"),
        ("models:/credit-scorer/Production", "not an MLflow model URI charter reads"),
    ],
)
def test_what_mlflow_cannot_give_is_a_clear_error(
    ws: Workspace, mlflow_env: Tracking, uri: str, message: str, store_counts: Any
) -> None:
    before = store_counts()
    with pytest.raises(RegistryError, match=message) as caught:
        register_version(ws, CHARTER, uri)
    assert caught.value.hint is not None and "models:/NAME@ALIAS" in caught.value.hint
    assert store_counts() == before


def test_without_mlflow_installed_the_error_names_the_extra(
    ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "mlflow", None)  # as if the extra were not installed
    with pytest.raises(
        RegistryError, match="is a model in MLflow, but MLflow is not installed"
    ) as e:
        register_version(ws, CHARTER, "models:/credit-scorer/1")
    assert e.value.hint == "Install the MLflow extra: pip install 'charter-ml[mlflow]'."
