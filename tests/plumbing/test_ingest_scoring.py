"""Scoring during ingestion: the live version and every shadow version, through the real registry."""

from __future__ import annotations

import uuid
from typing import Any

import polars as pl
import pytest
import sqlalchemy as sa

from charter.plumbing.ingest import ingest
from charter.plumbing.quarantine import replay
from charter.registry.versions import register_version, set_status
from charter.store.tables import IngestBatch

pytestmark = pytest.mark.postgres


def register(kit: Any, body: str, status: str | None) -> int:
    """Register ``def score(frame): <body>`` as an entrypoint model; give it ``status``."""
    module = f"model_{uuid.uuid4().hex[:10]}"
    (kit.ws.root / f"{module}.py").write_text(f"def score(frame):\n    {body}\n")
    info = register_version(kit.ws, kit.name, f"{module}:score")
    if status is not None:
        with kit.ws.db.session() as session:
            set_status(kit.ws, session, kit.name, info.version, status)
    return info.version


def test_rows_are_scored_by_the_live_and_every_shadow_version(kit: Any) -> None:
    register(kit, "return frame['amount'] / 100", "live")
    register(kit, "return frame['amount'] / 200", "shadow")
    register(kit, "raise RuntimeError('never called')", None)  # registered only: not scored
    kit.write("a.parquet", kit.rows(0, 4).with_columns(amount=pl.Series([10.0, 20.0, -1.0, 40.0])))

    report = ingest(kit.ws, kit.name).to_dict()

    assert report["scored_by"] == [
        {"version": "1", "status": "live"},
        {"version": "2", "status": "shadow"},
    ]
    assert report["note"] is None
    (batch,) = report["batches"]
    assert (batch["rows_in"], batch["rows_scored"], batch["rows_quarantined"]) == (4, 3, 1)
    log = kit.predictions().sort("model_version", "key")
    assert log.height == 6  # three valid rows, two versions each
    assert log.select("model_version", "model_status", "key", "score").rows() == [
        ("1", "live", "k0", 0.1),
        ("1", "live", "k1", 0.2),
        ("1", "live", "k3", 0.4),
        ("2", "shadow", "k0", 0.05),
        ("2", "shadow", "k1", 0.1),
        ("2", "shadow", "k3", 0.2),
    ]
    same_row = log.group_by("prediction_id").agg(pl.col("model_version").sort())
    assert same_row["model_version"].to_list() == [["1", "2"]] * 3


def test_a_live_model_that_fails_everywhere_quarantines_the_rows_and_holds_back_nothing(
    kit: Any,
) -> None:
    # Until issue 9 a failing model stopped the run; now its rows are quarantined as model_error
    # (nothing lost: they replay once a working version is live) and later files go on.
    broken = register(kit, "raise ValueError('boom')", "live")
    kit.write("a.parquet", kit.rows(0, 3))

    report = ingest(kit.ws, kit.name).to_dict()

    (batch,) = report["batches"]
    assert (batch["rows_scored"], batch["rows_quarantined"]) == (0, 3)
    ((rule, count),) = batch["violations"].items()
    assert rule.startswith("model_error: version 1: ") and rule.endswith("ValueError: boom")
    assert count == 3
    (failure,) = batch["scoring_failures"]
    assert (failure["version"], failure["status"], failure["rows"]) == ("1", "live", 3)
    with kit.ws.db.read() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(IngestBatch)) == 1
    with kit.ws.db.session() as session:
        set_status(kit.ws, session, kit.name, broken, "retired")
    register(kit, "return frame['amount'] * 0", "live")
    kit.write("b.parquet", kit.rows(3, 2))
    later = ingest(kit.ws, kit.name).to_dict()
    assert [b["file"] for b in later["batches"]] == ["b.parquet"]
    replayed = replay(kit.ws, kit.name).to_dict()
    assert replayed["rows_scored"] == 3
    assert sorted(kit.predictions()["key"].to_list()) == ["k0", "k1", "k2", "k3", "k4"]
    assert kit.predictions()["model_version"].unique().to_list() == ["2"]


def test_the_cli_names_the_versions_that_scored(cli: Any, kit: Any) -> None:
    register(kit, "return frame['amount'] / 100", "live")
    kit.write("a.parquet", kit.rows(0, 2))
    result = cli("ingest", "credit-default")
    assert result.code == 0, result.stderr
    assert "scored by: 1 (live)" in result.stdout
