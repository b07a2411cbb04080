"""Ingestion on SQLite and PostgreSQL: incremental, exactly once, every row accounted for."""

from __future__ import annotations

import json
import os
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import sqlalchemy as sa

from charter.plumbing.ingest import ingest
from charter.plumbing.predictions import LOG_COLUMNS, committed_files, watermark
from charter.store.tables import AuditEntry, IngestBatch, IngestFile

pytestmark = pytest.mark.postgres
T0 = datetime(2024, 3, 1, 8, 0)  # the first event time of kit.rows


def assert_balanced(report: dict[str, Any]) -> None:
    for batch in report["batches"]:
        assert batch["rows_in"] == batch["rows_scored"] + batch["rows_quarantined"], batch
    assert report["rows_in"] == report["rows_scored"] + report["rows_quarantined"]


def test_new_files_are_ingested_once_and_a_rerun_processes_nothing(kit: Any) -> None:
    kit.write("day1.parquet", kit.rows(0, 50))
    kit.write("day2.parquet", kit.rows(50, 30, hours=1))

    first = ingest(kit.ws, kit.name).to_dict()
    again = ingest(kit.ws, kit.name).to_dict()

    assert (first["rows_in"], first["rows_scored"], first["rows_quarantined"]) == (80, 80, 0)
    assert [b["file"] for b in first["batches"]] == ["day1.parquet", "day2.parquet"]
    assert_balanced(first)
    assert again["batches"] == [] and again["rows_in"] == 0
    log = kit.predictions()
    assert log.height == 80
    assert log["key"].n_unique() == 80
    assert log["prediction_id"].n_unique() == 80
    assert log.columns == [*LOG_COLUMNS, "inputs"]
    inputs = log.select(pl.col("inputs").struct.unnest())  # the model inputs, for drift
    assert inputs.columns == ["amount", "channel"]


def test_files_landing_later_are_picked_up_incrementally(kit: Any) -> None:
    kit.write("a.parquet", kit.rows(0, 10))
    ingest(kit.ws, kit.name)
    kit.write("b.parquet", kit.rows(10, 5, hours=1))

    report = ingest(kit.ws, kit.name).to_dict()

    assert [b["file"] for b in report["batches"]] == ["b.parquet"]
    assert kit.predictions().height == 15


def test_prediction_ids_are_the_batch_id_and_row_index(kit: Any) -> None:
    kit.write("a.parquet", kit.rows(0, 3))
    (batch,) = ingest(kit.ws, kit.name).batches
    log = kit.predictions().sort("prediction_id")
    assert log["prediction_id"].to_list() == [f"{batch.batch_id}-{i}" for i in range(3)]
    assert log["batch_id"].unique().to_list() == [batch.batch_id]
    assert log["model_version"].null_count() == 3  # no live or shadow version yet


def test_failing_rows_go_to_quarantine_with_every_rule_they_broke(kit: Any) -> None:
    frame = kit.rows(0, 6).with_columns(
        pl.when(pl.col("id") == "k1").then(-5.0).otherwise(pl.col("amount")).alias("amount"),
        pl.when(pl.col("id").is_in(["k1", "k2"]))
        .then(pl.lit("fax"))
        .otherwise(pl.col("channel"))
        .alias("channel"),
    )
    kit.write("a.parquet", frame)

    (batch,) = ingest(kit.ws, kit.name).to_dict()["batches"]

    assert (batch["rows_in"], batch["rows_scored"], batch["rows_quarantined"]) == (6, 4, 2)
    assert batch["violations"] == {"channel.allowed": 2, "amount.min": 1}
    quarantined = kit.quarantine().sort("id")
    assert quarantined["id"].to_list() == ["k1", "k2"]
    assert quarantined["_violations"].to_list() == [
        ["amount.min", "channel.allowed"],
        ["channel.allowed"],
    ]
    assert quarantined["_row"].to_list() == [1, 2]


