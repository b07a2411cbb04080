"""Retraining: a trigger on the live version's window trains a challenger, registered in shadow.

The world: ``amount`` is uniform on [0, 100]. Version 1 learned "outcome = 1 when amount > 50";
live ground truth says the opposite, so its window breaches the roc_auc contract. The training
entrypoint is a real module written into the workspace, fitting scikit-learn's
LogisticRegression on the frame it is given.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import joblib
import numpy as np
import polars as pl
import pytest
from sklearn.linear_model import LogisticRegression

from charter.alerts.raising import list_alerts
from charter.governance.changes import accept_change, list_changes
from charter.monitoring.service import monitor
from charter.plumbing.ingest import ingest
from charter.plumbing.labels import ingest_labels
from charter.plumbing.predictions import read_predictions
from charter.registry.versions import get_version, list_versions, register_version, set_status
from charter.retraining.retrain import retrain, training_frame
from charter.workspace import Workspace

OWNER = "dana.ruiz@bank.example"
NAME = "credit-default"
WEEK0 = datetime(2024, 2, 29, tzinfo=UTC)  # a 7-day window start (epoch-aligned)
CHARTER = """\
name: credit-default
decision: "Approve or refer consumer loan applications"
owner: {{name: "Dana Ruiz", email: dana.ruiz@bank.example}}
sufficiency:
  window: 7d
  min_labels: 50
  metrics:
    - {{metric: roc_auc, at_least: 0.7}}
data:
  source: {{kind: parquet_dir, path: landing/credit-default/}}
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
  monitor: {{reference: training}}
  alerts: [{{route: log, on: [retrain_failed, step_failed]}}]
  retrain: {{when: {when}, entrypoint: "{module}:fit"}}
"""
GOOD_TRAINER = """\
from sklearn.linear_model import LogisticRegression

def fit(frame):
    print("training on", frame.height, "rows")  # must not reach stdout
    return LogisticRegression().fit(frame.select("amount").to_pandas(), frame["outcome"])
"""


def rows(
    n: int, *, start: datetime = WEEK0, seed: int = 0, low: float = 0, high: float = 100
) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    return pl.DataFrame(
        {
            "id": [f"r{seed}-{i}" for i in range(n)],
            "event_at": [start + timedelta(minutes=30 * i) for i in range(n)],
            "amount": rng.uniform(low, high, n),
            "channel": rng.choice(["web", "branch", "phone"], n),
        }
    )


@dataclass
class RetrainKit:
    ws: Workspace
    module: str

    def charter(self, when: str = "[sufficiency_breach]") -> None:
        text = CHARTER.format(when=when, module=self.module)
        (self.ws.charters_dir / f"{NAME}.yaml").write_text(text)
        self.accept_terms()

    def accept_terms(self) -> None:
        """The owner accepts the file's pending change, if any (change control, live charter)."""
        if list_changes(self.ws, NAME):
            accept_change(self.ws, NAME, None, by=OWNER)

    def trainer(self, source: str) -> None:
        (self.ws.root / f"{self.module}.py").write_text(source)

    def live_model(self, tmp: Path) -> int:
        train = rows(400, seed=99)
        y = (train["amount"] > 50).cast(pl.Int64)
        model = LogisticRegression().fit(train.select("amount").to_pandas(), y.to_numpy())
        path = tmp / "v1.joblib"
        joblib.dump(model, path)
        info = register_version(self.ws, NAME, path)
        with self.ws.db.session() as session:
            set_status(self.ws, session, NAME, info.version, "live")
        return info.version

    def land(self, frame: pl.DataFrame, file: str) -> None:
        folder = self.ws.root / "landing" / NAME
        folder.mkdir(parents=True, exist_ok=True)
        frame.write_parquet(folder / file)
        assert not ingest(self.ws, NAME).files_failed

    def label(self, frame: pl.DataFrame, file: str, *, inverted: bool = True) -> None:
        outcome = frame["amount"] < 50 if inverted else frame["amount"] > 50
        path = self.ws.root / "labels" / file
        path.parent.mkdir(parents=True, exist_ok=True)
        pl.DataFrame({"id": frame["id"], "outcome": outcome.cast(pl.Int64)}).write_parquet(path)
        ingest_labels(self.ws, NAME, path)

    def breached_week(self) -> pl.DataFrame:
        """Week 0 live, labelled against version 1: its window breaches the contract."""
        week = rows(200)
        self.land(week, "week0.parquet")
        self.label(week, "week0.parquet")
        monitor(self.ws, NAME)
        return week

    def ledger(self, action: str) -> list[dict[str, object]]:
        entries = self.ws.ledger.entries(charter=NAME)
        return [json.loads(e.payload) for e in entries if e.action == action]


