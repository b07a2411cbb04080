"""Labels: late, duplicated, corrected and unknown-key ground truth, joined to predictions by key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl
import pytest

from charter.errors import CharterError, DataError
from charter.plumbing.ingest import ingest
from charter.plumbing.labels import ingest_labels, labelled_predictions, read_labels

pytestmark = pytest.mark.usefixtures("kit")


def _labels(tmp_path: Path, name: str, ids: list[str | None], outcomes: list[Any]) -> Path:
    path = tmp_path / name
    frame = pl.DataFrame({"id": ids, "outcome": outcomes})
    if name.endswith(".csv"):
        frame.write_csv(path)
    elif name.endswith(".jsonl"):
        frame.write_ndjson(path)
    else:
        frame.write_parquet(path)
    return path


def test_labels_join_predictions_by_key(kit: Any, tmp_path: Path) -> None:
    kit.write("day1.parquet", kit.rows(0, 10))
    ingest(kit.ws, kit.name)
    report = ingest_labels(
        kit.ws, kit.name, _labels(tmp_path, "l.parquet", ["k1", "k2", "k3"], [1, 0, 1])
    )
    data = report.to_dict()
    assert (data["rows_in"], data["labels_new"], data["unknown_keys"]) == (3, 3, 0)
    assert data["coverage"] == 0.3
    joined = labelled_predictions(kit.ws, kit.name).collect().sort("key")
    assert joined.filter(pl.col("key") == "k2")["label"].to_list() == [0.0]
    assert joined.filter(pl.col("key") == "k5")["label"].to_list() == [None]


def test_duplicates_corrections_unknown_keys_and_invalid_rows_are_counted(
    kit: Any, tmp_path: Path
) -> None:
    kit.write("day1.parquet", kit.rows(0, 5))
    ingest(kit.ws, kit.name)
    ingest_labels(kit.ws, kit.name, _labels(tmp_path, "a.csv", ["k0", "k1"], ["1", "0"]))
    second = _labels(
        tmp_path, "b.csv", ["k0", "k1", "k1", "zz9", None, "k2"], ["1", "1", "1", "0", "1", "maybe"]
    )
    data = ingest_labels(kit.ws, kit.name, second).to_dict()
    assert data["rows_in"] == 6
    assert data["invalid"] == 2  # a missing key, a label that is not a number
    assert data["labels_changed"] == 1  # k1: 0 -> 1
    assert data["labels_new"] == 1  # zz9
    assert data["unknown_keys"] == 1  # zz9 has no prediction (yet)
    assert data["duplicates"] == 2  # k0 again, the second k1 row
    labels = dict(read_labels(kit.ws, kit.name).iter_rows())
    assert labels == {"k0": 1.0, "k1": 1.0, "zz9": 0.0}


def test_the_same_delivery_is_recorded_once(kit: Any, tmp_path: Path, cli: Any) -> None:
    path = _labels(tmp_path, "l.jsonl", ["k1"], [True])
    first = cli("labels", kit.name, str(path), "--json")
    assert first.code == 0 and first.json()["labels_new"] == 1
    again = cli("labels", kit.name, str(path), "--json")
    assert again.code == 0 and again.json()["batches"] == []
    assert "no new labels" in cli("labels", kit.name, str(path)).stdout


def test_labels_arriving_before_their_prediction_join_later(kit: Any, tmp_path: Path) -> None:
    ingest_labels(kit.ws, kit.name, _labels(tmp_path, "early.parquet", ["k7"], [1]))
    kit.write("day1.parquet", kit.rows(0, 10))
    ingest(kit.ws, kit.name)
    joined = labelled_predictions(kit.ws, kit.name).collect()
    assert joined.filter(pl.col("key") == "k7")["label"].to_list() == [1.0]


def test_a_label_file_without_the_target_column_fails_clearly(
    kit: Any, tmp_path: Path, cli: Any
) -> None:
    path = tmp_path / "bad.parquet"
    pl.DataFrame({"id": ["k1"], "result": [1]}).write_parquet(path)
    result = cli("labels", kit.name, str(path), "--json")
    assert result.code == 5  # it ran; the failed delivery needs attention
    assert "no column 'outcome'" in result.json()["files_failed"][0]["error"]
    with pytest.raises(DataError, match="does not exist"):
        ingest_labels(kit.ws, kit.name, tmp_path / "missing.csv")


def test_labels_from_the_charter_source_folder_are_read_incrementally(
    kit: Any, tmp_path: Path
) -> None:
    folder = kit.ws.root / "landing" / "labels"
    folder.mkdir(parents=True)
    kit.edit(
        r"labels: \{key: id, target: outcome\}",
        "labels: {key: id, target: outcome, source: {kind: csv_dir, path: landing/labels/}}",
    )
    pl.DataFrame({"id": ["k1", "k2"], "outcome": [1, 0]}).write_csv(folder / "w1.csv")
    assert ingest_labels(kit.ws, kit.name).total("labels_new") == 2
    assert ingest_labels(kit.ws, kit.name).batches == []
    pl.DataFrame({"id": ["k3"], "outcome": [1]}).write_csv(folder / "w2.csv")
    assert ingest_labels(kit.ws, kit.name).total("labels_new") == 1
    assert kit.ws.ledger.verify().ok


def test_no_file_and_no_source_is_a_clear_error(kit: Any) -> None:
    with pytest.raises(CharterError, match=r"declares no labels\.source"):
        ingest_labels(kit.ws, kit.name)
