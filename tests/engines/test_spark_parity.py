"""Same data, same numbers: the Spark engine against the local (Polars) engine.

One Spark session (``local[2]``) serves the whole module: it takes tens of seconds to start on
this machine, so the tests are few and broad.

- every row rule and batch rule, on text (CSV, JSON Lines) and on native types (Parquet): the same
  valid rows in the same types, the same failed rows with the same rules in the same order;
- the same files read by each engine's readers;
- the summaries monitoring stores: identical counts and histograms, sums to 1e-9;
- two charters in one workspace (SQLite and PostgreSQL), one ingested by each engine (chosen by
  ``engine: spark`` in the charter's data section), scored by a live, a shadow and a standby
  version: identical row accounting, quarantine and predictions; monitored with summaries from
  both engines mixed in one window: identical drift statistics and metrics (to 1e-9);
- a Spark ingest killed before its commit and run again logs every row exactly once.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import polars as pl
import pyarrow as pa
import pytest
import sqlalchemy as sa
from sklearn.linear_model import LogisticRegression

from charter.engines.base import Engine, chosen_engine, engine_for
from charter.engines.rules import contract_rules
from charter.engines.spark import SparkEngine
from charter.engines.spark.session import stop_session
from charter.engines.summaries import NumericSummary
from charter.monitoring.reference import set_reference
from charter.monitoring.service import monitor
from charter.plumbing.ingest import ingest
from charter.plumbing.labels import ingest_labels
from charter.plumbing.predictions import read_predictions, read_quarantine
from charter.registry.versions import register_version, set_status
from charter.settings import Settings
from charter.spec.model import DataContract, FolderSource
from charter.store.tables import IngestBatch
from charter.workspace import Workspace

pytestmark = [pytest.mark.postgres, pytest.mark.slow]
MASTER = "local[2]"
NOW = datetime(2024, 7, 1, tzinfo=UTC)
WEEK0 = datetime(2024, 2, 29, tzinfo=UTC)

TEXT_CONTRACT = {
    "source": {"kind": "csv_dir", "path": "landing"},
    "key": "id",
    "event_time": "ts",
    "volume": {"min_rows": 5, "max_rows": 6},
    "freshness": {"max_age": "30d"},
    "fields": {
        "id": {"type": "int"},
        "x": {"type": "float", "min": 0, "max": 10, "max_null_fraction": 0.1},
        "c": {"type": "string", "allowed": ["a", "b"], "pattern": "[a-z]"},
        "ts": {"type": "datetime"},
        "d": {"type": "date", "required": False},
        "flag": {"type": "bool", "nullable": False},
        "n": {"type": "int", "min": 1.5, "max": 4.5, "required": False},
    },
}
TEXT_BATCH = {
    "id": ["1", "2", "2", "4.0", "x", "6", None, "8"],
    "x": ["1.5", "-1", "nan", "11", " 3 ", "abc", None, "inf"],
    "c": ["a", "b", "z", "a", None, "A", "a", "b"],
    "ts": [
        "2024-06-01",
        "2024-06-01T10:00:00.5+02:00",
        "20240601T100000Z",
        "2024-W22-6",
        "2024-153",
        "2024-13-01",
        "2024-06-01 24:00",
        "2024-02-30",
    ],
    "flag": ["true", "0", "YES", None, "False", "1", "1", "TRUE"],
    "n": ["2", "2", "3", "4", "5", "1.0", "2.5", None],
    "extra": ["p", "q", "r", "s", "t", "u", "v", "w"],
}
NATIVE_CONTRACT = {
    "source": {"kind": "parquet_dir", "path": "landing"},
    "key": "id",
    "event_time": "at",
    "freshness": {"max_age": "1d"},
    "fields": {
        "id": {"type": "string", "pattern": "k[0-9]+"},
        "at": {"type": "datetime", "min": 1717200000},
        "amount": {"type": "float", "min": 0, "max_null_fraction": 0.0},
        "count": {"type": "int", "allowed": [1, 2, 3]},
        "ok": {"type": "bool"},
        "day": {"type": "date", "max": 1720000000},
        "label": {"type": "float"},
        "gone": {"type": "string", "required": False},
    },
}


def native_batch() -> pl.DataFrame:
    at = datetime(2024, 6, 1, 12)
    return pl.DataFrame(
        {
            "id": ["k1", "k2", "k2", "x3", None, "k6", "k7"],
            "at": [at + timedelta(days=i) for i in (0, 1, 2, -5, 4, 5, 6)],
            "amount": [1.0, float("nan"), -2.0, None, 3.0, 4.0, float("inf")],
            "count": [1, 2, 4, None, 3, 3, 2],
            "ok": [True, False, None, True, True, False, True],
            "day": [at.date() + timedelta(days=30 * i) for i in range(7)],
            "label": [None, False, True, None, False, True, False],  # a bool: type_changed
            "more": [1, 2, 3, 4, 5, 6, 7],
        }
    )


@pytest.fixture(scope="module")
def spark() -> Iterator[SparkEngine]:
    engine = SparkEngine(MASTER)
    engine.spark.range(1).count()  # started once for the module
    yield engine
    stop_session(MASTER)


@pytest.fixture(autouse=True)
def on_local_2(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHARTER_SPARK_MASTER", MASTER)


def test_the_spark_engine_is_chosen_by_flag_setting_or_charter_and_named_in_errors(
    spark: SparkEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert isinstance(spark, Engine)
    monkeypatch.setenv("CHARTER_ENGINE", "spark")
    settings = Settings()
    assert (settings.engine, settings.spark_master) == ("spark", MASTER)
    assert chosen_engine("polars", settings, "spark") == "polars"  # the flag wins
    assert chosen_engine(None, settings, "polars") == "spark"  # then the setting
    assert chosen_engine(None, Settings(engine=None), "spark") == "spark"  # then the charter
    assert chosen_engine(None, Settings(engine=None), None) == "polars"
    made = engine_for("Spark", settings)
    assert isinstance(made, SparkEngine) and made.master == MASTER
    with pytest.raises(Exception) as caught:
        engine_for("flink", settings)
    assert "CHARTER_ENGINE" in str(caught.value) and "polars, spark" in str(caught.value)


def assert_same_verdicts(spark: SparkEngine, contract: dict[str, Any], batch: Any) -> None:
    rules = contract_rules(DataContract.model_validate(contract))
    seen = pl.Series("id", [6, 8]) if contract is TEXT_CONTRACT else pl.Series("id", ["k7"])
    local = engine_for("polars").validate(batch, rules, seen_keys=seen, now=NOW)
    remote = spark.validate(batch, rules, seen_keys=seen, now=NOW)
    assert remote.valid.schema == local.valid.schema
    assert remote.valid.equals(local.valid)
    assert remote.failed.equals(local.failed)
    assert remote.failed.height > 0 and remote.valid.height > 0
    assert remote.batch_rules == local.batch_rules
    assert remote.schema_changes == local.schema_changes
    assert remote.violation_counts() == local.violation_counts()


def test_every_rule_gives_the_same_verdicts_and_the_same_summaries(
    spark: SparkEngine, tmp_path: Path
) -> None:
    text = pl.DataFrame(TEXT_BATCH)
    assert_same_verdicts(spark, TEXT_CONTRACT, text)
    assert_same_verdicts(spark, NATIVE_CONTRACT, native_batch())
    assert_same_verdicts(spark, NATIVE_CONTRACT, native_batch().to_arrow())

    # The same files read by each engine's readers (CSV as text, JSON Lines types inferred).
    local = engine_for("polars")
    for kind, name, frame in (
        ("csv_dir", "a.csv", text),
        ("jsonl_dir", "a.jsonl", native_batch().drop("at", "day")),
        ("parquet_dir", "a.parquet", native_batch()),
    ):
        path = tmp_path / name
        getattr(
            frame, {"csv_dir": "write_csv", "jsonl_dir": "write_ndjson"}.get(kind, "write_parquet")
        )(path)
        source = FolderSource(kind=kind, path="landing")
        got, want = pl.from_arrow(spark.read(path, source)), pl.from_arrow(local.read(path, source))
        assert isinstance(got, pl.DataFrame) and isinstance(want, pl.DataFrame)
        assert got.cast(want.schema).equals(want), kind

    # Monitoring's summaries: identical counts and histograms; sums equal to rounding.
    rng = np.random.default_rng(7)
    values = pa.array(np.append(rng.normal(50, 20, 20_000), [np.nan, np.inf]))
    for like in (None, local.summarise(pa.array(rng.normal(40, 10, 5000)), "numeric")):
        a, b = (
            local.summarise(values, "numeric", like=like),
            spark.summarise(values, "numeric", like=like),
        )
        assert isinstance(a, NumericSummary) and isinstance(b, NumericSummary)
        assert np.array_equal(a.counts, b.counts) and np.array_equal(a.edges, b.edges)
        assert (a.count, a.null_count, a.minimum, a.maximum) == (
            b.count,
            b.null_count,
            b.minimum,
            b.maximum,
        )
        assert math.isclose(a.total, b.total, rel_tol=1e-12) and math.isclose(
            a.m2, b.m2, rel_tol=1e-9
        )
        assert np.allclose(a.bin_sums, b.bin_sums, rtol=1e-12, atol=1e-9)
    words = pa.array([("web", "branch", "phone", None)[i] for i in rng.integers(0, 4, 5000)])
    reference = local.summarise(words, "categorical")
    assert spark.summarise(words, "categorical") == reference
    assert spark.summarise(words, "categorical", like=reference) == local.summarise(
        words, "categorical", like=reference
    )


# -- through ingestion and monitoring ---------------------------------------------------------
CHARTER = """\
name: {name}
decision: "Approve or refer consumer loan applications"
task: binary_classification
owner: {{name: "Dana Ruiz", email: dana.ruiz@bank.example}}
sufficiency:
  window: 7d
  min_labels: 50
  metrics:
    - {{metric: roc_auc, at_least: 0.6}}
