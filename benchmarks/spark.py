"""The same ingest + score + log + summarise through the local engine and through Spark
``local[2]`` and ``local[1]``.

Run: ``python -m benchmarks.spark [--rows 20000000]`` from the repository root, in the main
virtual environment (pyspark and Java 17 needed; no peers).

The landing file, charter and model are those of :mod:`benchmarks.ingest` (one Parquet file of N
rows, 17 rules, a scikit-learn pipeline in shadow). Each run is its own child process:
``ingest(ws, name, engine=...)`` (read, validate, score, write the prediction log and
quarantine, commit), then the summaries of the six numeric inputs of the logged rows on
reference edges (monitoring's mergeable summaries; the reference is the file's first 200,000
rows, summarised once by the parent): the local engine reads the log's input columns and
summarises them, Spark reads the committed log files on its executors
(:meth:`~charter.engines.spark.SparkEngine.summarise_files`). On Spark the whole file stays on
the executors (:mod:`charter.plumbing.spark_ingest`). The Spark child starts its session before
the clock starts (start-up is not timed; it is reported). Peak memory is sampled every 0.1 s
over the child's whole process tree (for Spark: the Python driver, the JVM and the Python
workers), as the sum of their resident sets, and for the driver's Python process alone. The
runs go in turn (local, Spark local[2], Spark local[1]), ``--repeat`` times, alternating; the
table has medians with minima. Before it, the logs are compared: the same keys and scores.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
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
MASTERS = ("local[2]", "local[1]")


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


def _own_rss_mib() -> float:
    status = Path("/proc/self/status").read_text()
    return next(int(ln.split()[1]) for ln in status.splitlines() if ln.startswith("VmRSS:")) / 1024


class PeakSampler:
    """The peak of :func:`_tree_rss_mib` of this process (and of this process alone), sampled
    in a thread."""

    def __init__(self) -> None:
        self.peak, self.own, self._stop = 0.0, 0.0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, _tree_rss_mib(os.getpid()))
            self.own = max(self.own, _own_rss_mib())
            time.sleep(0.1)

    def __enter__(self) -> PeakSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, _tree_rss_mib(os.getpid()))


def child(engine: str, master: str, file: Path, model: Path, workdir: Path) -> dict[str, Any]:
    import logging

    from charter.engines.base import engine_for
    from charter.engines.summaries import summary_from_dict
    from charter.plumbing.lake import lake_for
    from charter.plumbing.predictions import committed_files, read_predictions
    from charter.plumbing.spark_ingest import spark_path
    from charter.settings import Settings
    from charter.workspace import Workspace

    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    logging.getLogger("charter.spark").setLevel(logging.INFO)
    os.environ["CHARTER_SPARK_MASTER"] = master
    references = {
        name: summary_from_dict(found)
        for name, found in json.loads((workdir.parent / "references.json").read_text()).items()
    }
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
        if engine == "spark":  # the executors read the committed log files
            lake = lake_for(ws)
            paths = [spark_path(lake, key) for key in committed_files(ws, NAME)]
            summaries = compute.summarise_files(paths, references)  # type: ignore[attr-defined]
        else:
            inputs = read_predictions(ws, NAME).select(
                *[pl.col("inputs").struct.field(name) for name in references]
            )
            summaries = {}
            for name, reference in references.items():
                values = inputs.select(name).collect().to_series().cast(pl.Float64)
                summaries[name] = compute.summarise(values.to_arrow(), "numeric", like=reference)
        summarise = time.perf_counter() - t
        counts = {name: int(s.count) for name, s in summaries.items()}  # type: ignore[attr-defined]
        log = read_predictions(ws, NAME).select("key", "score").collect()
        log.sort("key").write_parquet(workdir / "scores.parquet")
        ws.close()
    out.update(
        summarise_seconds=summarise,
        startup_seconds=startup,
        peak_tree_mib=sampler.peak,
        peak_driver_mib=sampler.own,
        summarised=counts,
    )
    return out


def run_child(engine: str, master: str, file: Path, model: Path, workdir: Path) -> dict[str, Any]:
    command = [sys.executable, "-m", "benchmarks.spark", "--child", engine, "--file", str(file)]
    command += ["--model", str(model), "--workdir", str(workdir), "--master", master]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{engine} child failed ({done.returncode}):\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    result["phases"] = [
        line.split("charter.spark:", 1)[1].strip()
        for line in done.stderr.splitlines()
        if "charter.spark:" in line
    ]
    return result


def _references(file: Path, out: Path) -> None:
    """The numeric inputs' reference summaries, from the file's first 200,000 rows."""
    from charter.engines.base import engine_for

    local = engine_for("polars")
    head = pl.scan_parquet(file).head(200_000).collect()
    found = {
        name: local.summarise(head[name].cast(pl.Float64).to_arrow(), "numeric").to_dict()
        for name in INTS + FLOATS
    }
    out.write_text(json.dumps(found))


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=20_000_000)
    parser.add_argument("--repeat", type=int, default=1, help="runs of each, alternating")
    parser.add_argument("--no-record", action="store_true", help="print, do not append RESULTS.md")
    parser.add_argument("--child", choices=["polars", "spark"], help=argparse.SUPPRESS)
    parser.add_argument("--master", default=MASTERS[0], help=argparse.SUPPRESS)
    parser.add_argument("--file", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--model", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--workdir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.master, args.file, args.model, args.workdir)))
        return

    started = f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
    load_before = os.getloadavg()
    file = landing_file(args.rows)
    peers = [("polars", "-"), *[("spark", master) for master in MASTERS]]
    runs: dict[tuple[str, str], list[dict[str, Any]]] = {peer: [] for peer in peers}
    agreement: list[str] = []
    with tempfile.TemporaryDirectory(prefix="bench-spark-") as tmp:
        model = train_model(file, Path(tmp) / "model.joblib")
        _references(file, Path(tmp) / "references.json")
        for attempt in range(args.repeat):
            for n, (engine, master) in enumerate(peers):
                workdir = Path(tmp) / f"{engine}-{n}-{attempt}"
                workdir.mkdir()
                result = run_child(engine, master, file, model, workdir)
                runs[(engine, master)].append(result)
                print(engine, master, result, flush=True)
                if engine == "spark":
                    a = pl.read_parquet(next(Path(tmp).glob("polars-*")) / "scores.parquet")
                    b = pl.read_parquet(workdir / "scores.parquet")
                    same = a["key"].equals(b["key"])
                    worst = float((a["score"] - b["score"]).abs().max() or 0.0) if same else -1.0
                    agreement.append(
                        f"{master}: same keys {same}, largest |score diff| {worst:.3g}"
                    )
                shutil.rmtree(workdir / "ws", ignore_errors=True)
    load_after = os.getloadavg()
    summarised = {f"{e} {m}": runs[(e, m)][0]["summarised"] for e, m in peers}
    same_counts = len({json.dumps(v, sort_keys=True) for v in summarised.values()}) == 1
    lines = [
        f"## Spark engine against the local engine — {started}",
        "",
        f"Machine: {os.cpu_count()} cores, shared with other jobs (load average "
        f"{load_before[0]:.1f} before, {load_after[0]:.1f} after). "
        f"Command: `python -m benchmarks.spark --rows {args.rows} --repeat {args.repeat}`. "
        f"Runs alternate (local, Spark local[2], Spark local[1]); medians, minima in brackets.",
        f"Agreement with the local engine's log: {'; '.join(sorted(set(agreement)))}. "
        f"Summaries count the same rows on every run: {same_counts}.",
        "",
        "| engine | master | rows | ingest s | summarise s | rows/s (ingest) | session start s "
        "| peak MiB (process tree) | peak MiB (driver) |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for engine, master in peers:
        found = runs[(engine, master)]
        ingest_s = [r["seconds"] for r in found]
        summ_s = [r["summarise_seconds"] for r in found]
        lines.append(
            f"| {engine} | {master} | {found[0]['rows_in']:,} | {_median(ingest_s):.1f} "
            f"[{min(ingest_s):.1f}] | {_median(summ_s):.1f} [{min(summ_s):.1f}] | "
            f"{found[0]['rows_in'] / _median(ingest_s):,.0f} | "
            f"{_median([r['startup_seconds'] for r in found]):.1f} | "
            f"{_median([r['peak_tree_mib'] for r in found]):,.0f} | "
            f"{_median([r['peak_driver_mib'] for r in found]):,.0f} |"
        )
    two = _median([r["seconds"] for r in runs[("spark", MASTERS[0])]])
    one = _median([r["seconds"] for r in runs[("spark", MASTERS[1])]])
    local = _median([r["seconds"] for r in runs[("polars", "-")]])
    lines += [
        "",
        f"Headline: ingest (read, validate, score, log, commit) of {args.rows:,} rows: local "
        f"engine {local:.1f} s, Spark local[2] {two:.1f} s ({two / local:.1f}x the local "
        f"engine's time), Spark local[1] {one:.1f} s (local[2] is {one / two:.2f}x as fast as "
        "local[1]); summaries in their own column.",
        "",
        "Where a Spark batch's time went (first run of each master):",
        "",
    ]
    for master in MASTERS:
        phases = runs[("spark", master)][0]["phases"]
        lines.append(f"- {master}: " + "; ".join(p.split(": ", 1)[-1] for p in phases))
    text = "\n".join(lines) + "\n"
    print(text)
    if not args.no_record:
        with RESULTS.open("a") as out:
            out.write("\n" + text)


if __name__ == "__main__":
    main()
