"""``charter contract import`` from a Great Expectations suite (JSON only) and a Pandera schema."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from charter.spec.loader import load_charter_file

SUITE = {
    "name": "claims_suite",
    "expectations": [
        {"type": "expect_column_to_exist", "kwargs": {"column": "claim_id"}},
        {"type": "expect_column_values_to_be_unique", "kwargs": {"column": "claim_id"}},
        {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "claim_id"}},
        {
            "type": "expect_column_values_to_be_of_type",
            "kwargs": {"column": "amount", "type_": "float64"},
        },
        {
            "type": "expect_column_values_to_be_between",
            "kwargs": {"column": "amount", "min_value": 0, "max_value": 5000},
        },
        {
            "type": "expect_column_values_to_not_be_null",
            "kwargs": {"column": "amount", "mostly": 0.98},
        },
        {
            "type": "expect_column_values_to_be_in_set",
            "kwargs": {"column": "channel", "value_set": ["web", "phone"]},
        },
        {
            "type": "expect_column_values_to_match_regex",
            "kwargs": {"column": "claim_id", "regex": "^CL-[0-9]+$"},
        },
        {
            "type": "expect_column_values_to_be_between",
            "kwargs": {"column": "age", "min_value": 18, "max_value": 99, "mostly": 0.9},
        },
        {"type": "expect_table_row_count_to_be_between", "kwargs": {"min_value": 10}},
        {"type": "expect_column_mean_to_be_between", "kwargs": {"column": "amount"}},
    ],
}


def test_an_expectation_suite_maps_its_rules_and_lists_the_rest(
    run: Any, folder: Path, tmp_path: Path
) -> None:
    path = tmp_path / "suite.json"
    path.write_text(json.dumps(SUITE))

    result = run("contract", "import", str(path), "claims", "--json")

    assert result.code == 0, result.stderr
    body = result.json()
    assert body["key"] == "claim_id"  # the only column expected unique and not null
    fields = load_charter_file(folder / "charters" / "claims.yaml").charter.data.fields
    assert fields["claim_id"].unique and not fields["claim_id"].nullable
    assert fields["claim_id"].pattern == "CL-[0-9]+"
    assert (fields["amount"].type, fields["amount"].min, fields["amount"].max) == ("float", 0, 5000)
    assert fields["amount"].max_null_fraction == pytest.approx(0.02)
    assert fields["channel"].allowed == ["web", "phone"]
    unmapped = {u["where"]: u["what"] for u in body["unmapped"]}
    assert "mostly=0.9" in unmapped["expectations[8]"]  # a tolerance charter does not have
    assert "expect_column_mean_to_be_between" in unmapped["expectations[10]"]
    assert "channel: no type expectation; type string assumed" in body["notes"]


def test_a_pandera_schema_is_read_by_module_and_attribute(
    run: Any, folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("pandera")
    (tmp_path / "claims_schema.py").write_text(
        "import pandera.pandas as pa\n"
        "SCHEMA = pa.DataFrameSchema({\n"
        "    'claim_id': pa.Column(str, pa.Check.str_matches(r'CL-[0-9]+'), unique=True,"
        " nullable=False),\n"
        "    'amount': pa.Column(float, pa.Check.in_range(0, 5000)),\n"
        "    'age': pa.Column(int, [pa.Check.gt(17), pa.Check.le(99)], required=False),\n"
        "    'channel': pa.Column(str, pa.Check.isin(['web', 'phone'])),\n"
        "    'score': pa.Column(float, pa.Check(lambda s: s.mean() < 1)),\n"
        "})\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    sys.modules.pop("claims_schema", None)

    result = run(
        "contract", "import", "claims_schema:SCHEMA", "claims", "--key", "claim_id", "--json"
    )

    assert result.code == 0, result.stderr
    assert result.json()["standard"] == "Pandera"
    fields = load_charter_file(folder / "charters" / "claims.yaml").charter.data.fields
    assert fields["claim_id"].pattern == "(?:CL-[0-9]+)(?s:.)*"  # str_matches: from the start
    assert (fields["amount"].min, fields["amount"].max) == (0, 5000)
    assert (fields["age"].type, fields["age"].min, fields["age"].max) == ("int", 18, 99)
    assert fields["age"].required is False
    assert fields["channel"].allowed == ["web", "phone"]
    assert [u["where"] for u in result.json()["unmapped"]] == ["columns['score'].checks[0]"]


def test_a_name_that_is_not_a_schema_is_a_clear_error(run: Any) -> None:
    result = run("contract", "import", "json:dumps", "claims", "--from", "pandera")

    assert result.code == 1
    assert "json:dumps is not a Pandera schema" in result.stderr


def test_pandera_polars_schemas_and_models_read_the_same_way() -> None:
    pa = pytest.importorskip("pandera.polars")
    import polars as pl

    from charter.spec.interop.pandera import read_pandera

    schema = pa.DataFrameSchema(
        {
            "id": pa.Column(pl.Utf8, unique=True, nullable=False),
            "n": pa.Column(pl.Int64, pa.Check.in_range(1, 9, include_max=False)),
            "at": pa.Column(pl.Datetime("us", "UTC")),
            "on": pa.Column(pl.Date),
        }
    )

    class Model(pa.DataFrameModel):  # type: ignore[misc,name-defined]
        id: str = pa.Field(unique=True)
        x: float = pa.Field(ge=0, le=1, nullable=True)

    fields = read_pandera(schema).fields
    assert fields["n"] == {"type": "int", "nullable": False, "min": 1, "max": 8}
    assert (fields["at"]["type"], fields["on"]["type"]) == ("datetime", "date")
    assert read_pandera(Model).fields["x"] == {"type": "float", "min": 0, "max": 1}
