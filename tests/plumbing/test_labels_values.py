"""Label values: invalid labels are quarantined with their rows and reasons; a binary target takes
only the two values of ``labels.values``, and a delivery coded otherwise is refused whole."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import sqlalchemy as sa

from charter.errors import CharterFileError
from charter.plumbing.labels import ingest_labels, read_labels
from charter.store.tables import AuditEntry

pytestmark = pytest.mark.usefixtures("kit")


def _csv(tmp_path: Path, name: str, ids: list[str | None], outcomes: list[str | None]) -> Path:
    path = tmp_path / name
    frame = pl.DataFrame(
        {"id": ids, "outcome": outcomes}, schema={"id": pl.String, "outcome": pl.String}
    )
    frame.write_csv(path)
    return path


def test_yes_and_no_for_a_0_1_target_are_quarantined_with_rows_values_and_reasons(
    kit: Any, tmp_path: Path, cli: Any
) -> None:
    path = _csv(
        tmp_path,
        "l.csv",
        ["k0", "k1", "k2", "k3", None, "k5", "k6"],
        ["1", "yes", "0", "no", "1", "", "true"],
    )

    result = cli("labels", kit.name, str(path), "--json")

    assert result.code == 5, result.stdout + result.stderr  # ran, but labels need attention
    data = result.json()
    assert (data["rows_in"], data["labels_new"], data["invalid"]) == (7, 3, 4)
    assert data["quarantined"] == 4
    assert [(a["kind"], a["rows"]) for a in data["attention"]] == [("labels_quarantined", 4)]
    assert data["invalid_by_reason"] == {
        "label.not_allowed": 2,
        "key.missing": 1,
        "label.missing": 1,
    }
    examples = data["batches"][0]["invalid_examples"]
    assert [(e["row"], e["key"], e["value"], e["reason"]) for e in examples] == [
        (1, "k1", "yes", "label.not_allowed"),
        (3, "k3", "no", "label.not_allowed"),
        (4, None, "1", "key.missing"),
        (5, "k5", "", "label.missing"),
    ]
    assert dict(read_labels(kit.ws, kit.name).iter_rows()) == {"k0": 1.0, "k2": 0.0, "k6": 1.0}
    with kit.ws.db.read() as session:
        payload = session.scalars(
            sa.select(AuditEntry.payload).where(AuditEntry.action == "labels.ingested")
        ).one()
    entry = json.loads(payload)
    assert (entry["quarantined"], entry["invalid_by_reason"]["key.missing"]) == (4, 1)

    human = cli("labels", kit.name, str(_csv(tmp_path, "m.csv", ["k9"], ["maybe"]))).stdout
    assert "quarantined 1 invalid labels: 1 x label.not_allowed" in human
    assert "row 0: key='k9' value='maybe' (label.not_allowed)" in human


def test_the_label_quarantine_lists_every_invalid_label_by_reason_and_delivery(
    kit: Any, tmp_path: Path, cli: Any
) -> None:
    ingest_labels(kit.ws, kit.name, _csv(tmp_path, "a.csv", ["k0", "k1"], ["yes", "1"]))
    ingest_labels(kit.ws, kit.name, _csv(tmp_path, "b.csv", ["k2", "k3", None], ["no", "x", "0"]))

    result = cli("quarantine", kit.name, "labels", "--json")

    assert result.code == 0, result.stderr
    data = result.json()
    assert data["rows"] == 4
    assert data["by_reason"] == {"label.not_allowed": 3, "key.missing": 1}
    assert [b["rows"] for b in data["batches"]] == [1, 3]
    assert [(r["key"], r["value"]) for r in data["examples"]] == [
        ("k0", "yes"),
        ("k2", "no"),
        ("k3", "x"),
        (None, "0"),
    ]
    second = data["batches"][1]["batch_id"]
    only = cli("quarantine", kit.name, "labels", "--batch", second[:10], "--json").json()
    assert only["rows"] == 3 and {r["batch_id"] for r in only["examples"]} == {second}
    assert "1 x key.missing" in cli("quarantine", kit.name, "labels").stdout
    # the data quarantine is a different thing, and still answers as before
    assert cli("quarantine", kit.name, "list", "--json").json()["rows"] == 0


def test_a_0_2_target_is_refused_naming_the_values_found(
    kit: Any, tmp_path: Path, cli: Any
) -> None:
    path = _csv(tmp_path, "l.csv", ["k0", "k1", "k2", "k3"], ["0", "2", "2", "0"])

    result = cli("labels", kit.name, str(path), "--json")

    assert result.code == 5  # ran, but the delivery needs attention
    data = result.json()
    (failed,) = data["files_failed"]
    assert "holds the values 0 x 2, 2 x 2" in failed["error"]
    assert "labels.values allows only 0, 1" in failed["error"]
    assert "first at rows 1, 2" in failed["error"]
    assert data["deliveries_refused"] == 1 and data["batches"] == []
    assert read_labels(kit.ws, kit.name).height == 0  # not even the 0s: one class would bias


def test_declared_values_are_recorded_as_0_and_1(kit: Any, tmp_path: Path, cli: Any) -> None:
    kit.edit(
        r"labels: \{key: id, target: outcome\}",
        "labels: {key: id, target: outcome, values: [0, 2]}",
    )
    path = _csv(tmp_path, "l.csv", ["k0", "k1", "k2"], ["0", "2", "2.0"])
    assert cli("labels", kit.name, str(path), "--json").json()["labels_new"] == 3

    kit.edit(r"values: \[0, 2\]", "values: [no, 'Yes']")
    path = _csv(tmp_path, "m.csv", ["k3", "k4", "k5", "k6"], ["YES", " no", "1", "maybe"])
    result = cli("labels", kit.name, str(path), "--json")
    assert result.code == 5  # "1" is a number outside [no, Yes]: the delivery is refused whole
    assert "labels.values allows only no, yes" in result.json()["files_failed"][0]["error"]
    path = _csv(tmp_path, "n.csv", ["k3", "k4", "k6"], ["YES", " no", "maybe"])
    data = cli("labels", kit.name, str(path), "--json").json()
    assert (data["labels_new"], data["invalid_by_reason"]) == (2, {"label.not_allowed": 1})

    labels = dict(read_labels(kit.ws, kit.name).iter_rows())
    assert labels == {"k0": 0.0, "k1": 1.0, "k2": 1.0, "k3": 1.0, "k4": 0.0}


def test_booleans_are_0_and_1_for_a_default_binary_target(kit: Any, tmp_path: Path) -> None:
    path = tmp_path / "l.parquet"
    pl.DataFrame({"id": ["k0", "k1"], "outcome": [True, False]}).write_parquet(path)
    ingest_labels(kit.ws, kit.name, path)
    assert dict(read_labels(kit.ws, kit.name).iter_rows()) == {"k0": 1.0, "k1": 0.0}


def test_a_regression_target_takes_any_finite_number(kit: Any, tmp_path: Path) -> None:
    kit.edit(r"task: binary_classification", "task: regression")
    kit.edit(
        r"    - \{metric: roc_auc[^\n]*\n    - \{metric: recall[^\n]*\n",
        "    - {metric: mae, at_most: 5}\n",
    )
    path = _csv(tmp_path, "l.csv", ["k0", "k1", "k2", "k3"], ["2.5", "inf", "x", "-7"])
    report = ingest_labels(kit.ws, kit.name, path).to_dict()
    assert report["invalid_by_reason"] == {"label.not_a_number": 2}
    assert dict(read_labels(kit.ws, kit.name).iter_rows()) == {"k0": 2.5, "k3": -7.0}


@pytest.mark.parametrize(
    ("values", "task", "problem"),
    [
        ("[0, 1, 2]", "binary_classification", "labels.values: give exactly two values"),
        ("[1, 1.0]", "binary_classification", "labels.values: the values must differ: 1 given"),
        ("[0, 1]", "regression", "labels.values: applies to classification only"),
        ("[a, b]", "multiclass_classification", "labels.values: multiclass_classification needs"),
    ],
)
def test_labels_values_are_checked_in_the_charter(
    kit: Any, values: str, task: str, problem: str
) -> None:
    kit.edit(
        r"labels: \{key: id, target: outcome\}",
        f"labels: {{key: id, target: outcome, values: {values}}}",
    )
    kit.edit(r"task: binary_classification", f"task: {task}")
    if task == "regression":
        kit.edit(
            r"    - \{metric: roc_auc[^\n]*\n    - \{metric: recall[^\n]*\n",
            "    - {metric: mae, at_most: 5}\n",
        )
    with pytest.raises(CharterFileError) as caught:
        kit.ws.load(kit.name)
    assert any(p.startswith(problem) for p in caught.value.problems), caught.value.problems


def test_a_refused_sql_batch_keeps_the_cursor_before_it(kit: Any, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'outcomes.db'}"
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE outcomes (seq INTEGER, id TEXT, outcome TEXT)"))
        conn.execute(sa.text("INSERT INTO outcomes VALUES (1, 'k0', '1'), (2, 'k1', 'yes')"))
    source = f"{{kind: sql, url: '{url}', table: outcomes, cursor: seq, batch_rows: 2}}"
    kit.edit(
        r"labels: \{key: id, target: outcome\}",
        f"labels: {{key: id, target: outcome, source: {source}}}",
    )
    first = ingest_labels(kit.ws, kit.name).to_dict()
    assert (first["labels_new"], first["quarantined"]) == (1, 1)

    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO outcomes VALUES (3, 'k2', '2'), (4, 'k3', '0')"))
        conn.execute(sa.text("INSERT INTO outcomes VALUES (5, 'k4', '1')"))
    refused = ingest_labels(kit.ws, kit.name).to_dict()
    assert refused["deliveries_refused"] == 1 and refused["batches"] == []
    assert "holds the values 2 x 1, 0 x 1" in refused["files_failed"][0]["error"]

    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE outcomes SET outcome = '1' WHERE seq = 3"))
    fixed = ingest_labels(kit.ws, kit.name).to_dict()
    engine.dispose()
    assert fixed["files_failed"] == [] and fixed["labels_new"] == 3  # k2, k3, then k4
    labels = dict(read_labels(kit.ws, kit.name).iter_rows())
    assert labels == {"k0": 1.0, "k2": 1.0, "k3": 0.0, "k4": 1.0}


def test_a_refused_landing_file_waits_for_new_content_or_an_explicit_send(
    kit: Any, tmp_path: Path
) -> None:
    folder = kit.ws.root / "landing" / "labels"
    folder.mkdir(parents=True)
    kit.edit(
        r"labels: \{key: id, target: outcome\}",
        "labels: {key: id, target: outcome, source: {kind: csv_dir, path: landing/labels/}}",
    )
    path = _csv(folder, "w1.csv", ["k0", "k1"], ["0", "2"])
    assert len(ingest_labels(kit.ws, kit.name).files_failed) == 1
    assert ingest_labels(kit.ws, kit.name).to_dict()["files_failed"] == []  # not re-read

    kit.edit(r"target: outcome, source", "target: outcome, values: [0, 2], source")
    assert ingest_labels(kit.ws, kit.name, path).total("labels_new") == 2
    assert dict(read_labels(kit.ws, kit.name).iter_rows()) == {"k0": 0.0, "k1": 1.0}