@pytest.fixture
def rkit(ws: Workspace, tmp_path: Path) -> RetrainKit:
    kit = RetrainKit(ws, f"trainer_{uuid.uuid4().hex[:10]}")
    kit.charter()
    kit.trainer(GOOD_TRAINER)
    kit.live_model(tmp_path)
    return kit


def test_a_breach_trains_a_challenger_in_shadow_with_lineage(
    rkit: RetrainKit, capsys: pytest.CaptureFixture[str]
) -> None:
    rkit.breached_week()
    outcome = retrain(rkit.ws, NAME)
    assert outcome.status == "retrained", outcome.message
    assert outcome.triggers == ("sufficiency_breach",) and outcome.parent == 1
    assert outcome.version == 2 and outcome.rows == 200
    assert "training on 200 rows" not in capsys.readouterr().out
    info = get_version(rkit.ws, NAME, 2)
    assert info.status == "shadow" and info.flavor == "sklearn"
    recorded = info.lineage["metadata"]["retrain"]
    assert recorded["triggers"] == ["sufficiency_breach"]
    assert recorded["window"] == {
        "start": WEEK0.isoformat(),
        "end": (WEEK0 + timedelta(days=7)).isoformat(),
    }
    assert recorded["rows"] == 200 and recorded["parent_version"] == 1
    assert recorded["entrypoint"] == f"{rkit.module}:fit"
    data = info.lineage["training_data"]
    assert data["rows"] == 200 and len(data["sha256"]) == 64
    assert Path(data["path"]).is_file()
    assert get_version(rkit.ws, NAME, 1).status == "live"  # the live model is untouched
    assert rkit.ledger("retrain.completed")[0]["version"] == 2
    assert rkit.ws.ledger.verify().ok


def test_the_challenger_learned_the_new_world_and_is_scored_in_shadow(rkit: RetrainKit) -> None:
    rkit.breached_week()
    assert retrain(rkit.ws, NAME).status == "retrained"
    rkit.land(rows(50, start=WEEK0 + timedelta(days=7), seed=5), "week1.parquet")
    log = (
        read_predictions(rkit.ws, NAME)
        .filter(pl.col("event_time") >= WEEK0 + timedelta(days=7))
        .collect()
    )
    by_version = dict(log.group_by("model_status").len().iter_rows())
    assert by_version == {"live": 50, "shadow": 50}
    shadow = log.filter(pl.col("model_status") == "shadow").sort("key")
    low = shadow["inputs"].struct.field("amount") < 50
    assert ((shadow["score"] > 0.5) == low).mean() > 0.9  # type: ignore[operator]


def test_the_same_window_is_never_trained_on_twice(rkit: RetrainKit) -> None:
    rkit.breached_week()
    assert retrain(rkit.ws, NAME).status == "retrained"
    again = retrain(rkit.ws, NAME)
    assert again.status == "skipped" and "already trained on: version 2" in again.message
    by_hand = retrain(rkit.ws, NAME, manual=True)
    assert by_hand.status == "skipped"
    assert [v.version for v in list_versions(rkit.ws, NAME)] == [1, 2]
    assert len(rkit.ledger("retrain.completed")) == 1


def test_nothing_fires_on_a_passing_window(rkit: RetrainKit) -> None:
    week = rows(200)
    rkit.land(week, "week0.parquet")
    rkit.label(week, "week0.parquet", inverted=False)
    monitor(rkit.ws, NAME)
    outcome = retrain(rkit.ws, NAME)
    assert outcome.status == "not_triggered"
    assert len(list_versions(rkit.ws, NAME)) == 1


