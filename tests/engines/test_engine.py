"""The engine seam: the Polars engine satisfies the protocol, and each step gives known numbers."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa
import pytest

from charter.engines.base import ENGINES, Engine, Verdicts, engine_for
from charter.engines.rules import VIOLATIONS, contract_rules
from charter.engines.summaries import CategoricalSummary, NumericSummary
from charter.errors import CharterError, DataError
from charter.registry.flavors.base import Predictor
from charter.spec.model import DataContract, FolderSource


class Doubler:
    """A model that scores each row as twice its ``x``."""

    flavor = "entrypoint"

    @property
    def features(self) -> list[str]:
        return ["x"]

    def predict(self, frame: pl.DataFrame) -> np.ndarray[Any, Any]:
        return frame.get_column("x").to_numpy() * 2.0


class Broken(Doubler):
    def predict(self, frame: pl.DataFrame) -> np.ndarray[Any, Any]:
        return np.zeros(1)


def test_the_polars_engine_satisfies_the_engine_protocol() -> None:
    engine = engine_for("polars")
    assert isinstance(engine, Engine)
    assert engine.name == "polars"
    assert sorted(ENGINES) == ["polars", "spark"]
    assert engine_for(" Polars ").name == "polars"


def test_an_unknown_engine_is_refused_naming_the_setting_and_the_known_engines() -> None:
    with pytest.raises(CharterError) as caught:
        engine_for("flink")
    assert "unknown engine 'flink'" in caught.value.message
    assert "CHARTER_ENGINE (or --engine, or the charter's data.engine) must be one of: " in (
        caught.value.message
    )
    assert caught.value.message.endswith("polars, spark")
    assert caught.value.hint == "set CHARTER_ENGINE=polars (or unset it)"


def test_the_spark_engine_without_pyspark_is_refused_naming_the_setting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "pyspark", None)  # import pyspark now raises ImportError
    with pytest.raises(CharterError) as caught:
        engine_for("spark")
    assert "the spark engine needs pyspark, which is not installed" in caught.value.message
    assert "CHARTER_ENGINE=spark" in caught.value.message
    assert caught.value.hint is not None and "charter[spark]" in caught.value.hint


def test_ingest_refuses_an_unknown_engine_before_reading_anything(cli: Any) -> None:
    result = cli("ingest", "credit-default", "--engine", "flink")
    assert result.code != 0
    assert "unknown engine 'flink'" in result.stderr + result.stdout
    assert "Traceback" not in result.stderr + result.stdout


def test_validating_an_arrow_table_gives_the_known_verdicts_and_counts() -> None:
    data = DataContract.model_validate(
        {
            "source": {"kind": "parquet_dir", "path": "landing"},
            "key": "id",
            "volume": {"min_rows": 5},
            "fields": {"id": {"type": "int"}, "age": {"type": "int", "min": 0, "max": 120}},
        }
    )
    batch = pa.table({"id": [1, 2, 3, 3], "age": [30, -4, 200, 40]})
    result = engine_for("polars").validate(batch, contract_rules(data))
    assert isinstance(result, Verdicts)
    assert result.rows_in == 4
    assert result.valid.get_column("id").to_list() == [1]
    assert result.failed.select("id", VIOLATIONS).rows() == [
        (2, ["age.min"]),
        (3, ["age.max"]),
        (3, ["id.unique"]),
    ]
    assert result.violation_counts() == {"age.min": 1, "age.max": 1, "id.unique": 1}
    assert not result.batch_ok
    assert [r.to_dict() for r in result.batch_rules] == [
        {"rule": "volume.min_rows", "ok": False, "observed": 4, "expected": 5}
    ]


def test_scoring_takes_arrow_in_and_gives_one_float_score_per_row_out() -> None:
    engine = engine_for("polars")
    model: Predictor = Doubler()
    scores = engine.score(model, pa.table({"x": [1.0, 2.5, -1.0]}))
    assert scores.schema == pa.schema([("score", pa.float64())])
    assert scores.column("score").to_pylist() == [2.0, 5.0, -2.0]
    with pytest.raises(DataError, match="returned 1 scores for 3 rows"):
        engine.score(Broken(), pa.table({"x": [1.0, 2.5, -1.0]}))


def test_summaries_are_the_mergeable_ones_monitoring_stores() -> None:
    engine = engine_for("polars")
    reference = engine.summarise(pa.array([1.0, 2.0, 3.0, 4.0, None]), "numeric")
    assert isinstance(reference, NumericSummary)
    assert (reference.count, reference.null_count, reference.minimum, reference.maximum) == (
        4,
        1,
        1.0,
        4.0,
    )
    assert reference.mean == 2.5
    current = engine.summarise(pa.chunked_array([[10.0], [20.0]]), "numeric", like=reference)
    assert isinstance(current, NumericSummary)
    assert np.array_equal(current.edges, reference.edges)
    assert current.merge(reference).count == 6
    categories = engine.summarise(pa.array(["a", "b", "a"]), "categorical")
    assert isinstance(categories, CategoricalSummary)
    assert categories.count == 3 and categories.categories == frozenset({"a", "b"})


def test_read_and_write_go_through_arrow(tmp_path: Path) -> None:
    engine = engine_for("polars")
    landing = tmp_path / "batch.csv"
    landing.write_text("id,age\n1,30\n2,x\n")
    table = engine.read(landing, FolderSource(kind="csv_dir", path="landing"))
    assert table.column_names == ["id", "age"]
    assert table.to_pydict() == {"id": ["1", "2"], "age": ["30", "x"]}  # text: validation types it
    part = tmp_path / "part.parquet"
    engine.write(table, part)
    assert pl.read_parquet(part).to_dict(as_series=False) == {"id": ["1", "2"], "age": ["30", "x"]}