def test_a_key_seen_in_an_earlier_batch_is_quarantined_not_logged_twice(kit: Any) -> None:
    kit.write("a.parquet", kit.rows(0, 5))
    ingest(kit.ws, kit.name)
    kit.write("b.parquet", kit.rows(3, 5, hours=0.1))  # k3 and k4 again

    (batch,) = ingest(kit.ws, kit.name).to_dict()["batches"]

    assert batch["violations"] == {"id.unique_across_batches": 2}
    assert kit.predictions()["key"].n_unique() == kit.predictions().height == 8


def test_the_same_bytes_under_another_name_are_not_ingested_again(kit: Any) -> None:
    path = kit.write("a.parquet", kit.rows(0, 5))
    ingest(kit.ws, kit.name)
    (kit.landing / "copy.parquet").write_bytes(path.read_bytes())

    report = ingest(kit.ws, kit.name).to_dict()

    assert report["batches"] == []
    assert "already ingested" in report["files_skipped"][0]["reason"]
    assert kit.predictions().height == 5


def test_late_rows_are_scored_logged_and_flagged_never_dropped(kit: Any) -> None:
    kit.write("a.parquet", kit.rows(0, 10, hours=10))  # watermark: T0 + 10h + 9min
    ingest(kit.ws, kit.name)
    # max_lateness is 2h: events before T0 + 8h09 are late.
    late_and_fresh = pl.concat([kit.rows(100, 4, hours=1), kit.rows(200, 3, hours=9)])
    kit.write("b.parquet", late_and_fresh)

    (batch,) = ingest(kit.ws, kit.name).to_dict()["batches"]

    assert (batch["rows_in"], batch["rows_scored"], batch["rows_late"]) == (7, 7, 4)
    log = kit.predictions().filter(pl.col("batch_id") == batch["batch_id"])
    assert sorted(log.filter("late")["key"].to_list()) == ["k100", "k101", "k102", "k103"]
    newest = watermark(kit.ws, kit.name)
    assert newest is not None and newest.tzinfo is not None


def test_csv_and_json_lines_sources_are_validated_as_text(kit: Any) -> None:
    kit.set_source("{kind: csv_dir, path: landing/credit-default/}")
    frame = kit.rows(0, 4).with_columns(pl.col("amount").cast(pl.String))
    frame = frame.with_columns(
        pl.when(pl.col("id") == "k2").then(pl.lit("lots")).otherwise("amount").alias("amount")
    )
    kit.write("a.csv", frame)

    (batch,) = ingest(kit.ws, kit.name).to_dict()["batches"]

    assert batch["violations"] == {"amount.type": 1}
    log = kit.predictions()
    assert log.schema["inputs"] == pl.Struct({"amount": pl.Float64, "channel": pl.String})
    assert log.schema["event_time"] == pl.Datetime("us", "UTC")

    kit.set_source("{kind: jsonl_dir, path: landing/credit-default/}")
    kit.write("b.jsonl", kit.rows(10, 3, hours=0.5))
    (batch,) = ingest(kit.ws, kit.name).to_dict()["batches"]
    assert (batch["rows_in"], batch["rows_scored"]) == (3, 3)


def test_a_file_read_in_chunks_gives_the_same_log_as_one_read(kit: Any, tmp_path: Path) -> None:
    frame = kit.rows(0, 95).with_columns(
        pl.when(pl.col("id").is_in(["k7", "k70"])).then(-1.0).otherwise("amount").alias("amount")
    )
    frame = pl.concat([frame, kit.rows(40, 1)])  # a duplicate key in a later chunk
    kit.write("a.parquet", frame)

    (batch,) = ingest(kit.ws, kit.name, chunk_rows=10).to_dict()["batches"]

    assert (batch["rows_in"], batch["rows_scored"], batch["rows_quarantined"]) == (96, 93, 3)
    # the repeat of k40 is a duplicate within the batch, wherever the file was cut
    assert batch["violations"] == {"amount.min": 2, "id.unique": 1}
    assert {r["rule"]: r["observed"] for r in batch["batch_rules"]}["volume.min_rows"] == 96
    assert len(batch["predictions"]) == 10  # one part per chunk, all listed in the record
    assert batch["predictions"][0].endswith(".part-00000.parquet")
    log = kit.predictions()
    assert log.height == 93
    assert sorted(log["prediction_id"].str.split("-").list.last().cast(int).to_list()) == [
        i for i in range(95) if i not in (7, 70)
    ]