def test_a_failing_entrypoint_changes_nothing_and_is_recorded_and_alerted(
    rkit: RetrainKit,
) -> None:
    rkit.trainer("def fit(frame):\n    raise ValueError('the feature store is down')\n")
    rkit.breached_week()
    before = rkit.ws.ledger.entries(charter=NAME)[-1].seq
    outcome = retrain(rkit.ws, NAME)
    assert outcome.status == "failed"
    assert outcome.error is not None and outcome.error["type"] == "UserCodeError"
    assert outcome.error["cause"] == "ValueError: the feature store is down"
    assert [(v.version, v.status) for v in list_versions(rkit.ws, NAME)] == [(1, "live")]
    failed = rkit.ledger("retrain.failed")
    assert len(failed) == 1 and failed[0]["stage"] == "train"
    assert failed[0]["error"]["cause"] == "ValueError: the feature store is down"  # type: ignore[index]
    new_actions = [e.action for e in rkit.ws.ledger.entries(charter=NAME, since_seq=before)]
    assert "version.registered" not in new_actions and "version.status_changed" not in new_actions
    alerts = list_alerts(rkit.ws, NAME)
    assert [(a.event, a.rule) for a in alerts] == [("retrain_failed", "retrain")]
    assert alerts[0].id == outcome.alert_id
    # The trigger does not retry a failed window on every pass ...
    assert retrain(rkit.ws, NAME).status == "skipped"
    assert len(rkit.ledger("retrain.failed")) == 1
    # ... but a person who fixed the code can.
    rkit.trainer(GOOD_TRAINER)
    fixed = retrain(rkit.ws, NAME, manual=True)
    assert fixed.status == "retrained" and fixed.triggers == ("manual",)
    assert get_version(rkit.ws, NAME, 2).status == "shadow"


@pytest.mark.parametrize(
    ("source", "entrypoint", "stage", "message"),
    [
        (GOOD_TRAINER, "no_such_module_here:fit", "import", "does not import"),
        ("import numpy\nimport not_a_real_package\n", None, "import", "ModuleNotFoundError"),
        (GOOD_TRAINER.replace("def fit", "def train"), None, "import", "has no 'fit'"),
        ("def fit(frame):\n    return {'weights': [1, 2]}\n", None, "check", "not a fitted model"),
        (
            "from sklearn.linear_model import LogisticRegression\n"
            "def fit(frame):\n    return LogisticRegression()\n",
            None,
            "check",
            "cannot score",
        ),
        ("import sys\ndef fit(frame):\n    sys.exit(3)\n", None, "train", "SystemExit"),
    ],
    ids=["missing-module", "broken-import", "no-function", "not-a-model", "unfitted", "exit"],
)
def test_bad_entrypoints_are_refused_clearly(
    rkit: RetrainKit, source: str, entrypoint: str | None, stage: str, message: str
) -> None:
    rkit.trainer(source)
    if entrypoint is not None:
        path = rkit.ws.charters_dir / f"{NAME}.yaml"
        path.write_text(path.read_text().replace(f"{rkit.module}:fit", entrypoint))
        rkit.accept_terms()
    rkit.breached_week()
    outcome = retrain(rkit.ws, NAME)
    assert outcome.status == "failed"
    assert message in outcome.message
    assert rkit.ledger("retrain.failed")[0]["stage"] == stage
    assert len(list_versions(rkit.ws, NAME)) == 1


def test_the_training_frame_contract(rkit: RetrainKit) -> None:
    week = rkit.breached_week()
    assert retrain(rkit.ws, NAME).status == "retrained"  # version 2 now scores beside 1
    later = rows(30, start=WEEK0 + timedelta(days=7), seed=3)
    rkit.land(later, "week1.parquet")
    rkit.label(later, "week1.parquet")
    unlabelled = rows(20, start=WEEK0 + timedelta(days=1), seed=4)
    rkit.land(unlabelled, "late.parquet")
    charter = rkit.ws.load(NAME).charter
    frame = training_frame(rkit.ws, charter, WEEK0, WEEK0 + timedelta(days=7))
    assert list(frame.schema.items()) == [
        ("id", pl.String),
        ("event_at", pl.Datetime("us", "UTC")),
        ("amount", pl.Float64),
        ("channel", pl.String),
        ("outcome", pl.Int64),
    ]
    assert frame.height == 200  # one row per input row, labelled and in the window only
    assert frame["id"].n_unique() == 200 and set(frame["id"]) == set(week["id"])
    assert frame["event_at"].is_sorted()
    expected = dict(zip(week["id"], (week["amount"] < 50).cast(pl.Int64), strict=True))
    assert all(expected[k] == v for k, v in frame.select("id", "outcome").iter_rows())


