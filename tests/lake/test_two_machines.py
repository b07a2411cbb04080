"""Two workspaces (two machines) that share one database and one S3 lake see the same logs.

Machine A and machine B are two workspace folders with the same charter, pointed at one
database (SQLite file or PostgreSQL) by CHARTER_DATABASE_URL and at one bucket by
CHARTER_LAKE (the model artifacts are in the bucket too, so B scores with the version A
registered). Each ingests its own landing files and labels; each sees everything both logged.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from sklearn.metrics import roc_auc_score
from tests.lake.conftest import s3_keys
from tests.monitoring.conftest import WEEK0, MonitorKit

from charter.monitoring.service import monitor
from charter.plumbing.labels_store import read_labels
from charter.plumbing.predictions import read_predictions
from charter.plumbing.quarantine import quarantine_summary, quarantined_rows
from charter.settings import Settings
from charter.workspace import Workspace

pytestmark = pytest.mark.postgres


@pytest.fixture
def machines(
    ws: Workspace, model_file: Path, s3_lake: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[tuple[MonitorKit, MonitorKit]]:
    monkeypatch.setenv("CHARTER_LAKE", s3_lake)
    monkeypatch.setenv("CHARTER_ARTIFACTS", s3_lake.replace("/lake", "/artifacts"))
    ws.settings = Settings()
    a = MonitorKit(ws, model_file)
    a.write_charter()
    root_b = tmp_path / "machine-b"
    (root_b / "charters").mkdir(parents=True)
    shutil.copy(ws.charters_dir / "credit-default.yaml", root_b / "charters")
    b = MonitorKit(Workspace(root_b, settings=Settings()), model_file)
    yield a, b
    b.ws.close()


def _week(kit: MonitorKit, i: int, *, broken: int = 0) -> pl.DataFrame:
    frame = kit.world(400, 30 + i, start=WEEK0 + timedelta(days=7 * i))
    bad = pl.int_range(pl.len()) < broken
    return frame.with_columns(amount=pl.when(bad).then(-1.0).otherwise(pl.col("amount")))


def _windows(kit: MonitorKit) -> list[tuple[Any, ...]]:
    run = monitor(kit.ws, kit.name)
    return [
        (
            w.start,
            w.verdict,
            w.data["quality"]["rows"],
            w.data["labels"],
            w.data["rules"][0]["value"],
            w.data["drift"]["amount"]["psi"]["value"],
        )
        for w in run.windows
    ]


def test_two_workspaces_sharing_the_database_and_the_lake_see_the_same_logs(
    machines: tuple[MonitorKit, MonitorKit], s3_lake: str
) -> None:
    a, b = machines
    a.register("live")
    a.reference(1)
    weeks = [_week(a, 0, broken=3), _week(b, 1, broken=2)]
    a.land("week0.parquet", weeks[0])
    b.land("week1.parquet", weeks[1])  # B scores with the version A registered
    for kit, i in ((a, 0), (b, 1)):
        kept = weeks[i].filter(pl.col("amount") >= 0)
        kit.labels(f"w{i}.parquet", kept["id"].to_list(), kit.true_outcome(kept, 30 + i))

    on_a, on_b = (read_predictions(m.ws, m.name).collect().sort("prediction_id") for m in (a, b))
    assert on_a.height == 400 - 3 + 400 - 2
    assert on_a.equals(on_b)
    assert set(on_a["model_version"]) == {"1"}
    expected_keys = set(weeks[0]["id"][3:]) | set(weeks[1]["id"][2:])
    assert set(on_b["key"]) == expected_keys

    assert quarantine_summary(a.ws, a.name).to_dict() == quarantine_summary(b.ws, b.name).to_dict()
    rows = quarantined_rows(b.ws, b.name, limit=None)
    assert sorted(r["values"]["id"] for r in rows) == sorted(
        [*weeks[0]["id"][:3], *weeks[1]["id"][:2]]
    )
    assert read_labels(a.ws, a.name).sort("key").equals(read_labels(b.ws, b.name).sort("key"))

    from_a, from_b = _windows(a), _windows(b)
    assert from_a == from_b
    assert [w[2] for w in from_a] == [397, 398]  # every logged row, whichever machine logged it
    assert [w[3]["labelled"] for w in from_a] == [397, 398]
    for i, window in enumerate(from_a):  # the AUC, computed here from the log and the truth
        kept = weeks[i].filter(pl.col("amount") >= 0)
        truth = dict(zip(kept["id"], a.true_outcome(kept, 30 + i), strict=True))
        scored = on_a.filter(pl.col("key").is_in(list(truth)))
        auc = roc_auc_score([truth[k] for k in scored["key"]], scored["score"].to_numpy())
        assert window[4] == pytest.approx(auc, abs=1e-9)

    # Neither machine keeps a log of its own: everything is in the bucket.
    for kit in (a, b):
        assert not (kit.ws.state_dir / "predictions").exists()
        assert not (kit.ws.state_dir / "labels").exists()
    keys = s3_keys(s3_lake)
    assert sum(k.startswith("labels/credit-default/") for k in keys) == 2