data:
  source: {{kind: parquet_dir, path: landing/{name}/}}
  key: id
  event_time: event_at
  freshness: {{max_lateness: 60d}}
  fields:
    id:       {{type: string, nullable: false, unique: true}}
    event_at: {{type: datetime, nullable: false}}
    amount:   {{type: float, min: 0}}
    rate:     {{type: float, min: 0, max: 1}}
{engine}labels: {{key: id, target: outcome}}
operations:
  monitor: {{reference: training, drift: {{method: psi, warn: 0.1, breach: 0.25}}}}
"""


def world(n: int, seed: int, start: datetime) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pl.DataFrame(
        {
            "id": [f"s{seed}-{i}" for i in range(n)],
            "event_at": [start + timedelta(seconds=i * 600) for i in range(n)],
            "amount": rng.uniform(0, 100, n),
            "rate": rng.uniform(0, 1, n),
        }
    )
    broken = pl.int_range(pl.len()) % 17 == 3  # one row in 17 breaks amount >= 0
    return frame.with_columns(
        pl.when(broken).then(-1.0).otherwise(pl.col("amount")).alias("amount")
    )


def outcome(frame: pl.DataFrame, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed + 99)
    logit = (frame["amount"].to_numpy() - 50) / 15 + frame["rate"].to_numpy()
    drawn: np.ndarray = (rng.uniform(0, 1, frame.height) < 1 / (1 + np.exp(-logit))).astype(int)
    return drawn


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    train = world(2000, 1, WEEK0)
    x, y = train.select("amount", "rate").to_pandas(), outcome(train, 1)
    folder = tmp_path_factory.mktemp("models")
    paths = []
    for c in (1.0, 0.01, 0.001):
        path = folder / f"model-{c}.joblib"
        joblib.dump(LogisticRegression(C=c).fit(x, y), path)
        paths.append(path)
    return paths


def setup_charter(ws: Workspace, name: str, models: list[Path], *, spark: bool) -> None:
    engine = "  engine: spark\n" if spark else ""
    (ws.charters_dir / f"{name}.yaml").write_text(CHARTER.format(name=name, engine=engine))
    for path, status in zip(models, ("live", "shadow", "standby"), strict=False):
        info = register_version(ws, name, str(path))
        with ws.db.session() as session:
            set_status(ws, session, name, info.version, status)
    reference = world(1500, 2, WEEK0).filter(pl.col("amount") >= 0)
    reference = reference.with_columns(outcome=pl.Series(outcome(reference, 2)))
    ref_path = ws.root / "reference.parquet"  # one file: the windows name it
    reference.drop("event_at").write_parquet(ref_path)
    set_reference(ws, name, 1, ref_path)


def land(ws: Workspace, name: str, file: str, frame: pl.DataFrame) -> None:
    folder = ws.root / "landing" / name
    folder.mkdir(parents=True, exist_ok=True)
    frame.write_parquet(folder / file)


def label(ws: Workspace, name: str, frame: pl.DataFrame, seed: int) -> None:
    path = ws.root / "labels" / f"{name}-{seed}.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    pl.DataFrame({"id": frame["id"], "outcome": outcome(frame, seed)}).write_parquet(path)
    ingest_labels(ws, name, path)


def logged(ws: Workspace, name: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    log = read_predictions(ws, name).collect()
    log = log.select("key", "model_version", "model_status", "score", "late", "event_time")
    quarantine = read_quarantine(ws, name).collect().drop("_batch_id", "_ingested_at")
    return log.sort("model_version", "key"), quarantine.sort("id")


def accounting(report: Any) -> list[tuple[Any, ...]]:
    return [
        (
            b.source,
            b.rows_in,
            b.rows_scored,
            b.rows_quarantined,
            b.rows_late,
            b.violations,
            b.batch_rules,
            b.schema_changes,
            b.scored_by,
            b.scoring_failures,
        )
        for b in report.batches
    ]


def assert_close(a: Any, b: Any, where: str = "") -> None:
    """Equal, except floats, which may differ by 1e-9 (relative or absolute). Delays are left
    out: they count from each run's ingestion time, which differs between the two charters."""
    if isinstance(a, dict) and isinstance(b, dict):
        assert a.keys() == b.keys(), where
        for key in a:
            if key not in ("charter", "evaluated_at", "computed_at") and "delay" not in key:
                assert_close(a[key], b[key], f"{where}.{key}")
    elif isinstance(a, list) and isinstance(b, list):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_close(x, y, f"{where}[{i}]")
    elif isinstance(a, float) and isinstance(b, float):
        assert math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9), (where, a, b)
    else:
        assert a == b, (where, a, b)


