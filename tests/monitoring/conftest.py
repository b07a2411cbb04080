"""Fixtures for monitoring integration tests: a charter, a trained model, a reference, live weeks.

The world: ``amount`` is uniform on [0, 100], ``channel`` is web/branch/phone, and the chance of
``outcome = 1`` rises with amount. A scikit-learn pipeline (imputer + one-hot + logistic
regression) learns it. Live weeks are 7-day windows aligned to the Unix epoch; 2024-02-29 is a
window start (a Thursday, as 1970-01-01 was).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import polars as pl
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder

from charter.monitoring.reference import set_reference
from charter.plumbing.ingest import ingest
from charter.plumbing.labels import ingest_labels
from charter.registry.versions import register_version, set_status
from charter.workspace import Workspace

WEEK0 = datetime(2024, 2, 29, tzinfo=UTC)
CHANNELS = ("web", "branch", "phone")

CHARTER = """\
name: {name}
decision: "Approve or refer consumer loan applications"
task: binary_classification
owner: {{name: "Dana Ruiz", email: dana.ruiz@bank.example}}
sufficiency:
  window: 7d
  min_labels: {min_labels}
  metrics:
{rules}
data:
  source: {{kind: parquet_dir, path: landing/{name}/}}
  key: id
  event_time: event_at
  freshness: {{max_lateness: 60d}}
  fields:
    id:       {{type: string, nullable: false, unique: true}}
    event_at: {{type: datetime, nullable: false}}
    amount:   {{type: float, min: 0}}
    channel:  {{type: string}}
labels: {{key: id, target: outcome}}
operations:
  monitor: {{reference: "{reference}", drift: {{method: psi, warn: 0.1, breach: 0.25}}}}
"""
RULES = "    - {metric: roc_auc, at_least: 0.65, warn_at: 0.8}"


def world(n: int, seed: int, *, start: datetime = WEEK0, days: float = 7.0) -> pl.DataFrame:
    """``n`` rows with event times spread evenly over ``days`` from ``start``."""
    rng = np.random.default_rng(seed)
    amount = rng.uniform(0, 100, n)
    channel = rng.choice(CHANNELS, n)
    step = days * 86400 / n
    return pl.DataFrame(
        {
            "id": [f"s{seed}-{i}" for i in range(n)],
            "event_at": [start + timedelta(seconds=i * step) for i in range(n)],
            "amount": amount,
            "channel": channel,
        }
    )


def true_outcome(frame: pl.DataFrame, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed + 1000)
    bonus = frame["channel"].replace_strict({"web": 0.5, "branch": 0.0, "phone": -0.5}, default=0.0)
    logit = (frame["amount"].fill_null(50).to_numpy() - 50) / 12 + bonus.to_numpy()
    outcome: np.ndarray = (rng.uniform(0, 1, frame.height) < 1 / (1 + np.exp(-logit))).astype(int)
    return outcome


@pytest.fixture(scope="session")
def model_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    train = world(3000, seed=1)
    y = true_outcome(train, 1)
    pipeline = Pipeline(
        [
            (
                "prep",
                ColumnTransformer(
                    [
                        ("num", SimpleImputer(strategy="median"), ["amount"]),
                        ("cat", OneHotEncoder(handle_unknown="ignore"), ["channel"]),
                    ]
                ),
            ),
            ("clf", LogisticRegression(max_iter=500)),
        ]
    )
    pipeline.fit(train.select("amount", "channel").to_pandas(), y)
    path = tmp_path_factory.mktemp("model") / "credit.joblib"
    joblib.dump(pipeline, path)
    return path


@dataclass
class MonitorKit:
    """A workspace with the monitoring charter, its model, and helpers to feed it."""

    ws: Workspace
    model_file: Path
    name: str = "credit-default"
    model: Any = field(default=None)
    week0 = WEEK0
    world = staticmethod(world)
    true_outcome = staticmethod(true_outcome)

    def named(self, name: str) -> MonitorKit:
        """A kit for another charter in the same workspace (write its charter first)."""
        return MonitorKit(self.ws, self.model_file, name=name)

    def write_charter(
        self, *, rules: str = RULES, min_labels: int = 100, reference: str = "training"
    ) -> None:
        text = CHARTER.format(
            name=self.name, rules=rules, min_labels=min_labels, reference=reference
        )
        (self.ws.charters_dir / f"{self.name}.yaml").write_text(text)

    def register(self, status: str = "live", model: Path | str | None = None) -> int:
        info = register_version(self.ws, self.name, str(model or self.model_file))
        with self.ws.db.session() as session:
            set_status(self.ws, session, self.name, info.version, status)
        return info.version

    def reference(self, version: int | str = 1, n: int = 3000, seed: int = 2) -> Path:
        frame = world(n, seed)
        frame = frame.with_columns(outcome=pl.Series(true_outcome(frame, seed)))
        path = self.ws.root / f"reference-{seed}.parquet"
        frame.drop("event_at").write_parquet(path)
        set_reference(self.ws, self.name, version, path)
        return path

    def land(self, file: str, frame: pl.DataFrame) -> None:
        self.land_parts(frame, (), prefix=file.removesuffix(".parquet"))

    def land_parts(self, frame: pl.DataFrame, cuts: tuple[int, ...], prefix: str = "part") -> None:
        """Write ``frame`` as files cut at row offsets ``cuts``, then ingest them all."""
        folder = self.ws.root / "landing" / self.name
        folder.mkdir(parents=True, exist_ok=True)
        bounds = [0, *cuts, frame.height]
        for n, (a, b) in enumerate(itertools.pairwise(bounds)):
            name = prefix if not cuts else f"{prefix}-{n:02d}"
            frame.slice(a, b - a).write_parquet(folder / f"{name}.parquet")
        report = ingest(self.ws, self.name)
        assert not report.files_failed, report.files_failed

    def labels(self, file: str, keys: list[str], outcome: np.ndarray | list[int]) -> None:
        path = self.ws.root / "labels" / file
        path.parent.mkdir(parents=True, exist_ok=True)
        pl.DataFrame({"id": keys, "outcome": list(np.asarray(outcome).tolist())}).write_parquet(
            path
        )
        ingest_labels(self.ws, self.name, path)

    def scores(self, frame: pl.DataFrame) -> np.ndarray:
        if self.model is None:
            self.model = joblib.load(self.model_file)
        result: np.ndarray = self.model.predict_proba(
            frame.select("amount", "channel").to_pandas()
        )[:, 1]
        return result


@pytest.fixture
def mkit(ws: Workspace, model_file: Path) -> MonitorKit:
    kit = MonitorKit(ws, model_file)
    kit.write_charter()
    return kit
