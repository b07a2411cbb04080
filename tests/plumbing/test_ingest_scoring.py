"""Scoring during ingestion: the live version and every shadow version, through the real registry."""

from __future__ import annotations

import uuid
from typing import Any

import polars as pl
import pytest
import sqlalchemy as sa

from charter.errors import UserCodeError
from charter.plumbing.ingest import ingest
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


def test_a_model_that_fails_stops_the_run_without_blaming_the_file(kit: Any) -> None:
    broken = register(kit, "raise ValueError('boom')", "live")
    kit.write("a.parquet", kit.rows(0, 3))

    with pytest.raises(UserCodeError, match="boom"):
        ingest(kit.ws, kit.name)

    with kit.ws.db.read() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(IngestBatch)) == 0
    with kit.ws.db.session() as session:
        set_status(kit.ws, session, kit.name, broken, "retired")
    register(kit, "return frame['amount'] * 0", "live")
    report = ingest(kit.ws, kit.name).to_dict()
    assert [b["file"] for b in report["batches"]] == ["a.parquet"]
    assert kit.predictions()["model_version"].unique().to_list() == ["2"]


def test_the_cli_names_the_versions_that_scored(cli: Any, kit: Any) -> None:
    register(kit, "return frame['amount'] / 100", "live")
    kit.write("a.parquet", kit.rows(0, 2))
    result = cli("ingest", "credit-default")
    assert result.code == 0, result.stderr
    assert "scored by: 1 (live)" in result.stdout
