"""Fuzzing ``charter check``: whatever the file says, the answer is 0 or 1 with field-path problems.

Hypothesis mutates the scaffold charter (lines deleted, duplicated, swapped; values replaced by
hostile ones: huge numbers, alias bombs, deep nesting, look-alike identities, bad tags and
durations) and runs the real CLI on it. No run may end in "unexpected error" or another exit code.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from charter.cli.main import main
from charter.spec.scaffold import render

BASE = render("credit-default", owner_name="Dana Ruiz", owner_email="dana@bank.example")
LINES = BASE.splitlines()
HOSTILE = [
    "9" * 5_000,
    str(10**18 + 1),
    "-1",
    "1e999",
    "!!int 'x'",
    "!!float 'y'",
    "!!timestamp 'never'",
    "!!binary 'AAAA'",
    "!!python/object:os.system 'id'",
    "2024-13-45",
    "9999999999d",
    "0s",
    "&a [*a]",
    "*nowhere",
    "[" * 80 + "]" * 80,
    "{" * 80 + "}" * 80,
    "[" * 200,
    '"' + "(" * 100 + "a == 1" + ")" * 100 + '"',
    '"' + " and ".join(["a<1"] * 1_300) + '"',
    "dana@ban\u212a.example",
    "dana@b\u0430nk.example",
    "~",
    "''",
    "[]",
    "{}",
    "yes",
    "https://hooks.example:abc/x",
    "'\u202e'",
    "\t",
    "- x",
    ": :",
    "|",
    ">-",
    "!!set {a, b}",
    "<<: {}",
]
_VALUE = re.compile(r"(:\s+)([^#\n]+)")

mutation = st.one_of(
    st.tuples(st.just("delete"), st.integers(0, len(LINES) - 1), st.just("")),
    st.tuples(st.just("duplicate"), st.integers(0, len(LINES) - 1), st.just("")),
    st.tuples(st.just("swap"), st.integers(0, len(LINES) - 1), st.just("")),
    st.tuples(st.just("value"), st.integers(0, len(LINES) - 1), st.sampled_from(HOSTILE)),
    st.tuples(
        st.just("insert"),
        st.integers(0, len(LINES) - 1),
        st.text(alphabet=st.characters(codec="utf-8"), max_size=12),
    ),
)


def mutate(lines: list[str], steps: list[tuple[str, int, str]]) -> str:
    out = list(lines)
    for kind, index, value in steps:
        i = index % len(out) if out else 0
        if not out:
            out.append(value)
        elif kind == "delete":
            del out[i]
        elif kind == "duplicate":
            out.insert(i, out[i])
        elif kind == "swap":
            j = (i + 1) % len(out)
            out[i], out[j] = out[j], out[i]
        elif kind == "value":

            def with_value(match: re.Match[str], new: str = value) -> str:
                return match.group(1) + new

            out[i] = _VALUE.sub(with_value, out[i], count=1)
        else:
            at = len(out[i]) // 2
            out[i] = out[i][:at] + value + out[i][at:]
    return "\n".join(out) + "\n"


_PROBLEM = re.compile(r"^(line \d+: .+|[A-Za-z_<][\w<>.\[\]-]*: .+|[a-z].+)$", re.DOTALL)


@pytest.mark.slow
@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=st.lists(mutation, min_size=1, max_size=4))
def test_check_answers_every_mutated_charter_with_0_or_1(
    tmp_path: Path, steps: list[tuple[str, int, str]]
) -> None:
    charters = tmp_path / "ws" / "charters"
    charters.mkdir(parents=True, exist_ok=True)
    (charters / "credit-default.yaml").write_text(mutate(LINES, steps), "utf-8")
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["-w", str(tmp_path / "ws"), "check", "credit-default", "--json"])
    assert code in (0, 1), err.getvalue()
    body = json.loads(out.getvalue())
    assert "error" not in body, body  # every problem is a field-path problem, never a crash
    (result,) = body["charters"]
    assert result["ok"] is (code == 0)
    for problem in result["problems"]:
        assert _PROBLEM.match(problem), problem
        assert "unexpected" not in problem and "Traceback" not in problem
