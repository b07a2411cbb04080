"""``task: multiclass_classification`` end to end through the CLI, numbers against scikit-learn.

A real scikit-learn multinomial logistic regression is registered with a labelled reference,
rows are ingested and scored, labels arrive for one week, and ``charter monitor --json`` must
report what scikit-learn computes on the same rows, estimate the unlabelled week by multiclass
CBPE, and judge the drift of the predicted class.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import polars as pl
import pytest
from sklearn import metrics as skm
from sklearn.linear_model import LogisticRegression

pytestmark = pytest.mark.postgres

CLASSES = ("retail", "fraud", "error")
WEEK0 = datetime(2024, 2, 29, tzinfo=UTC)
CHARTER = """\
name: triage
decision: "Route each claim to retail, fraud or error handling"
task: multiclass_classification
owner: {name: "Dana Ruiz", email: dana.ruiz@bank.example}
sufficiency:
  window: 7d
  min_labels: 100
  metrics:
    - {metric: f1_macro, at_least: 0.5}
    - {metric: "recall[fraud]", at_least: 0.3}
    - {metric: roc_auc, at_least: 0.7}
data:
  source: {kind: parquet_dir, path: landing/triage/}
  key: id
  event_time: event_at
  freshness: {max_lateness: 60d}
  fields:
    id:       {type: string, nullable: false, unique: true}
    event_at: {type: datetime, nullable: false}
    x1:       {type: float}
    x2:       {type: float}
labels: {key: id, target: kind, values: [retail, fraud, error]}
operations:
  monitor: {drift: {method: psi, warn: 0.1, breach: 0.25}}
