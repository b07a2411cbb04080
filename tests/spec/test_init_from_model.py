"""`charter init NAME --from-data FILE --target y --model MODEL`: the features the model reads and
sufficiency rules from its performance measured on the data, each commented with its source."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import polars as pl
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.metrics import mean_absolute_error, recall_score, roc_auc_score

from charter.spec.loader import parse_charter

START = datetime(2026, 1, 1, tzinfo=UTC)


def _claims(rows: int = 600, seed: int = 3) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    amount = rng.gamma(2.0, 500.0, rows)
    age = rng.integers(18, 80, rows)
    fraud = (rng.random(rows) < 1 / (1 + np.exp(-(0.002 * amount - 2)))).astype(int)
    return pl.DataFrame(
        {
            "claim_id": [f"c{i}" for i in range(rows)],
            "filed_at": [START + timedelta(minutes=i) for i in range(rows)],
            "amount": amount,
            "age": age,
            "channel": rng.choice(["web", "phone"], rows),
            "fraud": fraud,
            "loss": amount * 0.3 + rng.normal(0, 20, rows),
        }
    )


def _flags(data: Path, model: Path, target: str | None = None) -> list[str]:
    """``--from-data DATA --key claim_id [--target T] --model MODEL``."""
    chosen = ["--target", target] if target else []
    return ["--from-data", str(data), "--key", "claim_id", *chosen, "--model", str(model)]


def _init(cli: Any, workspace_dir: Path, *args: str) -> tuple[Any, str]:
    result = cli("init", "claims", "--force", *args)
    assert result.code == 0, result.stderr
    text = (workspace_dir / "charters" / "claims.yaml").read_text()
    assert cli("check", "claims").code == 0
    return parse_charter(text).charter, text


def test_a_classifier_gives_the_features_and_rules_below_its_measured_performance(
    cli: Any, workspace_dir: Path, tmp_path: Path
) -> None:
    frame = _claims()
    train, holdout = frame[:300], frame[300:]
    model = LogisticRegression().fit(
        train.select("age", "amount").to_pandas(), train["fraud"].to_numpy()
    )
    joblib.dump(model, tmp_path / "model.joblib")
    holdout.drop("loss").write_parquet(tmp_path / "holdout.parquet")
    charter, text = _init(
        cli,
        workspace_dir,
        *_flags(tmp_path / "holdout.parquet", tmp_path / "model.joblib", "fraud"),
    )
    # the model's inputs, in the model's order, not every field of the data
    assert charter.data.features == ["age", "amount"]
    assert "what model.joblib reads (its feature_names_in_)" in text
    scores = model.predict_proba(holdout.select("age", "amount").to_pandas())[:, 1]
    auc = roc_auc_score(holdout["fraud"].to_numpy(), scores)
    recall = recall_score(holdout["fraud"].to_numpy(), scores >= 0.5)
    rules = {r.metric: r for r in charter.sufficiency.metrics}
    assert set(rules) == {"roc_auc", "recall"}
    assert rules["roc_auc"].at_least == np.floor((auc - 0.05) * 100) / 100
    assert rules["roc_auc"].at_least < rules["roc_auc"].warn_at < auc
    assert rules["recall"].at_least == np.floor((recall - 0.05) * 100) / 100
    assert f"measured {auc:.4g}; bound 0.05 below" in text
    assert "Measured by model.joblib on 300 rows of holdout.parquet" in text


def test_a_regressor_gives_error_ceilings_above_its_measured_error(
    cli: Any, workspace_dir: Path, tmp_path: Path
) -> None:
    frame = _claims()
    model = LinearRegression().fit(frame.select("amount").to_pandas(), frame["loss"].to_numpy())
    joblib.dump(model, tmp_path / "model.joblib")
    frame.drop("fraud").write_parquet(tmp_path / "sample.parquet")
    charter, text = _init(
        cli,
        workspace_dir,
        *_flags(tmp_path / "sample.parquet", tmp_path / "model.joblib", "loss"),
    )
    assert charter.task == "regression" and charter.data.features == ["amount"]
    mae = mean_absolute_error(frame["loss"], model.predict(frame.select("amount").to_pandas()))
    rules = {r.metric: r for r in charter.sufficiency.metrics}
    assert mae * 1.25 <= rules["mae"].at_most < mae * 1.26
    assert mae < rules["mae"].warn_at < rules["mae"].at_most
    assert "bound 25% above" in text


def test_a_model_reading_a_column_the_data_lacks_is_refused_naming_it(
    cli: Any, workspace_dir: Path, tmp_path: Path
) -> None:
    frame = _claims()
    renamed = frame.rename({"age": "age_years"})
    model = LogisticRegression().fit(
        renamed.select("age_years", "amount").to_pandas(), frame["fraud"].to_numpy()
    )
    joblib.dump(model, tmp_path / "model.joblib")
    frame.drop("loss").write_parquet(tmp_path / "sample.parquet")
    flags = _flags(tmp_path / "sample.parquet", tmp_path / "model.joblib", "fraud")
    result = cli("init", "claims", *flags)
    assert result.code == 1
    assert "reads age_years (from its feature_names_in_), which the data lacks" in result.stderr
    assert not (workspace_dir / "charters" / "claims.yaml").exists()


def test_without_a_target_the_model_gives_features_and_the_rules_stay_placeholders(
    cli: Any, workspace_dir: Path, tmp_path: Path
) -> None:
    frame = _claims()
    model = LogisticRegression().fit(frame.select("amount").to_pandas(), frame["fraud"])
    joblib.dump(model, tmp_path / "model.joblib")
    frame.drop("loss", "fraud").write_parquet(tmp_path / "sample.parquet")
    charter, text = _init(
        cli,
        workspace_dir,
        *_flags(tmp_path / "sample.parquet", tmp_path / "model.joblib"),
    )
    assert charter.data.features == ["amount"]
    assert "Measured by" not in text
    assert [r.at_least for r in charter.sufficiency.metrics] == [0.75, 0.60]


def test_model_goes_with_from_data(cli: Any) -> None:
    result = cli("init", "claims", "--model", "model.joblib")
    assert result.code == 1 and "go with --from-data FILE" in result.stderr
