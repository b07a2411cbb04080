"""Fixtures for registry tests: real fitted models, real training files, store counters.

The workspace fixtures (``ws``, ``workspace_dir``, ``cli``) come from ``tests/conftest.py`` and
run every test on SQLite and on the real PostgreSQL server.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import polars as pl
import pytest
import sqlalchemy as sa
from sklearn.linear_model import LinearRegression, LogisticRegression

from charter.store.tables import AuditEntry, ModelVersion
from charter.workspace import Workspace

FEATURES = ["amount", "tenure", "ratio"]


def declare_model_inputs(path: Path) -> None:
    """Add the inputs these models read (``tenure``, ``ratio``) to a scaffold charter's fields:
    registration refuses a model reading inputs the charter does not give it."""
    text = path.read_text()
    anchor = (
        "    channel:  {type: string, allowed: [web, branch, phone], max_null_fraction: 0.05}\n"
    )
    assert anchor in text
    extra = "    tenure:   {type: float}\n    ratio:    {type: float}\n"
    path.write_text(text.replace(anchor, anchor + extra))


@pytest.fixture
def model_inputs() -> Callable[[Path], None]:
    """:func:`declare_model_inputs`, for tests that write another charter."""
    return declare_model_inputs


@pytest.fixture
def workspace_dir(workspace_dir: Path) -> Path:
    """The shared workspace, its charter declaring the inputs these models read."""
    declare_model_inputs(workspace_dir / "charters" / "credit-default.yaml")
    return workspace_dir


@pytest.fixture(scope="session")
def training_frame() -> pl.DataFrame:
    """Features plus a binary ``outcome`` that depends on them (so models learn something)."""
    rng = np.random.default_rng(11)
    n = 300
    amount = rng.gamma(2.0, 500.0, n)
    tenure = rng.integers(1, 120, n).astype(float)
    ratio = rng.uniform(0, 2, n)
    logit = 0.002 * amount - 0.02 * tenure + 1.5 * ratio - 1.0
    outcome = (rng.uniform(0, 1, n) < 1 / (1 + np.exp(-logit))).astype(int)
    return pl.DataFrame({"amount": amount, "tenure": tenure, "ratio": ratio, "outcome": outcome})


@pytest.fixture(scope="session")
def features_pd(training_frame: pl.DataFrame) -> pd.DataFrame:
    return training_frame.select(FEATURES).to_pandas()


@pytest.fixture(scope="session")
def classifier(training_frame: pl.DataFrame, features_pd: pd.DataFrame) -> LogisticRegression:
    """A binary classifier fitted on a pandas DataFrame (so it knows its feature names)."""
    return LogisticRegression(C=0.5, max_iter=500).fit(
        features_pd, training_frame["outcome"].to_numpy()
    )


@pytest.fixture(scope="session")
def regressor(training_frame: pl.DataFrame, features_pd: pd.DataFrame) -> LinearRegression:
    return LinearRegression().fit(features_pd, training_frame["amount"].to_numpy() * 0.1)


@pytest.fixture
def scoring_frame(training_frame: pl.DataFrame) -> pl.DataFrame:
    """Live-like rows: extra columns, features in another order."""
    return (
        training_frame.head(40)
        .with_columns(id=pl.int_range(40).cast(pl.String))
        .select("id", "ratio", "amount", "outcome", "tenure")
    )


@pytest.fixture
def model_file(tmp_path: Path, classifier: LogisticRegression) -> Path:
    path = tmp_path / "models" / "credit.joblib"
    path.parent.mkdir(parents=True, exist_ok=True)
    joblib.dump(classifier, path)
    return path


@pytest.fixture
def other_model_file(
    tmp_path: Path, training_frame: pl.DataFrame, features_pd: pd.DataFrame
) -> Path:
    other = LogisticRegression(C=5.0, max_iter=500).fit(
        features_pd, training_frame["outcome"].to_numpy()
    )
    path = tmp_path / "models" / "credit-c5.joblib"
    path.parent.mkdir(parents=True, exist_ok=True)
    joblib.dump(other, path)
    return path


@pytest.fixture
def training_parquet(tmp_path: Path, training_frame: pl.DataFrame) -> Path:
    path = tmp_path / "data" / "training.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    training_frame.write_parquet(path)
    return path


StoreCounts = Callable[[], tuple[int, int]]


@pytest.fixture
def store_counts(ws: Workspace) -> StoreCounts:
    """(model version rows, ledger entries): what a failed registration must leave unchanged."""

    def count() -> tuple[int, int]:
        with ws.db.read() as session:
            versions = session.scalar(sa.select(sa.func.count()).select_from(ModelVersion))
            entries = session.scalar(sa.select(sa.func.count()).select_from(AuditEntry))
        return int(versions or 0), int(entries or 0)

    return count


@pytest.fixture
def artifacts_dir(ws: Workspace) -> Path:
    return ws.state_dir / "artifacts"