"""


def world(n: int, seed: int, *, shift: float = 0.0, start: datetime = WEEK0) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(shift, 1, n), rng.normal(0, 1, n)
    logits = np.column_stack([0.5 + 0 * x1, 1.5 * x1 - 0.5, -1.2 * x1 + x2])
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    u = rng.uniform(size=(n, 1))
    kind = np.asarray(CLASSES)[(u > np.cumsum(p, axis=1)).sum(axis=1)]
    step = 7 * 86400 / n
    return pl.DataFrame(
        {
            "id": [f"s{seed}-{i}" for i in range(n)],
            "event_at": [start + timedelta(seconds=i * step) for i in range(n)],
            "x1": x1,
            "x2": x2,
            "kind": kind,
        }
    )


@pytest.fixture
def fed(cli: Any, workspace_dir: Path) -> dict[str, Any]:
    (workspace_dir / "charters" / "triage.yaml").write_text(CHARTER)
    train = world(4000, 1)
    model = LogisticRegression(max_iter=1000).fit(
        train.select("x1", "x2").to_pandas(), train["kind"].to_numpy()
    )
    model_path = workspace_dir / "triage.joblib"
    joblib.dump(model, model_path)
    reference = workspace_dir / "reference.parquet"
    world(4000, 2).drop("event_at").write_parquet(reference)
    registered = cli("register", "triage", str(model_path), "--reference", str(reference))
    assert registered.code == 0, registered.stderr
    week0, week1 = world(1500, 3), world(1500, 4, shift=1.5, start=WEEK0 + timedelta(days=7))
    landing = workspace_dir / "landing" / "triage"
    landing.mkdir(parents=True)
    pl.concat([week0, week1]).drop("kind").write_parquet(landing / "rows.parquet")
    ingested = cli("ingest", "triage", "--json")
    assert ingested.code == 0, ingested.stderr
    labels = workspace_dir / "labels.parquet"
    week0.select("id", "kind").write_parquet(labels)
    assert cli("labels", "triage", str(labels)).code == 0
    return {"model": model, "week0": week0, "week1": week1}


def test_monitor_reports_scikit_learn_metrics_and_cbpe_estimates(cli: Any, fed: Any) -> None:
    result = cli("monitor", "triage", "--json")
    assert result.code == 0, result.stderr
    first, second = result.json()["windows"]
    week0, model = fed["week0"], fed["model"]
    proba = model.predict_proba(week0.select("x1", "x2").to_pandas())
    order = [list(model.classes_).index(c) for c in CLASSES]
    proba = proba[:, order]  # the charter's class order
    y = np.asarray([CLASSES.index(k) for k in week0["kind"]])
    pred = proba.argmax(axis=1)
    realized = first["metrics"]["realized"]
    expected = {
        "accuracy": skm.accuracy_score(y, pred),
        "f1_macro": skm.f1_score(y, pred, average="macro"),
        "precision_weighted": skm.precision_score(y, pred, average="weighted"),
        "recall_macro": skm.recall_score(y, pred, average="macro"),
        "roc_auc": skm.roc_auc_score(y, proba, multi_class="ovr", average="macro"),
        "log_loss": skm.log_loss(y, proba, labels=[0, 1, 2]),
        "recall[fraud]": skm.recall_score(y, pred, average=None)[1],
        "precision[error]": skm.precision_score(y, pred, average=None)[2],
    }
    for name, value in expected.items():
        assert realized[name] == pytest.approx(value, abs=1e-9), name
    assert [r["metric"] for r in first["rules"]] == ["f1_macro", "recall[fraud]", "roc_auc"]
    assert first["rules"][1]["value"] == pytest.approx(expected["recall[fraud]"], abs=1e-9)
    assert first["verdict"] == "pass"

    # the first week is drawn like the reference: CBPE's estimate is near the realized value
    estimated = first["metrics"]["estimated"]
    for name in ("accuracy", "f1_macro", "roc_auc"):
        assert abs(estimated[name]["value"] - realized[name]) < 0.03, name
    assert second["verdict"] == "insufficient_evidence"  # no labels for the shifted week
    assert isinstance(second["metrics"]["estimated"]["accuracy"]["value"], float)
    # the shifted week predicts "fraud" far more often: the predicted class drifts
    assert second["prediction_drift"]["psi"]["status"] == "breach"
    assert first["prediction_drift"]["psi"]["status"] == "pass"
    assert "predicted class drift" in second["flags"]

    shown = cli("monitor", "triage")
    assert shown.code == 0, shown.stderr
    assert "recall[fraud]" in shown.stdout and "f1_macro" in shown.stdout
    assert cli("status", "triage").code == 0


def test_check_refuses_metrics_the_task_cannot_compute(cli: Any, workspace_dir: Path) -> None:
    path = workspace_dir / "charters" / "triage.yaml"
    for wrong, said in (
        ('"recall[frud]", at_least: 0.3', "'frud' is not a class of labels.values"),
        ("mae, at_most: 3", "mae is a regression metric but task is multiclass_classification"),
        ("recall, at_least: 0.3", "write recall[CLASS], recall_macro or recall_weighted"),
        ('"f1_macro[fraud]", at_least: 0.3', "f1_macro has no per-class form"),
    ):
        path.write_text(CHARTER.replace('"recall[fraud]", at_least: 0.3', wrong))
        result = cli("check", "triage")
        assert result.code != 0
        shown = result.stdout + result.stderr
        assert "sufficiency.metrics[1].metric" in shown, shown
        assert said in shown, shown
        assert "(line 10)" in shown, shown

    path.write_text(CHARTER.replace("  min_labels: 100\n", "  min_labels: 100\n  threshold: 0.4\n"))
    result = cli("check", "triage")
    assert result.code != 0 and "sufficiency.threshold: applies to binary" in result.stdout


def test_a_model_whose_classes_differ_is_refused_at_registration(
    cli: Any, workspace_dir: Path
) -> None:
    (workspace_dir / "charters" / "triage.yaml").write_text(CHARTER)
    train = world(600, 1).with_columns(pl.col("kind").replace({"error": "mistake"}))
    model = LogisticRegression(max_iter=500).fit(
        train.select("x1", "x2").to_pandas(), train["kind"].to_numpy()
    )
    path = workspace_dir / "other.joblib"
    joblib.dump(model, path)

    result = cli("register", "triage", str(path))

    assert result.code != 0
    said = result.stdout + result.stderr
    assert "predicts the classes fraud, mistake, retail" in said, said
    assert "labels.values lists retail, fraud, error" in said
    assert cli("versions", "triage", "--json").json() == []