def test_ingest_and_monitor_on_spark_give_the_local_engines_numbers(
    spark: SparkEngine, ws: Workspace, models: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    def through_the_driver(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a landing file's rows came to the driver")

    for method in ("read", "validate", "score"):  # the driver-side steps of the engine seam
        monkeypatch.setattr(SparkEngine, method, through_the_driver)
    local, remote = "credit-local", "credit-spark"
    setup_charter(ws, local, models, spark=False)
    setup_charter(ws, remote, models, spark=True)  # data.engine: spark
    weeks = [world(900, 10 + i, WEEK0 + timedelta(days=3 * i)) for i in range(2)]

    land(ws, local, "w0.parquet", weeks[0])
    land(ws, remote, "w0.parquet", weeks[0])
    first = (ingest(ws, local), ingest(ws, remote))
    label(ws, local, weeks[0], 10)
    label(ws, remote, weeks[0], 10)
    monitor(ws, local)  # stores the local engine's summaries of batch 1
    monitor(ws, remote, engine="spark")  # stores Spark's summaries of batch 1

    land(ws, local, "w1.parquet", weeks[1])
    land(ws, remote, "w1.parquet", weeks[1])
    second = (ingest(ws, local), ingest(ws, remote))
    label(ws, local, weeks[1], 11)
    label(ws, remote, weeks[1], 11)

    for a, b in (first, second):
        assert accounting(a) == accounting(b)
        (batch,) = b.batches
        assert batch.rows_quarantined > 0
        assert batch.violations == {"amount.min": batch.rows_quarantined}
    assert logged(ws, local)[0].equals(logged(ws, remote)[0])  # identical predictions, 3 versions
    assert logged(ws, local)[1].equals(logged(ws, remote)[1])  # identical quarantine
    assert logged(ws, remote)[0]["model_status"].unique().sort().to_list() == [
        "live",
        "shadow",
        "standby",
    ]

    # Mixed windows: the local charter's first batch summarised by the local engine and its
    # second by Spark; the Spark charter's the other way round. Same windows, same numbers.
    mixed_local = monitor(ws, local, engine="spark").to_dict()
    mixed_remote = monitor(ws, remote, engine="polars").to_dict()
    assert mixed_local["windows"], mixed_local
    assert_close(mixed_local["windows"], mixed_remote["windows"])
    windows = mixed_local["windows"]
    assert {w["version"] for w in windows} == {"1", "2", "3"} and len(windows) == 6
    for w in windows:  # there are numbers to compare: metrics from labels, drift of each input
        assert w["labels"]["labelled"] > 0 and w["metrics"]["realized"]["roc_auc"] > 0.5
        assert set(w["drift"]) == {"amount", "rate"}
    psi = [w["drift"]["amount"]["psi"]["value"] for w in windows if w["version"] == "1"]
    assert len(psi) == 2 and all(isinstance(v, float) and v > 0 for v in psi), psi


@pytest.mark.timeout(900)  # its child process starts a Spark session of its own
def test_a_spark_ingest_killed_before_its_commit_and_run_again_logs_every_row_once(
    spark: SparkEngine, ws: Workspace, models: list[Path]
) -> None:
    name = "credit-spark"
    setup_charter(ws, name, models[:1], spark=False)
    frames = [world(400, 30 + i, WEEK0 + timedelta(days=i)) for i in range(2)]
    for i, frame in enumerate(frames):
        land(ws, name, f"part-{i}.parquet", frame)
    env = {**os.environ, "CHARTER_TEST_CRASH_AT": "before_commit:2", "CHARTER_ENGINE": "spark"}
    command = [sys.executable, "-m", "charter.cli.main", "-w", str(ws.root), "ingest", name]
    crashed = subprocess.run(command, env=env, capture_output=True, text=True, timeout=800)
    assert crashed.returncode == 137, crashed.stderr[-2000:]
    with ws.db.read() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(IngestBatch)) == 1

    report = ingest(ws, name, engine="spark")

    assert [b.source for b in report.batches] == ["part-1.parquet"]
    log, quarantine = logged(ws, name)
    keys = set(pl.concat(frames)["id"])
    assert log["key"].is_duplicated().sum() == 0 and quarantine["id"].is_duplicated().sum() == 0
    assert set(log["key"]) | set(quarantine["id"]) == keys
    assert set(log["key"]).isdisjoint(set(quarantine["id"]))
    with ws.db.read() as session:
        batches = session.scalars(sa.select(IngestBatch)).all()
    assert len(batches) == 2
    assert all(b.rows_in == b.rows_scored + b.rows_quarantined for b in batches)
    assert sum(b.rows_scored for b in batches) == log.height
    # The executors wrote each part under a name unique to its attempt; the killed attempt's
    # parts were removed by the re-run, so the lake holds exactly the committed files.
    named = {key for b in batches for key in (b.predictions_path or "").split("\n") if key}
    named |= {key for b in batches for key in (b.quarantine_path or "").split("\n") if key}
    on_disk = {
        path.relative_to(ws.state_dir).as_posix()
        for folder in ("predictions", "quarantine")
        for path in (ws.state_dir / folder / name).glob("*.parquet")
    }
    assert on_disk == named and all(".part-" in key for key in named), (on_disk, named)
