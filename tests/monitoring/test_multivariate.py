"""Multivariate drift (issue 14, point 9): PCA reconstruction error against a bound from the
reference, catching a shift of the joint distribution that no single input shows.

The numbers are checked against scikit-learn's own PCA round trip computed here independently;
the end-to-end case runs a real model through register, ingest and monitor on SQLite and
PostgreSQL: two inputs that moved together start moving against each other, their histograms
unchanged, and only the multivariate score breaches and raises ``drift_breach``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import polars as pl
import pytest
from sklearn.compose import make_column_transformer
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder

from charter.engines.summaries import NotComputable
from charter.monitoring.multivariate import Reconstruction

pytestmark = pytest.mark.postgres

KINDS: dict[str, Any] = {"a": "numeric", "b": "numeric", "c": "numeric", "channel": "categorical"}
WEEK0 = datetime(2024, 2, 29, tzinfo=UTC)  # a window start (fixed windows align to 1970)


def inputs(n: int, seed: int, *, rho: float = 0.9) -> pl.DataFrame:
    """``a`` and ``b`` standard normal with correlation ``rho``; ``c`` and ``channel`` apart."""
    rng = np.random.default_rng(seed)
    a = rng.normal(0, 1, n)
    b = rho * a + np.sqrt(1 - rho**2) * rng.normal(0, 1, n)
    return pl.DataFrame(
        {
            "a": a,
            "b": b,
            "c": rng.normal(5, 2, n),
            "channel": rng.choice(["web", "branch", "phone"], n, p=[0.6, 0.3, 0.1]),
        }
    )


def test_the_errors_are_scikit_learns_pca_round_trip_on_the_standardised_inputs() -> None:
    ref = inputs(4000, 1)
    fitted = Reconstruction.fit(ref, KINDS, 0.65)
    assert isinstance(fitted, Reconstruction)

    # independently: encode, standardise, fit on even rows, reconstruct
    share = {"web": 0.0, "branch": 0.0, "phone": 0.0}
    for value in ref["channel"].to_list():
        share[value] += 1 / ref.height
    columns = [ref[n].to_numpy() for n in ("a", "b", "c")]
    columns.append(np.array([share[v] for v in ref["channel"].to_list()]))
    raw = np.column_stack(columns)
    z = (raw - raw.mean(axis=0)) / raw.std(axis=0)
    pca = PCA(n_components=0.65, svd_solver="full").fit(z[0::2])
    back = pca.inverse_transform(pca.transform(z))
    expected = np.linalg.norm(z - back, axis=1)

    assert fitted.components.shape[0] == pca.n_components_
    np.testing.assert_allclose(fitted.errors(ref), expected, rtol=0, atol=1e-9)
    held = expected[1::2]
    assert fitted.mu == pytest.approx(held.mean(), abs=1e-12)
    assert fitted.sigma == pytest.approx(held.std(ddof=1), abs=1e-12)
    again = Reconstruction.from_dict(fitted.to_dict())  # as stored with the reference
    np.testing.assert_allclose(again.errors(ref), expected, rtol=0, atol=1e-9)


def test_a_flipped_correlation_breaches_and_unchanged_data_does_not() -> None:
    fitted = Reconstruction.fit(inputs(20_000, 1), KINDS, 0.65)
    assert isinstance(fitted, Reconstruction)

    alarms = [fitted.judge(inputs(2000, 100 + s), 3.0)["status"] for s in range(30)]
    flipped = fitted.judge(inputs(2000, 7, rho=-0.9), 3.0)

    assert alarms.count("breach") <= 1  # 3 standard errors: about 0.3% of windows by chance
    assert flipped["status"] == "breach" and flipped["value"] > flipped["upper"]
    half = 3.0 * fitted.sigma / np.sqrt(2000)
    assert flipped["upper"] == pytest.approx(fitted.mu + half, abs=1e-12)
    # a missing value counts at the reference mean, an unseen category as share 0: still scored
    odd = inputs(50, 3).with_columns(
        pl.lit(None, pl.Float64).alias("c"), pl.lit("kiosk").alias("channel")
    )
    assert np.isfinite(fitted.errors(odd)).all()


def test_too_little_to_fit_is_said_not_guessed() -> None:
    few = Reconstruction.fit(inputs(150, 1), KINDS, 0.65)
    one = Reconstruction.fit(inputs(5000, 1), {"a": "numeric"}, 0.65)
    assert isinstance(few, NotComputable) and "at least 200" in few.reason
    assert isinstance(one, NotComputable) and "at least two" in one.reason


CHARTER = """\
name: pricing
decision: "Refer a quote for manual pricing"
task: binary_classification
owner: {name: "Dana Ruiz", email: dana.ruiz@bank.example}
sufficiency:
  window: 7d
  min_labels: 100
  metrics: [{metric: roc_auc, at_least: 0.6}]