def test_a_missing_required_column_quarantines_the_rows_and_is_reported(kit: Any) -> None:
    kit.write("a.parquet", kit.rows(0, 4).rename({"channel": "chan"}))

    (batch,) = ingest(kit.ws, kit.name).to_dict()["batches"]

    assert batch["rows_quarantined"] == 4
    kinds = {(c["kind"], c["column"]) for c in batch["schema_changes"]}
    assert kinds == {("missing_column", "channel"), ("new_column", "chan")}


def test_an_external_prediction_column_is_logged_as_the_score(kit: Any) -> None:
    kit.edit(r"  fields:\n", "  prediction: {column: p}\n  fields:\n")
    kit.edit(r"    id: ", "    p:        {type: float, min: 0, max: 1}\n    id: ")
    kit.write("a.parquet", kit.rows(0, 4).with_columns(p=pl.Series([0.1, 0.9, 0.5, 0.3])))

    report = ingest(kit.ws, kit.name).to_dict()

    assert report["scored_by"] == [{"version": "external", "status": "external"}]
    assert report["note"] is None
    log = kit.predictions().sort("key")
    assert log["score"].to_list() == [0.1, 0.9, 0.5, 0.3]
    assert log["model_version"].unique().to_list() == ["external"]


def test_with_no_live_or_shadow_version_rows_are_logged_unscored_and_it_is_said(
    kit: Any,
) -> None:
    kit.write("a.parquet", kit.rows(0, 2))
    report = ingest(kit.ws, kit.name).to_dict()
    assert report["note"] == (
        "no live or shadow version: rows were validated and logged without a score"
    )
    assert kit.predictions()["score"].null_count() == 2


def test_every_batch_is_in_the_ledger_with_the_hash_of_its_files(kit: Any) -> None:
    kit.write("a.parquet", kit.rows(0, 3).with_columns(amount=pl.Series([1.0, -1.0, 2.0])))
    (batch,) = ingest(kit.ws, kit.name).batches

    with kit.ws.db.read() as session:
        entries = session.scalars(
            sa.select(AuditEntry).where(AuditEntry.action == "batch.ingested")
        ).all()
        record = session.scalar(sa.select(IngestBatch))
    assert len(entries) == 1
    payload = json.loads(entries[0].payload)
    assert payload["batch_id"] == batch.batch_id
    assert payload["rows_quarantined"] == 1
    assert record is not None
    assert payload["predictions"][0]["sha256"] == record.predictions_sha256
    assert kit.ws.ledger.verify().ok


def test_unreadable_files_are_recorded_failed_and_the_others_still_ingested(kit: Any) -> None:
    kit.write("good.parquet", kit.rows(0, 5))
    (kit.landing / "bad.parquet").write_bytes(b"PAR1 not really")
    kit.write("later.parquet", kit.rows(5, 5))

    report = ingest(kit.ws, kit.name).to_dict()

    assert [b["file"] for b in report["batches"]] == ["good.parquet", "later.parquet"]
    assert report["files_failed"] == [
        {
            "file": "bad.parquet",
            "error": f"{kit.landing / 'bad.parquet'}: not a readable Parquet file: it is "
            "truncated or not Parquet (no valid footer)",
        }
    ]
    with kit.ws.db.read() as session:
        failed = session.scalar(sa.select(IngestFile).where(IngestFile.path == "bad.parquet"))
    assert failed is not None and failed.status == "failed" and failed.attempts == 1


