"""Golden files: the key structure and JSON types of every command's ``--json`` output.

Users' scripts read these keys, so a change here is a change of the public contract. Each file in
golden/ holds a command's arguments, its exit code and :func:`~tests.schemas.scenario.shape` of its
output, captured from the behaviour before the outputs were generated from ``charter.schemas``.
Regenerate (only for a deliberate, changelogged change) with ``CHARTER_UPDATE_GOLDEN=1``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import jsonschema
import pytest
from tests.schemas.scenario import CHARTER, Output, run_scenario, shape

from charter.schemas import catalog

pytestmark = pytest.mark.slow  # whole-story runs: seconds each (see --durations)

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("CHARTER_UPDATE_GOLDEN") == "1"


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Output]:
    return run_scenario(tmp_path_factory.mktemp("golden"))


def _golden(output: Output) -> dict[str, object]:
    return {"args": list(output.args), "exit_code": output.code, "shape": shape(output.data)}


def test_every_case_has_a_golden_file(outputs: dict[str, Output]) -> None:
    if UPDATE:
        for old in GOLDEN.glob("*.json"):
            old.unlink()
        for name, output in outputs.items():
            text = json.dumps(_golden(output), indent=1, sort_keys=True) + "\n"
            (GOLDEN / f"{name}.json").write_text(text)
    assert sorted(p.stem for p in GOLDEN.glob("*.json")) == sorted(outputs)


@pytest.mark.parametrize("case", sorted(p.stem for p in GOLDEN.glob("*.json")))
def test_output_keys_and_types_match_the_golden_file(outputs: dict[str, Output], case: str) -> None:
    expected = json.loads((GOLDEN / f"{case}.json").read_text())
    assert _golden(outputs[case]) == expected


def _command(args: tuple[str, ...]) -> str:
    """``alerts credit-default list ...`` -> ``alerts list``; ``versions credit-default`` -> ..."""
    words = [a for a in args if a != CHARTER and not a.startswith("-") and "/" not in a]
    names = {p.command for p in catalog.PRINTED}
    for size in (3, 2):
        if " ".join(words[:size]) in names:
            return " ".join(words[:size])
    return words[0]


# `charter schema` prints JSON Schemas themselves, not a result
UNCATALOGUED = {"schema"}


@pytest.mark.parametrize("case", sorted(p.stem for p in GOLDEN.glob("*.json")))
def test_output_validates_against_its_json_schema(outputs: dict[str, Output], case: str) -> None:
    output = outputs[case]
    if output.code not in (0, 5):  # an error: {"error": {...}}
        jsonschema.validate(output.data, catalog.result_schema("ErrorResult"))
        return
    command = _command(output.args)
    if command.split()[0] in UNCATALOGUED and command not in {p.command for p in catalog.PRINTED}:
        pytest.skip(f"{command}: no result schema yet")
    jsonschema.validate(output.data, catalog.command_schema(command))


def test_every_catalogued_command_is_in_the_scenario(outputs: dict[str, Output]) -> None:
    seen = {_command(o.args) for o in outputs.values()}
    missing = {p.command for p in catalog.PRINTED} - seen
    assert missing == {"accept-change", "reject-change"}  # the demo leaves no pending change