def test_a_drift_breach_waits_for_labels_then_retrains(rkit: RetrainKit, tmp_path: Path) -> None:
    from charter.monitoring.reference import set_reference

    rkit.charter(when="[drift_breach]")
    reference = rows(500, seed=7).with_columns(outcome=(pl.col("amount") > 50).cast(pl.Int64))
    reference.drop("event_at").write_parquet(tmp_path / "reference.parquet")
    set_reference(rkit.ws, NAME, 1, tmp_path / "reference.parquet")
    shifted = rows(200, low=300, high=400)
    rkit.land(shifted, "week0.parquet")
    monitor(rkit.ws, NAME)
    waiting = retrain(rkit.ws, NAME)
    assert waiting.status == "skipped" and "waiting for labels" in waiting.message
    assert waiting.triggers == ("drift_breach",)
    rkit.label(shifted.with_columns(amount=pl.col("amount") - 300), "week0.parquet")
    monitor(rkit.ws, NAME)
    done = retrain(rkit.ws, NAME)
    assert done.status == "retrained", done.message
    assert get_version(rkit.ws, NAME, 2).lineage["metadata"]["retrain"]["triggers"] == [
        "drift_breach"
    ]


def test_schedule_retrains_once_per_labelled_window(rkit: RetrainKit) -> None:
    rkit.charter(when="[schedule]")
    week = rows(200)
    rkit.land(week, "week0.parquet")
    rkit.label(week, "week0.parquet", inverted=False)  # passing: only the schedule fires
    monitor(rkit.ws, NAME)
    assert retrain(rkit.ws, NAME).status == "retrained"
    assert retrain(rkit.ws, NAME).status == "not_triggered"
    later = rows(100, start=WEEK0 + timedelta(days=7), seed=8)
    rkit.land(later, "week1.parquet")
    rkit.label(later, "week1.parquet", inverted=False)
    monitor(rkit.ws, NAME)
    outcome = retrain(rkit.ws, NAME)
    assert outcome.status == "retrained" and outcome.version == 3
    assert outcome.window is not None and outcome.window.start == WEEK0 + timedelta(days=7)


def test_retrain_command_by_hand(rkit: RetrainKit, cli: object) -> None:
    rkit.breached_week()
    result = cli("retrain", NAME, "--json")  # type: ignore[operator]
    assert result.code == 0, result.stdout + result.stderr
    body = result.json()
    assert body["status"] == "retrained" and body["version"] == 2
    assert body["triggers"] == ["manual"] and body["parent_version"] == 1
    again = cli("retrain", NAME)  # type: ignore[operator]
    assert again.code == 0 and "already trained on: version 2" in again.stdout


def test_retrain_command_fails_clearly(rkit: RetrainKit, cli: object) -> None:
    rkit.trainer("def fit(frame):\n    raise RuntimeError('out of memory')\n")
    rkit.breached_week()
    result = cli("retrain", NAME)  # type: ignore[operator]
    assert result.code == 1
    assert "retraining failed (train)" in result.stdout
    assert "RuntimeError: out of memory" in result.stdout


def test_retrain_command_needs_a_policy_and_a_labelled_window(
    ws: Workspace, cli: object, tmp_path: Path
) -> None:
    result = cli("retrain", NAME)  # type: ignore[operator]  # the scaffold has no retrain policy
    assert result.code == 1 and "declares no operations.retrain" in result.stderr
    kit = RetrainKit(ws, "trainer_unused")
    kit.charter()
    result = cli("retrain", NAME, "--json")  # type: ignore[operator]
    assert result.code == 1
    assert "nothing to train on" in result.json()["error"]["message"]
