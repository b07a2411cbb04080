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

import pytest
from tests.schemas.scenario import Output, run_scenario, shape

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
