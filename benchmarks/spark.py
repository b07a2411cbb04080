"""The same ingest + score + log + summarise through the local engine and through Spark ``local[2]``.

Run: ``python -m benchmarks.spark [--rows 20000000]`` from the repository root, in the main
virtual environment (pyspark and Java 17 needed; no peers).

The landing file, charter and model are those of :mod:`benchmarks.ingest` (one Parquet file of N
rows, 17 rules, a scikit-learn pipeline in shadow). Each engine runs in its own child process:
``ingest(ws, name, engine=...)`` (read, validate, score, write the prediction log and
quarantine, commit), then the engine's ``summarise`` of every numeric input of the logged rows
(monitoring's mergeable summaries, on reference edges). The Spark child starts its session
before the clock starts (start-up is not timed; it is reported). Peak memory is sampled every
0.1 s over the child's whole process tree (for Spark: the Python driver, the JVM and the Python
workers), as the sum of their resident sets. Before the table, the two engines' logs are
compared: the same keys and the same scores.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from benchmarks.ingest import FLOATS, INTS, NAME, child_charter, landing_file, train_model

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).with_name("RESULTS.md")
MASTER = "local[2]"


def _tree_rss_mib(pid: int) -> float:
    """Resident memory of ``pid`` and all its descendants, in MiB (from /proc)."""
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
            total += next(
                int(ln.split()[1]) for ln in status.splitlines() if ln.startswith("VmRSS:")
            )
            for task in Path(f"/proc/{current}/task").iterdir():
                todo.extend(int(c) for c in (task / "children").read_text().split())
        except (OSError, StopIteration):
            continue
    return total / 1024


class PeakSampler:
    """The peak of :func:`_tree_rss_mib` of this process, sampled in a thread."""

    def __init__(self) -> None:
        self.peak, self._stop = 0.0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, _tree_rss_mib(os.getpid()))
            time.sleep(0.1)

    def __enter__(self) -> PeakSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, _tree_rss_mib(os.getpid()))


def child(engine: str, file: Path, model: Path, workdir: Path) -> dict[str, Any]:
    from charter.engines.base import engine_for
    from charter.plumbing.predictions import read_predictions
    from charter.settings import Settings
    from charter.workspace import Workspace

    os.environ["CHARTER_SPARK_MASTER"] = MASTER
    started = time.perf_counter()
    compute = engine_for(engine, Settings())
    if engine == "spark":
        compute.spark.range(1).count()  # type: ignore[attr-defined]  # start the session
    startup = time.perf_counter() - started
    with PeakSampler() as sampler:
        out = child_charter(file, model, workdir, 1_000_000, engine=engine)
        t = time.perf_counter()
        root = workdir / "ws"
        ws = Workspace(
            root,
            settings=Settings(
                workspace=root,
                database_url=f"sqlite:///{root / 'charter.db'}",
                audit_key_file=workdir / "audit.key",
                actor="bench",
            ),
        )
        log = read_predictions(ws, NAME).collect()
        inputs = log.get_column("inputs") if "inputs" in log.columns else None
        for name in INTS + FLOATS:
            values = (inputs.struct.field(name) if inputs is not None else log[name]).cast(
                pl.Float64
            )
            compute.summarise(values.to_arrow(), "numeric")
        summarise = time.perf_counter() - t
        log.select("key", "score").sort("key").write_parquet(workdir / f"scores-{engine}.parquet")
        ws.close()
    out.update(summarise_seconds=summarise, startup_seconds=startup, peak_tree_mib=sampler.peak)
    return out


def run_child(engine: str, file: Path, model: Path, workdir: Path) -> dict[str, Any]:
    command = [sys.executable, "-m", "benchmarks.spark", "--child", engine, "--file", str(file)]
    command += ["--model", str(model), "--workdir", str(workdir)]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{engine} child failed ({done.returncode}):\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=20_000_000)
    parser.add_argument("--no-record", action="store_true", help="print, do not append RESULTS.md")
    parser.add_argument("--child", choices=["polars", "spark"], help=argparse.SUPPRESS)
    parser.add_argument("--file", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--model", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--workdir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.file, args.model, args.workdir)))
        return

    started = f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
    file = landing_file(args.rows)
    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-spark-") as tmp:
        model = train_model(file, Path(tmp) / "model.joblib")
        for engine in ("polars", "spark"):
            workdir = Path(tmp) / engine
            workdir.mkdir()
            results[engine] = run_child(engine, file, model, workdir)
            print(engine, results[engine], flush=True)
        a = pl.read_parquet(Path(tmp) / "polars" / "scores-polars.parquet")
        b = pl.read_parquet(Path(tmp) / "spark" / "scores-spark.parquet")
        same_keys = a["key"].equals(b["key"])
        worst = float((a["score"] - b["score"]).abs().max() or 0.0) if same_keys else float("nan")
    lines = [
        f"## Spark engine against the local engine — {started}",
        "",
        f"Machine: {os.cpu_count()} cores; Spark master `{MASTER}`. "
        f"Command: `python -m benchmarks.spark --rows {args.rows}`",
        f"Agreement: same logged keys: {same_keys}; largest |score difference|: {worst:.3g}.",
        "",
        "| engine | rows | ingest s | summarise s | rows/s (ingest) | session start s | peak MiB (process tree) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for engine, r in results.items():
        lines.append(
            f"| {engine} | {r['rows_in']:,} | {r['seconds']:.2f} | {r['summarise_seconds']:.2f} | "
            f"{r['rows_in'] / r['seconds']:,.0f} | {r['startup_seconds']:.1f} | "
            f"{r['peak_tree_mib']:,.0f} |"
        )
    p, s = results["polars"], results["spark"]
    lines += [
        "",
        f"Headline (one run each): Spark ÷ local engine, ingest {s['seconds'] / p['seconds']:.1f}×, "
        f"summarise {s['summarise_seconds'] / p['summarise_seconds']:.1f}×; peak memory "
        f"{p['peak_tree_mib']:,.0f} MiB local, {s['peak_tree_mib']:,.0f} MiB Spark.",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    if not args.no_record:
        with RESULTS.open("a") as out:
            out.write("\n" + text)


if __name__ == "__main__":
    main()
