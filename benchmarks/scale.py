"""Larger than memory: ``charter ingest`` then ``charter monitor`` of one N-row Parquet file on the
local engine, with the peak resident memory of each (issue 13, point 4).

Run: ``python -m benchmarks.scale [--rows 50000000]`` from the repository root, in the main virtual
environment (no peers: the question is whether memory stays bounded, not who is faster).

The landing file, charter and model are :mod:`benchmarks.ingest`'s (a key, an event time and 10
inputs, ~1% of rows breaking the contract, a scikit-learn pipeline in shadow; events one second
apart, so 50,000,000 rows fall in 84 weekly windows). The model is registered with a labelled
reference of 200,000 rows drawn like the file, so monitoring computes drift of every input
against it. Each step runs in its own child process through the public API, as the CLI would
(``ingest(ws, name)``, then ``monitor(ws, name)``); the parent reads each child's peak RSS from
``os.wait4``. The file's size on disk and in memory (Arrow) are reported beside them, so the
bound can be read against what loading the file would cost.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from benchmarks.ingest import (
    NAME,
    ROOT,
    SEED,
    _load,
    _machine,
    bench_workspace,
    landing_file,
    train_model,
)

RESULTS = Path(__file__).with_name("RESULTS.md")
REFERENCE_ROWS = 200_000


def _reference(file: Path, model: Path, out: Path) -> Path:
    """A labelled sample of the landing file's first rows (the model's own outcome process)."""
    import joblib

    frame = pl.scan_parquet(file).head(REFERENCE_ROWS).collect().drop_nulls()
    scores = joblib.load(model).predict_proba(frame.to_pandas())[:, 1]
    outcome = np.random.default_rng(SEED).random(frame.height) < scores
    frame.with_columns(outcome=pl.Series(outcome.astype(np.int64))).write_parquet(out)
    return out


def child(step: str, file: Path, model: Path, workdir: Path) -> dict[str, Any]:
    ws = bench_workspace(workdir, file)
    start = time.perf_counter()
    if step == "ingest":
        from charter.monitoring.reference import set_reference
        from charter.plumbing.ingest import ingest
        from charter.registry.versions import register_version

        reference = _reference(file, model, workdir / "reference.parquet")
        info = register_version(ws, NAME, model)
        set_reference(ws, NAME, info.version, reference)
        start = time.perf_counter()
        report = ingest(ws, NAME).to_dict()
        out = {k: report[k] for k in ("rows_in", "rows_scored", "rows_quarantined", "balanced")}
    else:
        from charter.services.monitoring import monitor

        result = monitor(ws, NAME)
        windows = result.windows
        out = {
            "windows": len(windows),
            "rows": sum(int(w.data["quality"]["rows"]) for w in windows),
            "drift_computed": sum(
                1
                for w in windows
                for c in w.data["drift"].values()
                if c["psi"]["value"] is not None
            ),
        }
    out["seconds"] = time.perf_counter() - start
    ws.close()
    return out


def run_child(step: str, file: Path, model: Path, workdir: Path) -> dict[str, Any]:
    command = [sys.executable, "-m", "benchmarks.scale", "--child", step, "--file", str(file)]
    command += ["--model", str(model), "--workdir", str(workdir)]
    proc = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE)
    assert proc.stdout is not None
    output = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"the {step} child failed")
    result: dict[str, Any] = json.loads(output.decode().strip().splitlines()[-1])
    result["peak_mib"] = usage.ru_maxrss / 1024
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=50_000_000)
    parser.add_argument("--note", default="", help="what else ran on the machine")
    parser.add_argument("--no-record", action="store_true", help="print, do not append RESULTS.md")
    parser.add_argument("--child", choices=["ingest", "monitor"], help=argparse.SUPPRESS)
    parser.add_argument("--file", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--model", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--workdir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.file, args.model, args.workdir)))
        return
    file = landing_file(args.rows)
    on_disk = file.stat().st_size / 2**20
    in_memory = pl.read_parquet(file).estimated_size("mb") if args.rows <= 5_000_000 else None
    load_start = _load()
    with tempfile.TemporaryDirectory(prefix="charter-scale-") as tmp:
        workdir = Path(tmp)
        model = train_model(file, workdir / "model.joblib")
        ingested = run_child("ingest", file, model, workdir)
        monitored = run_child("monitor", file, model, workdir)
    assert ingested["balanced"], ingested
    report = _report(args, file, on_disk, in_memory, ingested, monitored, load_start)
    print(report)
    if not args.no_record:
        with RESULTS.open("a") as out:
            out.write(report)


def _report(
    args: argparse.Namespace,
    file: Path,
    on_disk: float,
    in_memory: float | None,
    ingested: dict[str, Any],
    monitored: dict[str, Any],
    load_start: float,
) -> str:
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    arrow = (
        "not loaded (too large to load for a comparison)"
        if in_memory is None
        else (f"{in_memory:,.0f} MiB")
    )
    lines = [
        f"\n## scale: {args.rows:,} rows through ingest and monitor, local engine ({when})\n",
        f"- machine: {_machine()}; load average {load_start:.1f} at start, {_load():.1f} at end"
        + (f"; {args.note}" if args.note else ""),
        f"- command: `python -m benchmarks.scale --rows {args.rows}`",
        f"- landing file: {file.name}, {on_disk:,.0f} MiB on disk (zstd Parquet); in memory: "
        f"{arrow}",
        "",
        "| step | seconds | peak RSS (MiB) | what it did |",
        "| --- | ---: | ---: | --- |",
        f"| ingest | {ingested['seconds']:.1f} | {ingested['peak_mib']:,.0f} | "
        f"{ingested['rows_in']:,} rows in, {ingested['rows_scored']:,} scored, "
        f"{ingested['rows_quarantined']:,} quarantined |",
        f"| monitor | {monitored['seconds']:.1f} | {monitored['peak_mib']:,.0f} | "
        f"{monitored['windows']} windows, {monitored['rows']:,} rows, "
        f"{monitored['drift_computed']} drift values |",
        "",
        f"Headline (one run): {ingested['rows_in']:,} rows ingested in {ingested['seconds']:.0f} s "
        f"at a peak of {ingested['peak_mib']:,.0f} MiB, monitored in {monitored['seconds']:.0f} s "
        f"at {monitored['peak_mib']:,.0f} MiB.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
