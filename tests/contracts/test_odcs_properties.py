"""Property: every data contract charter can write survives ODCS export and import unchanged."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from charter.spec.interop.odcs import export_odcs, odcs_yaml, parse_odcs
from charter.spec.loader import parse_charter
from charter.spec.model import DataContract, FieldSpec
from charter.spec.scaffold import render

BASE = parse_charter(render("m")).charter
DAY = 86400
_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=12)


@st.composite
def field_specs(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(["int", "float", "string", "bool", "datetime", "date"]))
    spec: dict[str, Any] = {"type": kind, "nullable": draw(st.booleans())}
    if draw(st.booleans()):
        spec["unique"] = True
    if draw(st.booleans()):
        spec["max_null_fraction"] = draw(st.integers(0, 10_000)) / 10_000
    if draw(st.booleans()):
        spec["description"] = draw(_text)
    bounds = {
        "int": st.integers(-(10**9), 10**9),
        "float": st.floats(-1e9, 1e9, allow_nan=False),
        "datetime": st.integers(0, 4_000_000_000),
        "date": st.integers(0, 40_000).map(lambda d: d * DAY),
    }
    if kind in bounds:
        low, high = sorted(draw(st.lists(bounds[kind], min_size=2, max_size=2)))
        if draw(st.booleans()):
            spec["min"] = low
        if draw(st.booleans()):
            spec["max"] = high
    values = {
        "int": st.integers(-1000, 1000),
        "float": st.floats(-1e6, 1e6, allow_nan=False),
        "string": _text,
        "bool": st.booleans(),
    }
    if kind in values and draw(st.booleans()):
        spec["allowed"] = draw(st.lists(values[kind], min_size=1, max_size=4, unique=True))
    if kind == "string":
        shortest = draw(st.none() | st.integers(0, 20))
        longest = draw(st.none() | st.integers(20, 300))
        spec["pattern"] = draw(
            st.sampled_from(
                [
                    None,
                    "[A-Z]{2}-[0-9]+",
                    f"(?s:.){{{shortest or 0},{longest if longest is not None else ''}}}",
                ]
            )
        )
        if spec["pattern"] is None:
            del spec["pattern"]
    return spec


@pytest.mark.slow  # about 7 s: 100 contracts, each exported, parsed and validated
@settings(max_examples=100, deadline=None)
@given(
    fields=st.dictionaries(
        st.from_regex(r"[a-z][a-z0-9_]{0,10}", fullmatch=True),
        field_specs(),
        min_size=1,
        max_size=6,
    ),
    key_typed=st.booleans(),
    rows=st.tuples(st.none() | st.integers(0, 100), st.none() | st.integers(100, 10**6)),
    lateness=st.integers(1, 10**6),
)
def test_a_contract_survives_odcs_export_and_import(
    fields: dict[str, dict[str, Any]],
    key_typed: bool,
    rows: tuple[int | None, int | None],
    lateness: int,
) -> None:
    key = next(iter(fields)) if key_typed else "row_key"
    volume = {k: v for k, v in zip(("min_rows", "max_rows"), rows, strict=True) if v is not None}
    data = DataContract.model_validate(
        {
            "source": {"kind": "parquet_dir", "path": "landing/m/"},
            "key": key,
            "freshness": {"max_lateness": f"{lateness}s"},
            "volume": volume,
            "fields": fields,
        }
    )
    charter = BASE.model_copy(update={"data": data})

    doc, _ = export_odcs(charter)
    imported = parse_odcs(odcs_yaml(doc), source="exported")

    assert imported.key == key
    assert imported.volume == volume
    again = {name: FieldSpec.model_validate(spec) for name, spec in imported.fields.items()}
    assert again == data.fields
    assert yaml.safe_load(odcs_yaml(doc)) == doc
