"""The README's quick start runs as written: its Python block saved as the file it names, then
each of its shell commands in order, in a fresh folder, each exiting 0.

Only what the README asks of the reader beforehand is left out (installing charter: this test
runs inside the installed environment). ``charter`` and ``python`` are this interpreter, so the
commands run against this checkout; ``mkdir`` and ``cd`` are done here. The database is the
backend fixture's (SQLite, and PostgreSQL through ``CHARTER_DATABASE_URL``).
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
FENCE = re.compile(r"^```(\w+)\n(.*?)^```$", re.MULTILINE | re.DOTALL)
CLI = "import sys; from charter.cli.main import run; sys.exit(run())"

pytestmark = pytest.mark.timeout(600)


def quick_start() -> str:
    """The quick start section, up to the next heading of any level."""
    text = README.read_text()
    start = text.index("## Quick start")
    end = min(text.index(mark, start + 1) for mark in ("\n## ", "\n### "))
    return text[start:end]


def blocks() -> list[tuple[str, str]]:
    return [(m.group(1), m.group(2)) for m in FENCE.finditer(quick_start())]


def commands(script: str) -> list[list[str]]:
    """Each command of a shell block as its words, without trailing comments, ``a && b`` as
    two commands."""
    found: list[list[str]] = []
    for line in script.splitlines():
        words = shlex.split(line, comments=True)
        while words:
            step = words.index("&&") if "&&" in words else len(words)
            found.append(words[:step])
            words = words[step + 1 :]
    return found


def test_the_quick_start_has_its_data_script_and_commands() -> None:
    kinds = [kind for kind, _ in blocks()]
    assert kinds.count("python") == 1 and kinds.count("sh") >= 3
    python = next(body for kind, body in blocks() if kind == "python")
    assert python.startswith("# make_claims.py")


def test_the_readme_walkthrough_runs_as_written(tmp_path: Path, database_url: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CHARTER_", "MLFLOW_"))}
    env.update(
        CHARTER_DATABASE_URL=database_url,
        PYTHONPATH=os.pathsep.join([str(ROOT / "src"), env.get("PYTHONPATH", "")]),
        COLUMNS="80",
    )
    cwd = tmp_path
    outputs: dict[str, str] = {}
    for kind, body in blocks():
        if kind == "python":
            name = body.splitlines()[0].removeprefix("# ").split(":")[0]
            (cwd / name).write_text(body)
            continue
        for words in commands(body):
            if words[0] == "mkdir":
                (cwd / words[1]).mkdir()
                continue
            if words[0] == "cd":
                cwd = cwd / words[1]
                continue
            program = {"charter": [sys.executable, "-c", CLI], "python": [sys.executable]}
            done = subprocess.run(
                [*program[words[0]], *words[1:]],
                cwd=cwd,
                env=env,
                capture_output=True,
                text=True,
                timeout=300,
            )
            assert done.returncode == 0, f"{shlex.join(words)}\n{done.stdout}\n{done.stderr}"
            outputs[" ".join(words[:2])] = done.stdout
    charter = (cwd / "charters" / "claims.yaml").read_text()
    assert "features: [amount, age]  # what model.joblib reads (its feature_names_in_)" in charter
    assert "Measured by model.joblib on 2,000 rows of holdout.parquet" in charter
    assert (
        "claims: 7 batches, 1008 rows in, 1008 scored, 0 quarantined" in outputs["charter ingest"]
    )
    assert "1 shadow  2026-03-05 → 03-12  pass" in outputs["charter status"]
    assert outputs["charter audit"].startswith("ok: ")
