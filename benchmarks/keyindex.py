"""Memory of ingest over a long-lived charter: 100 batches of 1,000,000 rows, one after another.

Run: ``python -m benchmarks.keyindex [--batches 100] [--rows 1000000] [--keys ordered|random]``
from the repository root, in the main virtual environment (no peers).

Every batch is a new landing file of the ingest benchmark's shape (``benchmarks.ingest``: a key,
an event time, 10 columns, ~1% bad rows), ingested by its own ``ingest()`` call in one process,
as a scheduler would run it after each delivery, into one SQLite workspace. No model is
registered (scoring is not what grows). The keys never repeat across batches; with
``--keys ordered`` they are sequence numbers, with ``--keys random`` 64-bit random integers, so
every earlier run's key range meets every batch's (the hard case for the key index).

Per batch: the process's peak RSS during that ``ingest()`` (VmHWM, reset before each batch via
``/proc/self/clear_refs``), its RSS before, the seconds, and the key runs the index lists. If the
keys of earlier batches were held in memory, the peak would grow by ~28 bytes per key per batch.
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from benchmarks import ingest as shape

RESULTS = Path(__file__).with_name("RESULTS.md")


def _status_mib(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


def batch_frame(number: int, rows: int, keys: str) -> pl.DataFrame:
    """Batch ``number``: the ingest benchmark's rows, its keys made unique across batches."""
    frame = shape._chunk(number * rows, rows, shape.SEED)
    if keys == "random":
        rng = np.random.default_rng([shape.SEED, number])
        fresh = pl.Series("id", rng.integers(0, 2**62, rows, dtype=np.int64))
        # the batch's copies (exact duplicates of the row before) stay copies
        repeat = frame.get_column("id").eq(frame.get_column("id").shift(1)).fill_null(False)
        frame = frame.with_columns(
            pl.when(pl.lit(repeat)).then(None).otherwise(pl.lit(fresh)).forward_fill().alias("id")
        )
    return frame


def run(batches: int, rows: int, keys: str, workdir: Path) -> list[dict[str, Any]]:
    import sqlalchemy as sa

    from charter.plumbing.ingest import ingest
    from charter.store.tables import KeyRun

    landing = workdir / "landing"
    landing.mkdir()
    marker = landing / "landing.parquet"  # bench_workspace points the charter at this folder
    ws = shape.bench_workspace(workdir, marker)
    out = []
    for number in range(batches):
        file = landing / f"batch-{number:04d}.parquet"
        batch_frame(number, rows, keys).write_parquet(file)
        gc.collect()
        before = _status_mib("VmRSS")
        Path("/proc/self/clear_refs").write_text("5")
        start = time.perf_counter()
        report = ingest(ws, shape.NAME).to_dict()
        seconds = time.perf_counter() - start
        peak = _status_mib("VmHWM")
        file.unlink()
        with ws.db.read() as session:
            listed = session.scalar(sa.select(sa.func.count()).select_from(KeyRun))
        (batch,) = report["batches"]
        out.append(
            {
                "batch": number + 1,
                "seconds": seconds,
                "before_mib": before,
                "peak_mib": peak,
                "rows_in": batch["rows_in"],
                "scored": batch["rows_scored"],
                "quarantined": batch["rows_quarantined"],
                "runs": int(listed or 0),
            }
        )
        print(out[-1], flush=True)
    ws.close()
    return out


def render(
    args: argparse.Namespace, results: list[dict[str, Any]], load: tuple[float, float]
) -> str:
    peaks = [r["peak_mib"] for r in results]
    tenth = max(1, len(results) // 10)
    first, last = results[:tenth], results[-tenth:]
    growth = statistics.median(r["peak_mib"] for r in last) - statistics.median(
        r["peak_mib"] for r in first
    )
    keys_between = (results[-1]["batch"] - results[0]["batch"]) * args.rows
    per_key = growth * 2**20 / keys_between if keys_between else 0.0
    lines = [
        f"\n## Key index: ingest memory over {args.batches} batches — "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC\n",
        f"Machine: {shape._machine()}. Load average (1 min) at start {load[0]:.1f}, at end "
        f"{load[1]:.1f}: the machine is shared and was loaded by other work.",
        f"Data: {args.batches} landing files of {args.rows:,} rows each (the ingest benchmark's "
        f"shape), keys {args.keys} and never repeated across batches; each ingested by its own "
        "`ingest()` call in one process, into one SQLite workspace, no model registered.",
        f"Command: `python -m benchmarks.keyindex --batches {args.batches} --rows {args.rows} "
        f"--keys {args.keys}`",
        "",
        "| batch | keys logged before | seconds | RSS before MiB | peak RSS MiB | key runs listed |",
        "| ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    shown = sorted({0, 1, 4, 9, 24, 49, 74, len(results) - 1} & set(range(len(results))))
    for i in shown:
        r = results[i]
        lines.append(
            f"| {r['batch']} | {sum(x['scored'] for x in results[:i]):,} | {r['seconds']:.1f} | "
            f"{r['before_mib']:,.0f} | {r['peak_mib']:,.0f} | {r['runs']} |"
        )
    times = [r["seconds"] for r in results]
    lines += [
        "",
        f"Headline: peak RSS per batch {min(peaks):,.0f}–{max(peaks):,.0f} MiB over "
        f"{len(results)} batches (median {statistics.median(peaks):,.0f}); the median of the last "
        f"tenth minus that of the first: {growth:+,.0f} MiB over {keys_between:,} more keys "
        f"logged ({per_key:+.1f} bytes per key; keys held in memory cost ~28). Seconds per batch: "
        f"median {statistics.median(times):.1f}, first {times[0]:.1f}, last {times[-1]:.1f}.",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--batches", type=int, default=100)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--keys", choices=["ordered", "random"], default="ordered")
    parser.add_argument("--no-record", action="store_true", help="print, do not append RESULTS.md")
    args = parser.parse_args()
    load_start = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="bench-keyindex-") as tmp:
        results = run(args.batches, args.rows, args.keys, Path(tmp))
    text = render(args, results, (load_start, os.getloadavg()[0]))
    print(text)
    if not args.no_record:
        with RESULTS.open("a") as handle:
            handle.write(text)


if __name__ == "__main__":
    main()
