"""The demo's credit-default model: a scikit-learn pipeline a real team might ship."""

from __future__ import annotations

import polars as pl
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from charter.demo.data import FEATURES

NUMERIC = ["income", "age", "debt_ratio", "loan_amount", "credit_history_months", "late_payments"]
CATEGORICAL = ["employment", "region"]


def train(frame: pl.DataFrame, *, c: float = 1.0) -> Pipeline:
    """Fit on ``frame`` (features plus ``defaulted``); the pipeline takes a pandas DataFrame."""
    pipeline = Pipeline(
        [
            (
                "prepare",
                ColumnTransformer(
                    [
                        ("numeric", StandardScaler(), NUMERIC),
                        ("categorical", OneHotEncoder(handle_unknown="ignore"), CATEGORICAL),
                    ]
                ),
            ),
            ("classify", LogisticRegression(C=c, max_iter=1000)),
        ]
    )
    pipeline.fit(frame.select(FEATURES).to_pandas(), frame["defaulted"].to_numpy())
    return pipeline


def auc(pipeline: Pipeline, frame: pl.DataFrame) -> float:
    scores = pipeline.predict_proba(frame.select(FEATURES).to_pandas())[:, 1]
    return float(roc_auc_score(frame["defaulted"].to_numpy(), scores))