def test_a_failed_file_is_retried_when_it_changes_or_when_asked(kit: Any) -> None:
    bad = kit.landing / "bad.parquet"
    bad.write_bytes(b"nope")
    ingest(kit.ws, kit.name)

    unchanged = ingest(kit.ws, kit.name).to_dict()
    assert unchanged["files_failed"] == []
    assert unchanged["files_skipped"][0]["file"] == "bad.parquet"

    asked = ingest(kit.ws, kit.name, retry_failed=True).to_dict()
    assert asked["files_failed"][0]["file"] == "bad.parquet"

    kit.write("bad.parquet", kit.rows(0, 3))  # fixed upstream
    os.utime(bad, ns=(bad.stat().st_mtime_ns + 10**9,) * 2)
    fixed = ingest(kit.ws, kit.name).to_dict()
    assert [b["file"] for b in fixed["batches"]] == ["bad.parquet"]
    with kit.ws.db.read() as session:
        row = session.scalar(sa.select(IngestFile).where(IngestFile.path == "bad.parquet"))
    assert row is not None and row.status == "ingested" and row.error is None


def test_a_missing_landing_folder_is_reported_as_failed(kit: Any) -> None:
    kit.set_source("{kind: parquet_dir, path: landing/elsewhere/}")
    report = ingest(kit.ws, kit.name).to_dict()
    assert "does not exist" in report["files_failed"][0]["error"]


def test_readers_ignore_files_no_committed_batch_names(kit: Any) -> None:
    kit.write("a.parquet", kit.rows(0, 3))
    ingest(kit.ws, kit.name)
    stray = kit.ws.state_dir / "predictions" / kit.name / "0123.parquet"
    kit.rows(100, 3).write_parquet(stray)
    assert f"predictions/{kit.name}/0123.parquet" not in committed_files(kit.ws, kit.name)
    assert kit.predictions().height == 3


def test_a_header_only_file_is_an_empty_batch_whose_volume_rule_fails(kit: Any) -> None:
    kit.set_source("{kind: csv_dir, path: landing/credit-default/}")
    (kit.landing / "empty.csv").write_text("id,event_at,amount,channel\n")

    (batch,) = ingest(kit.ws, kit.name).to_dict()["batches"]

    assert batch["rows_in"] == 0
    assert {"rule": "volume.min_rows", "ok": False, "observed": 0, "expected": 1} in batch[
        "batch_rules"
    ]
    assert batch["predictions"] == []


def test_watermark_moves_only_with_committed_valid_rows(kit: Any) -> None:
    kit.write("a.parquet", kit.rows(0, 2, hours=5))
    ingest(kit.ws, kit.name)
    first = watermark(kit.ws, kit.name)
    bad_future = kit.rows(9, 1, hours=500).with_columns(channel=pl.lit("fax"))
    kit.write("b.parquet", bad_future)
    ingest(kit.ws, kit.name)
    assert watermark(kit.ws, kit.name) == first
    assert first is not None
    assert first.replace(tzinfo=None) == T0 + timedelta(hours=5, minutes=1)


def test_a_file_that_changes_while_it_is_read_is_left_for_the_next_run(
    kit: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from charter.plumbing.sources import LandingFile

    kit.write("a.parquet", kit.rows(0, 3))
    changed = LandingFile.changed
    monkeypatch.setattr(LandingFile, "changed", lambda self: True)
    report = ingest(kit.ws, kit.name).to_dict()
    assert report["batches"] == []
    assert "changed while being read" in report["files_skipped"][0]["reason"]
    assert not list((kit.ws.state_dir / "predictions").rglob("*.parquet*"))

    monkeypatch.setattr(LandingFile, "changed", changed)
    assert [b.source for b in ingest(kit.ws, kit.name).batches] == ["a.parquet"]
