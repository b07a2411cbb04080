"""Start-up: how long `charter --help`, `charter check NAME` and `import charter` take to start.

Run: ``python -m benchmarks.startup [--runs 21] [--compare OTHER/src]`` from the repository root,
with the project's own interpreter (no peers: it runs in the current environment, not in
``benchmarks/.venv``). The floor is ``python -c pass``: the interpreter's own start-up, which no
change to charter can remove.

Each command runs as a fresh process, ``--runs`` times, interleaved (one run of every command per
round, the order rotating each round) so that load from other work on a shared machine falls on
all of them alike. For each it records the median and minimum wall time and the median CPU time
(user + system, from the child's ``rusage``); CPU time is the steadier figure on a busy machine.
The sources measured are this checkout's ``src/`` (put first on ``PYTHONPATH``, so an editable
install of another checkout does not stand in for it) and, with ``--compare``, another source
tree (for example an older commit extracted with ``git archive``) in the same rounds.
``charter check NAME`` runs in a workspace scaffolded by ``charter init NAME``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks import _env

RESULTS = Path(__file__).with_name("RESULTS.md")
NAME = "startup-demo"
PACKAGES = ("charter-ml", "typer", "rich", "pydantic", "PyYAML", "SQLAlchemy", "polars", "scipy")


@dataclass
class Contender:
    """One command run from one source tree, and what its runs measured."""

    label: str
    source: str
    argv: list[str]
    env: dict[str, str]
    cwd: Path
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)

    def run_once(self) -> None:
        start = time.perf_counter()
        child = subprocess.Popen(
            self.argv,
            cwd=self.cwd,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        _, status, usage = os.wait4(child.pid, 0)
        self.wall.append(time.perf_counter() - start)
        child.returncode = os.waitstatus_to_exitcode(status)
        stderr = child.stderr.read().decode(errors="replace") if child.stderr else ""
        if child.stderr:
            child.stderr.close()
        if child.returncode != 0:
            raise SystemExit(f"{self.label} ({self.source}) exited {child.returncode}: {stderr}")
        self.cpu.append(usage.ru_utime + usage.ru_stime)


def _charter_argv(*args: str) -> list[str]:
    """The `charter` console script beside this interpreter, else the same entry point by -c."""
    script = Path(sys.executable).with_name("charter")
    if script.exists():
        return [sys.executable, str(script), *args]
    return [sys.executable, "-c", "from charter.cli.main import run; run()", *args]


def _env_for(src: Path, workspace: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHARTER_")}
    env["PYTHONPATH"] = str(src)
    env["CHARTER_WORKSPACE"] = str(workspace)
    return env


def contenders(sources: list[tuple[str, Path]], tmp: Path) -> list[Contender]:
    floor_env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    found = [Contender("python -c pass", "-", [sys.executable, "-c", "pass"], floor_env, tmp)]
    for source, src in sources:
        workspace = tmp / f"workspace-{len(found)}"
        workspace.mkdir()
        env = _env_for(src, workspace)
        subprocess.run(
            _charter_argv("init", NAME), cwd=workspace, env=env, check=True, capture_output=True
        )
        found += [
            Contender("charter --help", source, _charter_argv("--help"), env, workspace),
            Contender(
                f"charter check {NAME}", source, _charter_argv("check", NAME), env, workspace
            ),
            Contender(
                "python -c 'import charter'",
                source,
                [sys.executable, "-c", "import charter"],
                env,
                workspace,
            ),
        ]
    return found


def measure(found: list[Contender], runs: int) -> None:
    for contender in found:  # one warm-up each: the first run also fills the page cache
        contender.run_once()
        contender.wall.clear()
        contender.cpu.clear()
    for round_ in range(runs):
        shift = round_ % len(found)
        for contender in found[shift:] + found[:shift]:
            contender.run_once()


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:,.0f}"


def report(
    found: list[Contender], args: argparse.Namespace, started: str, loads: tuple[float, float]
) -> str:
    floor = found[0]
    floor_wall, floor_cpu = statistics.median(floor.wall), statistics.median(floor.cpu)
    command = f"python -m benchmarks.startup --runs {args.runs}"
    if args.compare:
        command += f" --compare {args.compare_label}"
    lines = [
        f"\n## Start-up — {started}\n",
        f"Machine: {_env.machine()}. Packages: {_env.versions(PACKAGES)}. Load average (1 min) at "
        f"start {loads[0]:.1f}, at end {loads[1]:.1f}: the machine is shared, so CPU time (user + "
        "system of the child) means more than wall time.",
        f"Command: `{command}`. Each command a fresh process, {args.runs} runs each, interleaved "
        f"(after one warm-up); `charter check {NAME}` in a workspace made by `charter init "
        f"{NAME}`. Source `this`: this checkout's `src/`"
        + (f"; `{args.compare_label}`: `{args.compare}`." if args.compare else "."),
        "",
        "| command | source | median wall ms | min wall ms | median CPU ms | wall over `python -c pass` ms |",
        "| --- | --- | ---: | ---: | ---: | ---: |",
    ]
    for c in found:
        over = "-" if c is floor else _ms(statistics.median(c.wall) - floor_wall)
        lines.append(
            f"| `{c.label}` | {c.source} | {_ms(statistics.median(c.wall))} | {_ms(min(c.wall))} "
            f"| {_ms(statistics.median(c.cpu))} | {over} |"
        )
    ours = {c.label: c for c in found if c.source == "this"}
    help_, check = ours["charter --help"], ours[f"charter check {NAME}"]
    lines += [
        "",
        f"Headline: `charter --help` {_ms(statistics.median(help_.wall))} ms wall, "
        f"{_ms(statistics.median(help_.cpu))} ms CPU; `charter check` "
        f"{_ms(statistics.median(check.wall))} ms wall, {_ms(statistics.median(check.cpu))} ms "
        f"CPU (medians; `python -c pass` {_ms(floor_wall)} ms wall, {_ms(floor_cpu)} ms CPU); "
        "target: well under 500 ms on a quiet machine.",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=21)
    parser.add_argument(
        "--compare", type=Path, help="another source tree (its src/ folder) to measure alongside"
    )
    parser.add_argument(
        "--compare-label", default="other", help="what to call --compare in the table"
    )
    parser.add_argument("--no-write", action="store_true", help="print, do not append RESULTS.md")
    args = parser.parse_args()
    sources = [("this", _env.ROOT / "src")]
    if args.compare:
        sources.append((args.compare_label, args.compare.resolve()))
    started, load_start = _env.stamp(), os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as tmp:
        found = contenders(sources, Path(tmp))
        measure(found, args.runs)
    text = report(found, args, started, (load_start, os.getloadavg()[0]))
    print(text)
    if not args.no_write:
        with RESULTS.open("a") as handle:
            handle.write(text)


if __name__ == "__main__":
    main()
