"""`charter init NAME --from-data FILE`: a data contract read off a sample, which then validates it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from charter.spec.loader import parse_charter

START = datetime(2026, 1, 1, tzinfo=UTC)


def _sample(rows: int = 40) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "claim_id": [f"c{i}" for i in range(rows)],
            "filed_at": [START + timedelta(hours=i) for i in range(rows)],
            "amount": [float(i * 100 / (rows - 1)) for i in range(rows)],  # 0 .. 100
            "age": [20 + i % 50 for i in range(rows)],  # 20 .. 59
            "balance": [-50.0 + i for i in range(rows)],  # -50 .. -11
            "region": ["north", "south", "no"] * (rows // 3) + ["north"] * (rows % 3),
            "notes": [None if i % 4 == 0 else f"n{i}" for i in range(rows)],  # 25% missing
            "fraud": [i % 2 for i in range(rows)],
            "loss": [i * 1.5 for i in range(rows)],
        }
    )


def _fields(cli: Any, workspace_dir: Path, *args: str) -> dict[str, Any]:
    result = cli("init", "claims", "--force", *args)
    assert result.code == 0, result.stderr
    text = (workspace_dir / "charters" / "claims.yaml").read_text()
    assert cli("check", "claims").code == 0
    charter = parse_charter(text).charter
    return {"charter": charter, "text": text}


def test_a_parquet_sample_becomes_a_reviewed_contract(
    cli: Any, workspace_dir: Path, tmp_path: Path
) -> None:
    path = tmp_path / "train.parquet"
    _sample().drop("loss").write_parquet(path)
    found = _fields(
        cli, workspace_dir, "--from-data", str(path), "--key", "claim_id", "--target", "fraud"
    )
    charter, text = found["charter"], found["text"]
    fields = charter.data.fields
    assert list(fields) == ["claim_id", "filed_at", "amount", "age", "balance", "region", "notes"]
    assert (fields["claim_id"].type, fields["claim_id"].unique, fields["claim_id"].nullable) == (
        "string",
        True,
        False,
    )
    assert fields["filed_at"].type == "datetime" and charter.data.event_time == "filed_at"
    # 10% of the observed range either side; a column never negative keeps 0 as its floor
    assert (fields["amount"].min, fields["amount"].max) == (0.0, 110.0)
    assert (fields["age"].type, fields["age"].min, fields["age"].max) == ("int", 16, 63)
    assert (fields["balance"].min, fields["balance"].max) == (-53.9, -7.1)
    assert fields["region"].allowed == ["no", "north", "south"]  # "no" stays a string
    assert fields["notes"].nullable and fields["notes"].max_null_fraction == 0.5
    assert fields["notes"].allowed is None or len(fields["notes"].allowed) == 30
    assert charter.task == "binary_classification"
    assert (charter.labels.key, charter.labels.target) == ("claim_id", "fraud")
    assert "fraud" not in fields  # the outcome arrives later, as labels
    assert "# 25.0% missing; allowed up to twice that" in text
    assert "observed 0 to 100, 10% margin in 40 rows of train.parquet" in text


def test_a_numeric_target_makes_a_regression_charter_from_csv(
    cli: Any, workspace_dir: Path, tmp_path: Path
) -> None:
    path = tmp_path / "train.csv"
    _sample().drop("fraud").with_columns(
        pl.col("filed_at").dt.to_string("%Y-%m-%dT%H:%M:%SZ")
    ).write_csv(path)
    found = _fields(
        cli,
        workspace_dir,
        "--from-data",
        str(path),
        "--key",
        "claim_id",
        "--event-time",
        "filed_at",
        "--target",
        "loss",
    )
    charter = found["charter"]
    assert charter.task == "regression"
    assert charter.data.fields["filed_at"].type == "datetime"
    assert charter.data.source.kind == "csv_dir"
    assert [m.metric for m in charter.sufficiency.metrics] == ["mae"]


@pytest.mark.parametrize(
    ("frame", "args", "message"),
    [
        (
            _sample().with_columns(claim_id=pl.lit("same")),
            ["--key", "claim_id"],
            "the key 'claim_id' has 0 missing and 39 repeated values",
        ),
        (_sample(), ["--key", "nope"], "--key nope: "),
        (_sample(), ["--key", "claim_id", "--event-time", "amount"], "holds float values"),
        (
            _sample().with_columns(fraud=pl.lit("maybe")),
            ["--key", "claim_id", "--target", "fraud"],
            "neither a 0/1 outcome, a number nor 3 to 50 classes",
        ),
        (
            _sample().with_columns(tags=pl.lit([1, 2])),
            ["--key", "claim_id"],
            "column 'tags' holds List(Int64)",
        ),
        (
            _sample().drop("filed_at"),
            ["--key", "claim_id"],
            "no column is obviously the event time",
        ),
    ],
    ids=[
        "duplicate-key",
        "missing-key",
        "event-time-not-a-time",
        "target",
        "list-column",
        "no-time",
    ],
)
def test_what_cannot_be_inferred_is_a_clear_error_and_writes_nothing(
    cli: Any,
    workspace_dir: Path,
    tmp_path: Path,
    frame: pl.DataFrame,
    args: list[str],
    message: str,
) -> None:
    path = tmp_path / "train.parquet"
    frame.write_parquet(path)
    result = cli("init", "claims", "--from-data", str(path), *args)
    assert result.code == 1
    assert message in result.stderr
    assert not (workspace_dir / "charters" / "claims.yaml").exists()


def test_the_inference_flags_need_a_sample(cli: Any) -> None:
    result = cli("init", "claims", "--key", "id")
    assert result.code == 1 and "go with --from-data FILE" in result.stderr


def test_the_inferred_contract_passes_its_sample_and_quarantines_what_breaks_it(
    cli: Any, workspace_dir: Path, tmp_path: Path
) -> None:
    sample = _sample().drop("loss")
    path = tmp_path / "train.parquet"
    sample.write_parquet(path)
    _fields(cli, workspace_dir, "--from-data", str(path), "--key", "claim_id", "--target", "fraud")
    landing = workspace_dir / "landing" / "claims"
    landing.mkdir(parents=True)
    sample.drop("fraud").write_parquet(landing / "a.parquet")
    first = cli("ingest", "claims", "--json")
    assert first.code == 0, first.stderr
    assert (first.json()["rows_in"], first.json()["rows_quarantined"]) == (40, 0)
    later = (
        sample.drop("fraud")
        .head(3)
        .with_columns(
            claim_id=pl.Series(["d0", "d1", "d2"]),
            amount=pl.Series([50.0, 500.0, 5.0]),  # 500 is past the inferred maximum (110)
            region=pl.Series(["north", "south", "east"]),  # east was never seen
        )
    )
    later.write_parquet(landing / "b.parquet")
    second = cli("ingest", "claims", "--json")
    assert second.code in (0, 5), second.stderr
    assert (second.json()["rows_in"], second.json()["rows_quarantined"]) == (3, 2)


def test_a_target_of_named_classes_makes_a_multiclass_charter(
    cli: Any, workspace_dir: Path, tmp_path: Path
) -> None:
    path = tmp_path / "train.parquet"
    kinds = ["retail", "fraud", "error"]
    _sample().drop("loss").with_columns(
        fraud=pl.Series([kinds[i % 3] for i in range(40)])
    ).write_parquet(path)
    found = _fields(
        cli, workspace_dir, "--from-data", str(path), "--key", "claim_id", "--target", "fraud"
    )
    charter = found["charter"]
    assert charter.task == "multiclass_classification"
    assert charter.labels.values == ["error", "fraud", "retail"]
    assert [r.metric for r in charter.sufficiency.metrics] == ["f1_macro", "recall[error]"]
