"""ODCS v3: ``charter contract import`` and ``export`` round-trip the data contract, list what
does not map, and refuse what is not ODCS v3."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from tests.contracts.conftest import FIXTURES

from charter.spec.interop.odcs import parse_odcs
from charter.spec.loader import load_charter_file
from charter.spec.scaffold import write_scaffold

EXAMPLES = sorted(FIXTURES.glob("*.odcs.yaml"))
OPTIONS = {"payments.odcs.yaml": ["--object", "payments"]}  # it describes two objects


def _odcs_schema() -> dict[str, Any]:
    text = resources.files("open_data_contract_standard").joinpath("schema.json").read_text()
    return dict(json.loads(text))


def _valid_odcs(doc: Any) -> None:
    jsonschema.Draft202012Validator(_odcs_schema()).validate(doc)


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_the_examples_are_odcs_v3_by_the_standards_own_json_schema(example: Path) -> None:
    _valid_odcs(yaml.safe_load(example.read_text()))


def test_import_creates_a_charter_that_passes_check_with_the_mapped_contract(
    run: Any, folder: Path
) -> None:
    result = run("contract", "import", str(FIXTURES / "claims.odcs.yaml"), "claims", "--json")

    assert result.code == 0, result.stderr
    body = result.json()
    assert (body["created"], body["key"], body["event_time"]) == (True, "claim_id", "filed_at")
    assert body["standard"] == "ODCS v3.1.0"
    data = load_charter_file(folder / "charters" / "claims.yaml").charter.data
    assert data.key == "claim_id" and data.event_time == "filed_at"
    assert data.freshness.max_lateness.total_seconds() == 6 * 3600
    assert data.volume.min_rows == 50
    fields = data.fields
    assert fields["claim_id"].pattern == "CL-[0-9]{9}" and fields["claim_id"].unique
    assert not fields["claim_amount"].nullable
    assert (fields["claim_amount"].min, fields["claim_amount"].max) == (0, 250000)
    assert (fields["vehicle_age"].min, fields["vehicle_age"].max) == (0, 59)  # exclusiveMaximum 60
    assert fields["vehicle_age"].max_null_fraction == 0.05
    assert fields["channel"].allowed == ["web", "phone", "agent"]
    assert fields["filed_at"].type == "datetime" and fields["filed_at"].min == 1577836800
    assert fields["postcode"].pattern == "(?s:.){4,8}"  # minLength 4, maxLength 8
    assert "repair_items" not in fields  # an array: listed below, not guessed


def test_what_does_not_map_is_listed_by_where_it_is(run: Any) -> None:
    result = run("contract", "import", str(FIXTURES / "claims.odcs.yaml"), "claims", "--json")

    unmapped = {item["where"]: item["what"] for item in result.json()["unmapped"]}
    assert "logicalType array" in unmapped["schema[0].properties[8]"]
    assert "missingValues" in unmapped["schema[0].properties[6].quality[0]"]
    assert "sql" in unmapped["schema[0].properties[7].quality[0]"]
    assert "format 'email'" in unmapped["schema[0].properties[5].logicalTypeOptions.format"]
    assert "custom" in unmapped["schema[0].quality[1]"]
    assert "retention" in unmapped["slaProperties[1]"]
    assert "servers" in unmapped["(document)"] and "team" in unmapped["(document)"]
    human = run("contract", "import", str(FIXTURES / "claims.odcs.yaml"), "claims")
    assert "12 part(s) not imported" in human.stdout
    assert "schema[0].properties[8]: repair_items: logicalType array" in human.stdout


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_an_example_survives_import_export_import(
    run: Any, folder: Path, tmp_path: Path, example: Path
) -> None:
    options = OPTIONS.get(example.name, [])
    assert run("contract", "import", str(example), "model", *options).code == 0
    first = load_charter_file(folder / "charters" / "model.yaml").charter.data
    out = tmp_path / "out.odcs.yaml"

    exported = run("contract", "export", "model", "-o", str(out), "--json")

    assert exported.code == 0, exported.stderr
    _valid_odcs(yaml.safe_load(out.read_text()))
    assert run("contract", "import", str(out), "model").code == 0
    again = load_charter_file(folder / "charters" / "model.yaml").charter.data
    assert again == first


def test_a_charter_contract_round_trips_through_odcs(
    run: Any, folder: Path, tmp_path: Path
) -> None:
    write_scaffold(folder / "charters", "credit", owner_name="Dana", owner_email="d@bank.example")
    path = folder / "charters" / "credit.yaml"
    text = path.read_text().replace(
        "    channel:  {type: string, allowed: [web, branch, phone], max_null_fraction: 0.05}\n",
        "    channel:  {type: string, allowed: [web, branch, phone], max_null_fraction: 0.05}\n"
        "    code:     {type: string, pattern: '[A-Z]{2}[0-9]+', description: Branch code}\n"
        "    note:     {type: string, pattern: '(?s:.){0,40}'}\n"
        "    age:      {type: int, min: 18, max: 120, unique: true}\n"
        "    opened:   {type: date, min: 1704067200}\n"
        "    vip:      {type: bool, nullable: false}\n",
    )
    text = text.replace(
        "freshness: {max_lateness: 2h}", "freshness: {max_lateness: 2h, max_age: 1d}"
    )
    path.write_text(text.replace("volume: {min_rows: 1}", "volume: {min_rows: 1, max_rows: 5000}"))
    before = load_charter_file(path).charter.data
    out = tmp_path / "credit.odcs.yaml"

    exported = run("contract", "export", "credit", "-o", str(out), "--json")
    assert run("contract", "import", str(out), "credit").code == 0

    assert load_charter_file(path).charter.data == before
    assert [u["where"] for u in exported.json()["unmapped"]] == ["data.source"]
    doc = yaml.safe_load(out.read_text())
    _valid_odcs(doc)
    (note,) = [p for p in doc["schema"][0]["properties"] if p["name"] == "note"]
    assert note["logicalTypeOptions"] == {"maxLength": 40}
    assert {s["property"]: (s["value"], s["unit"]) for s in doc["slaProperties"]} == {
        "latency": (2, "h"),
        "freshness": (1, "d"),
    }


def test_an_untyped_key_and_event_time_come_back_untyped(
    run: Any, folder: Path, tmp_path: Path
) -> None:
    write_scaffold(folder / "charters", "credit", owner_name="Dana", owner_email="d@bank.example")
    path = folder / "charters" / "credit.yaml"
    text = path.read_text()
    for line in (
        "    id:       {type: string, nullable: false, unique: true}\n",
        "    event_at: {type: datetime, nullable: false}\n",
    ):
        text = text.replace(line, "")
    path.write_text(text)
    before = load_charter_file(path).charter.data
    assert "id" not in before.fields and "event_at" not in before.fields
    out = tmp_path / "credit.odcs.yaml"

    exported = run("contract", "export", "credit", "-o", str(out), "--json")
    assert run("contract", "import", str(out), "credit").code == 0

    _valid_odcs(yaml.safe_load(out.read_text()))  # every property has a logicalType
    assert load_charter_file(path).charter.data == before
    assert {u["where"] for u in exported.json()["unmapped"]} >= {"data.key", "data.event_time"}


def test_updating_a_charter_replaces_only_its_data_block(run: Any, folder: Path) -> None:
    write_scaffold(folder / "charters", "claims", owner_name="Dana", owner_email="d@bank.example")
    path = folder / "charters" / "claims.yaml"
    original = path.read_text().replace(
        "kind: parquet_dir, path: landing/claims/", "kind: csv_dir, path: incoming/claims/"
    )
    path.write_text(original)

    result = run("contract", "import", str(FIXTURES / "claims.odcs.yaml"), "claims", "--json")

    assert result.code == 0 and result.json()["created"] is False
    text = path.read_text()
    head, tail = original.split("\ndata:\n")[0], original.split("\nlabels:")[1]
    assert text.startswith(head.rsplit("\n", 1)[0])  # every line before the data block, as written
    assert text.endswith(tail)  # and every line after it, comments included
    charter = load_charter_file(path).charter
    assert charter.data.source.kind == "csv_dir"  # where the rows come from is kept
    assert charter.owner.email == "d@bank.example"
    # importing again replaces its own block rather than stacking a second header
    assert run("contract", "import", str(FIXTURES / "claims.odcs.yaml"), "claims").code == 0
    assert path.read_text().count("# Imported from") == 1


def test_an_import_that_breaks_the_charter_writes_nothing(run: Any, folder: Path) -> None:
    write_scaffold(folder / "charters", "claims", owner_name="Dana", owner_email="d@bank.example")
    path = folder / "charters" / "claims.yaml"
    path.write_text(path.read_text().replace("  fields:\n", "  features: [amount]\n  fields:\n"))
    before = path.read_text()

    result = run("contract", "import", str(FIXTURES / "claims.odcs.yaml"), "claims")

    assert result.code == 1
    assert "data.features[0]: 'amount' is not one of the fields" in result.stderr
    assert path.read_text() == before


def _write(tmp_path: Path, doc: dict[str, Any]) -> Path:
    path = tmp_path / "bad.odcs.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def _doc(**changes: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "apiVersion": "v3.1.0",
        "kind": "DataContract",
        "id": "x",
        "version": "1.0.0",
        "status": "active",
        "schema": [
            {
                "name": "t",
                "properties": [
                    {"name": "id", "logicalType": "string", "primaryKey": True},
                    {"name": "v", "logicalType": "number"},
                ],
            }
        ],
    }
    doc.update(changes)
    return doc


def test_a_misspelt_key_is_an_error_naming_its_path(run: Any, tmp_path: Path) -> None:
    doc = _doc()
    doc["schema"][0]["properties"][1]["uniqe"] = True

    result = run("contract", "import", str(_write(tmp_path, doc)), "m")

    assert result.code == 1
    assert "schema[0].properties[1].uniqe: unknown field (not in ODCS v3)" in result.stderr


def test_odcs_v2_and_other_kinds_are_refused(run: Any, tmp_path: Path) -> None:
    result = run("contract", "import", str(_write(tmp_path, _doc(apiVersion="v2.2.2"))), "m")
    assert result.code == 1 and "charter reads ODCS v3" in result.stderr
    result = run("contract", "import", str(_write(tmp_path, _doc(kind="Table"))), "m")
    assert result.code == 1 and "kind: 'Table'" in result.stderr


def test_a_composite_key_needs_key_and_is_listed(run: Any, tmp_path: Path) -> None:
    doc = _doc()
    doc["schema"][0]["properties"][1].update(primaryKey=True, primaryKeyPosition=2)
    path = _write(tmp_path, doc)

    refused = run("contract", "import", str(path), "m")
    chosen = run("contract", "import", str(path), "m", "--key", "id", "--json")

    assert refused.code == 1 and "--key COLUMN" in refused.stderr
    assert chosen.code == 0 and chosen.json()["key"] == "id"
    assert any("composite primary key (id, v)" in u["what"] for u in chosen.json()["unmapped"])


def test_several_objects_need_object(run: Any, tmp_path: Path) -> None:
    doc = _doc()
    doc["schema"].append({"name": "other", "properties": [{"name": "k", "logicalType": "string"}]})
    path = _write(tmp_path, doc)

    refused = run("contract", "import", str(path), "m")
    chosen = run("contract", "import", str(path), "m", "--object", "t", "--json")

    assert refused.code == 1 and "choose one with --object NAME" in refused.stderr
    assert chosen.code == 0 and chosen.json()["fields"] == ["id", "v"]
    assert chosen.json()["unmapped"][0]["where"] == "schema[1]"


def test_sla_elements_may_name_physical_names_and_must_be_times(run: Any) -> None:
    path = FIXTURES / "payments.odcs.yaml"
    result = run("contract", "import", str(path), "pay", "--object", "payments", "--json")

    body = result.json()
    assert result.code == 0, result.stderr
    assert body["event_time"] == "authorised_at"  # slaDefaultElement pmt_txn_v3.auth_ts
    assert body["fields"] == [
        "payment_id",
        "authorised_at",
        "amount",
        "currency",
        "mcc",
        "card_present",
    ]
    unmapped = {u["where"]: u["what"] for u in body["unmapped"]}
    assert "['payment_id', 'authorised_at']" in unmapped["schema[0].quality[0]"]  # a compound key
    assert "mustBeLessThan 5" in unmapped["schema[0].properties[3].quality[0]"]  # a tolerance
    assert (
        "exclusiveMaximum"
        in unmapped["schema[0].properties[2].logicalTypeOptions.exclusiveMaximum"]
    )
    doc = _doc(slaProperties=[{"property": "latency", "value": 1, "unit": "h", "element": "t.v"}])

    imported = parse_odcs(yaml.safe_dump(doc), source="doc")

    assert imported.event_time is None  # v is a number, not a time
    assert imported.freshness == {"max_lateness": "1h"}
    assert "element v is float, not a time" in imported.notes[0]


def test_a_misspelt_quality_operator_is_an_error(run: Any, tmp_path: Path) -> None:
    doc = _doc()
    doc["schema"][0]["properties"][1]["quality"] = [{"metric": "nullValues", "mustbe": 0}]

    result = run("contract", "import", str(_write(tmp_path, doc)), "m")

    assert result.code == 1
    assert "schema[0].properties[1].quality[0].mustbe: unknown field" in result.stderr


def test_physical_types_give_a_type_when_no_logical_type_does() -> None:
    doc = _doc()
    doc["schema"][0]["properties"][1] = {"name": "v", "physicalType": "DECIMAL(10,2)"}

    imported = parse_odcs(yaml.safe_dump(doc), source="doc")

    assert imported.fields["v"] == {"type": "float"}
    assert imported.notes == ["v: type float read from physicalType DECIMAL(10,2)"]
