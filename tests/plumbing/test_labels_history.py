"""Corrections: a changed file is a new delivery, a corrected key keeps its previous label in the
log, ``charter label-history`` shows it, and monitoring judges by the newest label per key."""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
from sklearn.metrics import roc_auc_score

from charter.monitoring.service import monitor
from charter.plumbing.ingest import ingest
from charter.plumbing.labels import ingest_labels, read_labels
from charter.plumbing.sources import file_fingerprint

pytestmark = pytest.mark.usefixtures("kit")


def _write(path: Path, ids: list[str], outcomes: list[int]) -> Path:
    pl.DataFrame({"id": ids, "outcome": outcomes}).write_csv(path)
    return path


def test_a_file_corrected_under_the_same_path_is_a_new_delivery(
    kit: Any, tmp_path: Path, cli: Any
) -> None:
    path = _write(tmp_path / "l.csv", ["k0", "k1"], [0, 1])
    assert cli("labels", kit.name, str(path), "--json").json()["labels_new"] == 2

    _write(path, ["k0", "k1"], [1, 1])
    fixed = cli("labels", kit.name, str(path), "--json").json()
    assert (fixed["labels_changed"], fixed["duplicates"]) == (1, 1)

    _write(path, ["k0", "k1"], [0, 1])  # back to the first content: still a new delivery
    back = cli("labels", kit.name, str(path), "--json").json()
    assert back["labels_changed"] == 1
    assert dict(read_labels(kit.ws, kit.name).iter_rows()) == {"k0": 0.0, "k1": 1.0}
    assert cli("labels", kit.name, str(path), "--json").json()["batches"] == []  # unchanged


def test_a_landing_file_rewritten_with_the_same_size_and_time_is_read_again(
    kit: Any,
) -> None:
    folder = kit.ws.root / "landing" / "labels"
    folder.mkdir(parents=True)
    kit.edit(
        r"labels: \{key: id, target: outcome\}",
        "labels: {key: id, target: outcome, source: {kind: csv_dir, path: landing/labels/}}",
    )
    path = _write(folder / "w1.csv", ["k0", "k1"], [0, 1])
    stat = path.stat()
    assert ingest_labels(kit.ws, kit.name).total("labels_new") == 2

    _write(path, ["k0", "k1"], [1, 1])  # same size; a copy that kept the old time
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    report = ingest_labels(kit.ws, kit.name)

    assert report.total("labels_changed") == 1
    assert dict(read_labels(kit.ws, kit.name).iter_rows()) == {"k0": 1.0, "k1": 1.0}
    assert ingest_labels(kit.ws, kit.name).batches == []
    assert kit.ws.ledger.verify().ok


def test_label_history_shows_each_label_and_what_superseded_it(
    kit: Any, tmp_path: Path, cli: Any
) -> None:
    first = cli("labels", kit.name, str(_write(tmp_path / "a.csv", ["k0", "k1"], [0, 1])), "--json")
    second = cli("labels", kit.name, str(_write(tmp_path / "b.csv", ["k0"], [1])), "--json")
    cli("labels", kit.name, str(_write(tmp_path / "c.csv", ["k0", "k1"], [1, 1])), "--json")
    third = cli("labels", kit.name, str(_write(tmp_path / "d.csv", ["k9", "k0"], [1, 0])), "--json")
    a, b, d = (r.json()["batches"][0]["batch_id"] for r in (first, second, third))

    result = cli("label-history", kit.name, "k0", "--json")

    assert result.code == 0, result.stderr
    data = result.json()
    assert (data["key"], data["current"], data["corrections"]) == ("k0", 0.0, 2)
    entries = [
        (e["label"], e["previous"], e["change"], e["batch_id"], e["superseded_by"], e["row"])
        for e in data["entries"]
    ]
    assert entries == [
        (0.0, None, "new", a, b, 0),
        (1.0, 0.0, "corrected", b, d, 0),  # c.csv sent k0 = 1 again: a duplicate, not history
        (0.0, 1.0, "corrected", d, None, 1),
    ]
    assert data["entries"][1]["source"].endswith("b.csv")
    human = cli("label-history", kit.name, "k0").stdout
    assert "corrected 1 -> 0 (current)" in human and "label 0 (superseded)" in human
    none = cli("label-history", kit.name, "nope", "--json")
    assert none.code == 0 and none.json()["entries"] == [] and none.json()["current"] is None
    assert "no label recorded for key 'nope'" in cli("label-history", kit.name, "nope").stdout


def test_a_corrected_label_changes_the_realized_metric(kit: Any, tmp_path: Path) -> None:
    kit.edit(r"  fields:\n", "  prediction: {column: p}\n  fields:\n")
    kit.edit(r"    id: ", "    p:        {type: float, min: 0, max: 1}\n    id: ")
    kit.edit(r"min_labels: 200", "min_labels: 10")
    rng = np.random.default_rng(7)
    n, t0 = 300, datetime(2024, 3, 1, 8)
    scores = rng.uniform(0, 1, n)
    rows = kit.rows(0, n).with_columns(
        p=pl.Series(scores), event_at=pl.Series([t0 + timedelta(minutes=i) for i in range(n)])
    )
    kit.write("a.parquet", rows)
    ingest(kit.ws, kit.name)
    truth = (rng.uniform(0, 1, n) < scores).astype(int)
    keys = rows["id"].to_list()
    path = tmp_path / "labels.parquet"
    pl.DataFrame({"id": keys, "outcome": truth}).write_parquet(path)
    ingest_labels(kit.ws, kit.name, path)
    (before,) = monitor(kit.ws, kit.name).windows
    assert before.data["metrics"]["realized"]["roc_auc"] == pytest.approx(
        roc_auc_score(truth, scores), abs=1e-12
    )

    corrected = truth.copy()
    corrected[:60] = 1 - corrected[:60]  # the sender fixes 60 labels and sends the file again
    pl.DataFrame({"id": keys, "outcome": corrected}).write_parquet(path)
    assert ingest_labels(kit.ws, kit.name, path).total("labels_changed") == 60
    (after,) = monitor(kit.ws, kit.name).windows

    expected = roc_auc_score(corrected, scores)
    assert expected != pytest.approx(roc_auc_score(truth, scores), abs=1e-3)
    assert after.data["metrics"]["realized"]["roc_auc"] == pytest.approx(expected, abs=1e-12)


def test_a_run_that_lost_the_race_to_commit_skips_the_delivery(
    kit: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from charter.plumbing import label_delivery

    path = _write(tmp_path / "l.csv", ["k0", "k1"], [0, 1])
    charter = kit.ws.load(kit.name).charter
    stale = label_delivery.LabelState(kit.ws, kit.name)  # read before the other run committed
    assert ingest_labels(kit.ws, kit.name, path).total("labels_new") == 2
    real, looks = label_delivery._recorded, []

    def recorded(*args: Any) -> bool:
        looks.append(args)  # the first look (outside the commit) misses the other run's commit
        return len(looks) > 1 and real(*args)

    monkeypatch.setattr(label_delivery, "_recorded", recorded)
    delivery = label_delivery.Delivery(
        f"file:{path.resolve()}", file_fingerprint(path), lambda: pl.read_csv(path)
    )

    assert label_delivery.record(kit.ws, charter, stale, delivery) is None
    assert len(looks) == 2  # the second look, inside the commit's lock, found it

    assert dict(read_labels(kit.ws, kit.name).iter_rows()) == {"k0": 0.0, "k1": 1.0}
    assert kit.ws.ledger.verify().ok
