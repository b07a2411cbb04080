"""``charter rescore NAME``: rows logged while no version existed get scored, exactly once."""

from __future__ import annotations

import uuid
from typing import Any

import polars as pl
import pytest

from charter.plumbing.ingest import ingest
from charter.plumbing.rescore import rescore
from charter.registry.versions import register_version

pytestmark = pytest.mark.postgres


def register(kit: Any, body: str) -> int:
    module = f"rescore_model_{uuid.uuid4().hex[:10]}"
    (kit.ws.root / f"{module}.py").write_text(f"def score(frame):\n    return {body}\n")
    return register_version(kit.ws, kit.name, f"{module}:score").version  # first: shadow


def test_rows_logged_without_a_version_are_scored_once(kit: Any, cli: Any) -> None:
    kit.write("a.parquet", kit.rows(0, 5))
    ingest(kit.ws, kit.name)
    before = kit.predictions()
    assert before["model_version"].null_count() == 5
    register(kit, "frame['amount'] / 100")

    report = rescore(kit.ws, kit.name).to_dict()

    (batch,) = report["batches"]
    assert batch["kind"] == "rescore" and (batch["rows_in"], batch["rows_scored"]) == (5, 5)
    scored = kit.predictions().filter(pl.col("model_version") == "1").sort("key")
    assert scored["prediction_id"].sort().to_list() == before["prediction_id"].sort().to_list()
    assert scored["score"].to_list() == [float(i % 97) / 100 for i in range(5)]
    assert scored["model_status"].unique().to_list() == ["shadow"]
    again = cli("rescore", kit.name, "--json")
    assert again.code == 0, again.stderr
    assert again.json()["batches"] == [] and "nothing to rescore" in again.json()["note"]
    assert kit.predictions().height == 10  # five unscored rows, five scored once


def test_since_limits_the_rows_taken(kit: Any, cli: Any) -> None:
    kit.write("a.parquet", kit.rows(0, 3))
    ingest(kit.ws, kit.name)
    register(kit, "frame['amount'] / 100")

    later = cli("rescore", kit.name, "--since", "2999-01-01", "--json")
    assert later.code == 0 and later.json()["batches"] == []
    bad = cli("rescore", kit.name, "--since", "yesterday")
    assert bad.code == 1 and "--since: 'yesterday' is not an ISO date" in bad.stderr
    now = cli("rescore", kit.name, "--since", "2000-01-01", "--json")
    assert [b["rows_scored"] for b in now.json()["batches"]] == [3]


def test_a_version_failing_on_rescore_is_recorded_and_exits_5(kit: Any, cli: Any) -> None:
    kit.write("a.parquet", kit.rows(0, 4))
    ingest(kit.ws, kit.name)
    register(kit, "frame['income']")

    result = cli("rescore", kit.name, "--json")

    assert result.code == 5
    (fact,) = result.json()["attention"]
    assert (fact["kind"], fact["version"], fact["rows"]) == ("version_failed", "1", 4)
    assert kit.predictions().filter(pl.col("model_version") == "1").height == 0
