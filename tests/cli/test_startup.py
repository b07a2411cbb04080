"""Commands import only what they use: `charter --help` and `charter check` load no data stack.

Each test runs charter in a fresh interpreter and looks at ``sys.modules`` afterwards (never at a
clock: benchmarks/startup.py records how long start-up takes).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import typer

import charter

# The data, statistics, storage and server stacks: each costs tens to hundreds of milliseconds.
HEAVY = [
    "alembic",
    "fastapi",
    "numpy",
    "pandas",
    "polars",
    "pyarrow",
    "scipy",
    "sklearn",
    "sqlalchemy",
    "uvicorn",
]

# A charter that reaches the lazily imported parts of the model: a segment expression, a webhook.
WITH_SEGMENT_AND_WEBHOOK = {
    "    - {metric: recall, at_least: 0.60}\n": (
        "    - {metric: recall, at_least: 0.60}\n"
        "    - {metric: recall, at_least: 0.55, segment: \"channel == 'web' and amount > 10\"}\n"
    ),
    "    - {route: log, on: [breach, drift_breach, stalled_decision]}\n": (
        "    - {route: log, on: [breach, drift_breach, stalled_decision]}\n"
        '    - {route: webhook, url: "https://hooks.example.com/services/T0/B0", on: [breach]}\n'
    ),
}


def _run_charter(cwd: Path, *commands: list[str]) -> tuple[list[int], list[str], str]:
    """Run each command through ``charter.cli.main.main`` in one fresh interpreter; return the
    exit codes, the heavy modules loaded by then, and the output."""
    code = (
        "import json, sys\n"
        "from charter.cli.main import main\n"
        f"codes = [main(args) for args in {commands!r}]\n"
        f"loaded = [m for m in {HEAVY!r} if m in sys.modules]\n"
        "print('\\n' + json.dumps({'codes': codes, 'loaded': loaded}))\n"
    )
    src = str(Path(charter.__file__).resolve().parent.parent)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHARTER_")}
    env["PYTHONPATH"] = os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])
    env["CHARTER_WORKSPACE"] = str(cwd)
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True, check=True
    )
    result = json.loads(done.stdout.rstrip().rsplit("\n", 1)[-1])
    return result["codes"], result["loaded"], done.stdout


@pytest.fixture
def scaffolded(tmp_path: Path) -> Path:
    codes, _, _ = _run_charter(tmp_path, ["init", "demo"])
    assert codes == [0]
    return tmp_path


def test_help_loads_no_heavy_module(tmp_path: Path) -> None:
    codes, loaded, out = _run_charter(tmp_path, ["--help"])
    assert codes == [0] and "check" in out
    assert loaded == []


def test_every_commands_help_loads_no_heavy_module(tmp_path: Path) -> None:
    from charter.cli.app import app

    group = typer.main.get_command(app)
    assert isinstance(group, typer.core.TyperGroup)
    commands = [[name, "--help"] for name in sorted(group.commands)]
    assert len(commands) > 20
    codes, loaded, _ = _run_charter(tmp_path, *commands)
    assert codes == [0] * len(commands)
    assert loaded == []


def test_check_loads_no_heavy_module(scaffolded: Path) -> None:
    path = scaffolded / "charters" / "demo.yaml"
    text = path.read_text()
    for old, new in WITH_SEGMENT_AND_WEBHOOK.items():
        assert old in text
        text = text.replace(old, new)
    path.write_text(text)
    codes, loaded, out = _run_charter(scaffolded, ["check", "demo"], ["check", "--json"])
    assert codes == [0, 0], out
    assert "ok  demo" in out
    assert loaded == []


def test_check_of_a_bad_charter_loads_no_heavy_module(scaffolded: Path) -> None:
    path = scaffolded / "charters" / "demo.yaml"
    path.write_text(path.read_text().replace("at_least: 0.75", "at_least: 1.5"))
    codes, loaded, out = _run_charter(scaffolded, ["check", "demo"])
    assert codes == [1]
    assert "sufficiency.metrics[0].at_least" in out
    assert loaded == []


def test_a_command_that_needs_the_store_still_loads_it(scaffolded: Path) -> None:
    """The check above can fail: the same probe sees SQLAlchemy once a command opens the store."""
    codes, loaded, _ = _run_charter(scaffolded, ["versions", "demo", "--json"])
    assert codes == [0]
    assert "sqlalchemy" in loaded


def test_the_cli_copies_of_registry_and_labels_constants_agree() -> None:
    """`--help` shows these without importing the modules that define them."""
    from charter.cli.labels import LABELS_LOCK_WAIT_SECONDS
    from charter.cli.registry import FLAVOR_NAMES
    from charter.plumbing.labels import LOCK_WAIT_SECONDS
    from charter.registry.flavors import FLAVORS

    assert FLAVOR_NAMES == FLAVORS
    assert LABELS_LOCK_WAIT_SECONDS == LOCK_WAIT_SECONDS
