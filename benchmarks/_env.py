"""The benchmarks' own environment: a virtual environment with the peers, and a machine report.

Benchmarks compare charter with the tools users would otherwise pick (Pandera, Great Expectations,
Evidently, ...). Installing those into the product's environment would drag their pins into
charter's, so benchmarks run in ``benchmarks/.venv`` (ignored by git): charter installed editable
plus the peers a benchmark names. A benchmark module calls :func:`reexec_in_venv` first; on the
first run it creates the environment, and every run re-executes the module inside it, so
``python -m benchmarks.NAME`` works from any interpreter. Each distinct set of peers is installed
once (a stamp file per set), and pip resolves the peers' own versions, which the report records.

Set ``CHARTER_BENCH_NO_VENV=1`` to run in the current interpreter instead (the peers must be
importable there).
"""

from __future__ import annotations

import hashlib
import os
import platform
import subprocess
import sys
import venv
from collections.abc import Sequence
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / "benchmarks" / ".venv"
_PYTHON = VENV / "bin" / "python"


def in_bench_venv() -> bool:
    """True when this interpreter is the benchmarks' own virtual environment."""
    return Path(sys.prefix).resolve() == VENV.resolve()


def ensure_venv(requirements: Sequence[str]) -> Path:
    """Create ``benchmarks/.venv`` if needed and install charter plus ``requirements`` into it."""
    if not _PYTHON.exists():
        print(f"creating {VENV.relative_to(ROOT)} (first run only)", file=sys.stderr, flush=True)
        venv.EnvBuilder(with_pip=True, clear=True).create(VENV)
    wanted = sorted(set(requirements))
    digest = hashlib.sha256("\n".join(wanted).encode()).hexdigest()[:16]
    stamp = VENV / f".installed-{digest}"
    if not stamp.exists():
        where = VENV.relative_to(ROOT)
        print(f"installing charter, {', '.join(wanted)} into {where}", file=sys.stderr, flush=True)
        pip = [str(_PYTHON), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
        subprocess.run([*pip, "-e", str(ROOT), *wanted], check=True)
        stamp.touch()
    return _PYTHON


def reexec_in_venv(module: str, requirements: Sequence[str]) -> None:
    """Run ``python -m module`` (same arguments) inside the benchmark venv, unless already there."""
    if in_bench_venv() or os.environ.get("CHARTER_BENCH_NO_VENV") == "1":
        return
    python = ensure_venv(requirements)
    os.chdir(ROOT)
    os.execv(python, [str(python), "-m", module, *sys.argv[1:]])


def memory_gib() -> float:
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30


def versions(distributions: Sequence[str]) -> str:
    """``name x.y.z`` for each installed distribution, ``name (absent)`` for the others."""
    parts = []
    for name in distributions:
        try:
            parts.append(f"{name} {version(name)}")
        except PackageNotFoundError:
            parts.append(f"{name} (absent)")
    return ", ".join(parts)


def machine() -> str:
    """One line for RESULTS.md: cores, memory, CPU model, OS and Python."""
    cpu = ""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip() + ", "
                break
    return (
        f"{os.cpu_count()} cores ({cpu}{platform.system()} {platform.release()}), "
        f"{memory_gib():.0f} GiB; Python {platform.python_version()}"
    )


def stamp() -> str:
    return f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
