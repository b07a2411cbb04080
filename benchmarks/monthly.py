"""Monthly windows over a year of daily batches, monitored from stored summaries (issue 14).

Run: ``python -m benchmarks.monthly [--days 365] [--inputs 20] [--rows-per-day 1000] [--runs 7]``
from the repository root, with the project's own interpreter (no peers). The target (issue 14,
Speed): monthly windows over a year of daily batches, 365 batches × 20 inputs, monitored from
stored summaries in under a second on a quiet machine.

The workspace is built as :mod:`benchmarks.dashboard` builds its history, through charter's own
functions only (the same charter file and data generator): a charter judged in ``1mo`` windows
(calendar months, UTC) with 20 inputs (14 numeric, 6 categorical) and two rules (one on a
segment), a scikit-learn pipeline registered with a labelled reference, ``--days`` daily Parquet
files ingested one batch each (validated, scored, logged), every outcome recorded as labels,
and drift on a third of the numeric inputs from mid-year.

What it times, in this order:

- **first monitor**: ``charter.services.monitoring.monitor``, in process, on the fresh
  workspace: every batch read once and summarised, every month evaluated and stored. Once.
- **from stored summaries**: the same call again, nothing new: each month is the merge of its
  stored batch summaries (drift, quality), the realized metrics re-read from the log's key,
  score and segment columns, nothing written. ``--runs`` times, in process; alternating with
- **the command**: ``charter monitor year-monthly`` as a user types it, one process each time,
  wall time including the interpreter's start-up and imports (see ``benchmarks.startup``).
- **a new day**: one more daily file lands and is ingested (untimed), then ``monitor`` in
  process: one batch summarised, its month re-evaluated, the others taken as stored. ``--runs``
  times (a new day each time).

Each run's answer is checked: as many months as the year spans, every scored row in exactly
one month, the drifted inputs flagged in the months after the shift and not before.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from benchmarks import _env
from benchmarks import _stats_common as common
from benchmarks.dashboard import Shape, build_charter
from charter.plumbing.ingest import ingest
from charter.plumbing.labels import ingest_labels
from charter.services.monitoring import MonitorRun, monitor
from charter.settings import Settings
from charter.workspace import Workspace

PACKAGES = ("charter-ml", "polars", "numpy", "SQLAlchemy", "scikit-learn")
NAME = "year-monthly"
SEED = 20261204
TARGET_S = 1.0


def _check(run: MonitorRun, shape: Shape, scored: int) -> tuple[int, int]:
    """(months, rows in them); stops the run when the answer is wrong."""
    windows = [w for w in run.windows if w.version == "1"]
    rows = sum(int(w.data["quality"]["rows"]) for w in windows)
    if rows != scored:
        raise SystemExit(f"the months hold {rows:,} rows, {scored:,} were scored")
    shift_at = datetime.now(UTC) - shape.step * (shape.files - shape.drift_from)
    for w in windows:
        drifted = set(w.data["drifted"])
        if w.start >= shift_at and "x0" not in drifted:
            raise SystemExit(f"{w.start:%Y-%m}: x0 shifted but not flagged ({sorted(drifted)})")
        if w.end <= shift_at - timedelta(days=31) and drifted:
            raise SystemExit(f"{w.start:%Y-%m}: {sorted(drifted)} flagged before any shift")
    return len(windows), rows


def _scored(ws: Workspace) -> int:
    from sqlalchemy import func, select

    from charter.store.tables import IngestBatch

    with ws.db.session() as session:
        return int(session.scalar(select(func.sum(IngestBatch.rows_scored))) or 0)


def _new_day(ws: Workspace, shape: Shape, day: int) -> None:
    """One more daily file after the year (today + ``day``), ingested, with its labels."""
    start = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    frame = shape.frame(shape.rows_per_file, SEED + 10_000 + day, start, shape.step, 0.8)
    landing = ws.root / "landing" / shape.name
    frame.drop("outcome").write_parquet(landing / f"new-{day:04d}.parquet")
    report = ingest(ws, shape.name)
    assert not report.files_failed, report.files_failed
    labels = ws.root / "labels" / f"new-{day:04d}.parquet"
    frame.select("id", "outcome").write_parquet(labels)
    ingest_labels(ws, shape.name, labels)


def _command(root: Path, cpu: list[float]) -> float:
    charter = Path(sys.executable).with_name("charter")
    before, start = _cpu(resource.RUSAGE_CHILDREN), time.perf_counter()
    done = subprocess.run(
        [str(charter), "-w", str(root), "monitor", NAME],
        capture_output=True,
        text=True,
        env={**os.environ, "CHARTER_ACTOR": "bench@bank.example"},
    )
    elapsed = time.perf_counter() - start
    cpu.append(_cpu(resource.RUSAGE_CHILDREN) - before)
    if done.returncode not in (0, 1):  # 1: a window is not sufficient (the drifted months)
        raise SystemExit(f"charter monitor failed ({done.returncode}): {done.stderr[-2000:]}")
    return elapsed


def _profile(ws: Workspace) -> str:
    profiler = cProfile.Profile()
    profiler.enable()
    monitor(ws, NAME)
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(25)
    lines = out.getvalue().splitlines()
    start = next(i for i, line in enumerate(lines) if "ncalls" in line)
    root = str(Path(__file__).resolve().parent.parent) + "/"
    return "\n".join(line.replace(root, "") for line in lines[start:] if line.strip())


def _cpu(who: int = resource.RUSAGE_SELF) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def _timed(fn: Any, cpu: list[float] | None = None) -> tuple[float, Any]:
    """``fn()``'s wall time and result; its CPU time (every thread) appended to ``cpu``."""
    before, start = _cpu(), time.perf_counter()
    out = fn()
    seconds = time.perf_counter() - start
    if cpu is not None:
        cpu.append(_cpu() - before)
    return seconds, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--inputs", type=int, default=20)
    parser.add_argument("--rows-per-day", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--note", default="", help="a remark on the machine for RESULTS.md")
    parser.add_argument("--no-write", action="store_true", help="print, do not append RESULTS.md")
    args = parser.parse_args()
    started, load_start = _env.stamp(), os.getloadavg()[0]
    shape = Shape(
        NAME, args.inputs, "1mo", args.days, args.rows_per_day, timedelta(days=1), args.days // 2
    )
    with tempfile.TemporaryDirectory(prefix="bench-monthly-") as tmp:
        root = Path(tmp)
        ws = Workspace(root, settings=Settings(workspace=root, actor="bench@bank.example"))
        now = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        print(f"building: {args.days} daily files of {args.rows_per_day} rows", flush=True)
        build_seconds, _ = _timed(lambda: build_charter(ws, shape, SEED, now, 1, monitored=False))
        scored = _scored(ws)
        first, run = _timed(lambda: monitor(ws, NAME))
        months, rows = _check(run, shape, scored)
        print(f"first monitor {first:.2f}s: {months} months, {rows:,} rows", flush=True)
        stored: list[float] = []
        command: list[float] = []
        cpu: dict[str, list[float]] = {"stored": [], "command": [], "new day": []}
        for i in range(args.runs):
            seconds, run = _timed(lambda: monitor(ws, NAME), cpu["stored"])
            _check(run, shape, scored)
            stored.append(seconds)
            command.append(_command(root, cpu["command"]))
            print(f"  run {i + 1}: stored {stored[-1]:.3f}s, command {command[-1]:.3f}s")
        profile = _profile(ws) if statistics.median(stored) > TARGET_S else ""
        new_day: list[float] = []
        for day in range(args.runs):
            _new_day(ws, shape, day)
            seconds, run = _timed(lambda: monitor(ws, NAME), cpu["new day"])
            new_day.append(seconds)
            print(f"  new day {day + 1}: {seconds:.3f}s", flush=True)
    load_end = os.getloadavg()[0]
    text = report(args, started, (load_start, load_end), build_seconds, first, months, rows)
    text += _table(stored, command, new_day, cpu, args.runs, profile)
    print(text)
    if not args.no_write:
        common.append_results(text)


def report(
    args: argparse.Namespace,
    started: str,
    load: tuple[float, float],
    build_seconds: float,
    first: float,
    months: int,
    rows: int,
) -> str:
    command = (
        f"python -m benchmarks.monthly --days {args.days} --inputs {args.inputs} "
        f"--rows-per-day {args.rows_per_day} --runs {args.runs}"
    )
    note = f"; {args.note}" if args.note else ""
    return "\n".join(
        [
            f"\n## Monthly windows from stored summaries — {started}\n",
            f"Machine: {_env.machine()}. Packages: {_env.versions(PACKAGES)}. SQLite store. "
            f"Load average (1 min) at start {load[0]:.1f}, at end {load[1]:.1f}{note}.",
            f"Data: {args.days} daily batches × {args.inputs} inputs "
            f"({args.inputs - args.inputs // 3} numeric, {args.inputs // 3} categorical), "
            f"{args.rows_per_day:,} rows a day, ingested one batch per file through charter's "
            f"own ingest and labelled ({build_seconds:.0f} s to build); a `1mo` charter with two "
            f"rules (one on a segment): {months} calendar months, {rows:,} scored rows; first "
            f"`monitor` (every batch summarised) {first:.2f} s.",
            f"Command: `{command}`. In process: `charter.services.monitoring.monitor`; the "
            "command: `charter monitor` in a new process (start-up included). Entries "
            "alternate.",
            "",
            "",
        ]
    )


def _table(
    stored: list[float],
    command: list[float],
    new_day: list[float],
    cpu: dict[str, list[float]],
    runs: int,
    profile: str,
) -> str:
    def row(label: str, times: list[float], cpu: list[float]) -> str:
        median = statistics.median(times)
        ok = "yes" if median < TARGET_S else "**no**"
        return (
            f"| {label} | {runs} | {median:.3f} | {min(times):.3f} "
            f"| {statistics.median(cpu):.3f} | {ok} |"
        )

    lines = [
        "| monitor, 1mo windows | runs | median s | min s | median CPU s | under 1 s (median) |",
        "| --- | ---: | ---: | ---: | ---: | --- |",
        row("from stored summaries, nothing new (in process)", stored, cpu["stored"]),
        row("`charter monitor` command (new process, start-up included)", command, cpu["command"]),
        row("a new daily batch, then monitor (in process)", new_day, cpu["new day"]),
        "",
        f"Headline (medians): a year of monthly windows from stored summaries in "
        f"{statistics.median(stored):.2f} s in process (min {min(stored):.2f}), "
        f"{statistics.median(command):.2f} s as the `charter monitor` command; with a new daily "
        f"batch {statistics.median(new_day):.2f} s; CPU time (user + system, every thread) "
        f"{statistics.median(cpu['stored']):.2f} s from stored summaries, the steadier figure on "
        f"a loaded machine; target under {TARGET_S:.0f} s on a quiet machine.",
        "",
    ]
    if profile:
        lines += [
            "Profile of one run from stored summaries (cProfile, cumulative):",
            "",
            "```",
            profile,
            "```",
            "",
        ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
