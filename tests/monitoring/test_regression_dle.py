"""Regression: estimated MAE and RMSE while labels are missing (DLE), through the CLI.

A real scikit-learn regressor is registered with a labelled reference; its error grows with
``|x|``. A first week is drawn like the reference; in the second, ``x`` moves where the model errs
more. Without a single label, ``charter monitor --json`` must estimate the second week's MAE past
the owner's ``at_most`` and raise ``estimated_drop``; once labels arrive, the realized MAE is
scikit-learn's.
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
from sklearn.linear_model import LinearRegression

pytestmark = pytest.mark.postgres

WEEK0 = datetime(2024, 2, 29, tzinfo=UTC)
CHARTER = """\
name: demand
decision: "Order stock for next week"
task: regression
owner: {name: "Dana Ruiz", email: dana.ruiz@bank.example}
sufficiency:
  window: 7d
  min_labels: 100
  metrics:
    - {metric: mae, at_most: 1.6}
    - {metric: rmse, at_most: 2.5}
data:
  source: {kind: parquet_dir, path: landing/demand/}
  key: id
  event_time: event_at
  freshness: {max_lateness: 60d}
  fields:
    id:       {type: string, nullable: false, unique: true}
    event_at: {type: datetime, nullable: false}
    x:        {type: float}
labels: {key: id, target: y}
operations:
  alerts: [{route: log, on: [estimated_drop]}]
"""


def world(n: int, seed: int, *, shift: float = 0.0, start: datetime = WEEK0) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(shift, 1, n)
    y = 2 * x + rng.normal(0, 1, n) * (0.5 + np.abs(x))  # the error grows with |x|
    step = 7 * 86400 / n
    return pl.DataFrame(
        {
            "id": [f"s{seed}-{i}" for i in range(n)],
            "event_at": [start + timedelta(seconds=i * step) for i in range(n)],
            "x": x,
            "y": y,
        }
    )


def test_estimated_mae_rises_before_labels_and_realized_matches_scikit_learn(
    cli: Any, workspace_dir: Path
) -> None:
    (workspace_dir / "charters" / "demand.yaml").write_text(CHARTER)
    train = world(3000, 1)
    model = LinearRegression().fit(train.select("x").to_pandas(), train["y"].to_numpy())
    model_path = workspace_dir / "demand.joblib"
    joblib.dump(model, model_path)
    reference = workspace_dir / "reference.parquet"
    world(3000, 2).drop("event_at").write_parquet(reference)
    registered = cli("register", "demand", str(model_path), "--reference", str(reference))
    assert registered.code == 0, registered.stderr
    week0, week1 = world(2000, 3), world(2000, 4, shift=2.5, start=WEEK0 + timedelta(days=7))
    landing = workspace_dir / "landing" / "demand"
    landing.mkdir(parents=True)
    pl.concat([week0, week1]).drop("y").write_parquet(landing / "rows.parquet")
    assert cli("ingest", "demand").code == 0

    body = cli("monitor", "demand", "--json").json()
    first, second = body["windows"]
    mae0, mae1 = (w["metrics"]["estimated"]["mae"]["value"] for w in (first, second))
    assert mae0 < 1.6 < mae1
    assert second["rules"][0]["estimate"]["status"] == "at_risk"
    assert first["rules"][0]["estimate"]["status"] == "ok"
    dropped = [a for a in body["alerts"] if a["event"] == "estimated_drop"]
    assert len(dropped) == 1  # (x drifted too: drift_breach beside it)
    listed = cli("alerts", "demand", "list", "--json")
    assert listed.code == 0, listed.stderr
    assert "mae est" in listed.stdout

    labels = workspace_dir / "labels.parquet"
    week1.select("id", "y").write_parquet(labels)
    assert cli("labels", "demand", str(labels)).code == 0
    again = cli("monitor", "demand", "--json").json()["windows"][1]
    predicted = model.predict(week1.select("x").to_pandas())
    truth = skm.mean_absolute_error(week1["y"].to_numpy(), predicted)
    assert again["metrics"]["realized"]["mae"] == pytest.approx(truth, abs=1e-9)
    assert abs(again["metrics"]["estimated"]["mae"]["value"] - truth) < 0.15 * truth
    assert again["rules"][0]["status"] == "breach"