data:
  source: {kind: parquet_dir, path: landing/pricing/}
  key: id
  event_time: event_at
  freshness: {max_lateness: 60d}
  fields:
    id:       {type: string, nullable: false, unique: true}
    event_at: {type: datetime, nullable: false}
    a:        {type: float}
    b:        {type: float}
    c:        {type: float}
    channel:  {type: string}
labels: {key: id, target: y}
operations:
  monitor:
    multivariate: {}
  alerts: [{route: log, on: [drift_breach]}]
"""


def week(n: int, seed: int, start: datetime, *, rho: float = 0.9) -> pl.DataFrame:
    frame = inputs(n, seed, rho=rho)
    step = 7 * 86400 / n
    rng = np.random.default_rng(seed + 1000)
    return frame.with_columns(
        pl.Series("id", [f"s{seed}-{i}" for i in range(n)]),
        pl.Series("event_at", [start + timedelta(seconds=i * step) for i in range(n)]),
        pl.Series("y", (frame["a"].to_numpy() + rng.normal(0, 1, n) > 0).astype(int)),
    )


def test_monitor_flags_the_joint_shift_no_input_shows_and_raises_drift_breach(
    cli: Any, workspace_dir: Path
) -> None:
    (workspace_dir / "charters" / "pricing.yaml").write_text(CHARTER)
    train = week(4000, 1, WEEK0)
    model = make_pipeline(
        make_column_transformer(
            (OneHotEncoder(handle_unknown="ignore"), ["channel"]), remainder="passthrough"
        ),
        LogisticRegression(),
    ).fit(train.select("a", "b", "c", "channel").to_pandas(), train["y"].to_numpy())
    joblib.dump(model, workspace_dir / "model.joblib")
    reference = workspace_dir / "reference.parquet"
    week(6000, 2, WEEK0).drop("event_at").write_parquet(reference)
    registered = cli(
        "register", "pricing", str(workspace_dir / "model.joblib"), "--reference", str(reference)
    )
    assert registered.code == 0, registered.stderr
    same = week(3000, 3, WEEK0)
    flipped = week(3000, 4, WEEK0 + timedelta(days=7), rho=-0.9)
    landing = workspace_dir / "landing" / "pricing"
    landing.mkdir(parents=True)
    pl.concat([same, flipped]).drop("y").write_parquet(landing / "rows.parquet")
    assert cli("ingest", "pricing").code == 0

    body = cli("monitor", "pricing", "--json").json()

    first, second = body["windows"]
    assert first["multivariate_drift"]["status"] == "pass"
    joint = second["multivariate_drift"]
    assert joint["status"] == "breach" and joint["value"] > joint["upper"]
    assert joint["rows"] == 3000 and joint["inputs"] == ["a", "b", "c", "channel"]
    assert second["drifted"] == []  # every input's own histogram is unchanged
    assert second["drift_status"] == "breach" and first["drift_status"] != "breach"
    assert "multivariate drift (pca_reconstruction)" in second["flags"]
    assert [a["event"] for a in body["alerts"]] == ["drift_breach"]
    listed = cli("alerts", "pricing", "list", "--json")
    assert listed.code == 0, listed.stderr
    (alert,) = listed.json()["alerts"]
    assert "the inputs' joint distribution (reconstruction error" in alert["message"]
