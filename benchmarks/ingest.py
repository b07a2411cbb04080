"""Batch scoring + logging: ``charter ingest`` against the bare floor, on N rows of Parquet.

Run: ``python -m benchmarks.ingest [--rows 5000000] [--large 20000000]`` from the repository root,
in the main virtual environment (no peers: the comparison is the floor).

One Parquet landing file of N rows (a key, an event time and 10 columns: 3 int, 3 float, 4 string;
~1% of rows breaking the contract) is generated with a fixed seed and cached in
``benchmarks/.data``. A scikit-learn pipeline (impute + scale the numbers, one-hot the small
categoricals, logistic regression) is trained on a sample and registered; the first version starts
in shadow, so ingestion scores it.

- **charter**: ``ingest(ws, name)`` of the file in a fresh SQLite workspace: fingerprint, read in
  chunks, validate 17 rules, score the valid rows, write the prediction log and the quarantine,
  commit the batch.
- **chunked floor** (the headline's): the file read ``--chunk-rows`` rows at a time, as charter
  reads it, ``predict_proba`` of each chunk, the key and score appended to one Parquet file.
- **whole-file floor**: ``pl.read_parquet`` of the file, ``predict_proba`` of the same model on
  the same feature columns (all rows: the floors validate nothing), ``write_parquet`` of the key
  and score; it holds the whole file in memory.

Each repetition runs in its own child process (the three alternating); the child times
only the work (imports, workspace set-up and model registration are not timed) and the parent
reads the child's peak RSS from ``os.wait4``. Before the table, the scores charter logged for the
valid rows are compared with the floor's predictions for the same keys.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).with_name(".data")
RESULTS = Path(__file__).with_name("RESULTS.md")
SEED = 20261124
NAME = "bench-ingest"
GEN_CHUNK = 1_000_000
BAD_RATE = 0.001  # per broken rule; 10 rules plus duplicate keys make ~1% bad rows
INTS = ["age", "n_accounts", "tenure_months"]
FLOATS = ["income", "debt_ratio", "utilisation"]
STRINGS = ["employment", "region", "postcode", "channel"]
FEATURES = INTS + FLOATS + STRINGS
CATEGORICAL = ["employment", "region", "channel"]
EMPLOYMENT = ["salaried", "self_employed", "unemployed", "retired"]
REGIONS = ["north", "south", "east", "west", "central"]
CHANNELS = ["web", "branch", "phone"]
T0 = datetime(2026, 11, 1)

CHARTER = """\
name: {name}
decision: "Benchmark: approve or refer a credit application"
task: binary_classification
owner: {{name: "Bench Owner", email: bench.owner@example.com, role: "Business owner"}}
delegates: []
stewards:
  - {{name: "Bench", email: bench@example.com}}
sufficiency:
  window: 7d
  min_labels: 200
  label_delay: 30d
  metrics:
    - {{metric: roc_auc, at_least: 0.75}}
data:
  source: {{kind: parquet_dir, path: {landing}, settle: 0s}}  # the file is complete when written
  key: id
  event_time: event_at
  freshness: {{max_lateness: 2h}}
  volume: {{min_rows: 1}}
  fields:
    id:            {{type: int, nullable: false, unique: true}}
    event_at:      {{type: datetime, nullable: false}}
    age:           {{type: int, nullable: false, min: 18, max: 100}}
    n_accounts:    {{type: int, min: 0, max: 50}}
    tenure_months: {{type: int, nullable: false, min: 0, max: 600}}
    income:        {{type: float, nullable: false, min: 0}}
    debt_ratio:    {{type: float, min: 0, max: 5}}
    utilisation:   {{type: float, min: 0, max: 1}}
    employment:    {{type: string, nullable: false, allowed: {employment}}}
    region:        {{type: string, allowed: {regions}}}
    postcode:      {{type: string, pattern: "[A-Z]{{2}}[0-9]{{3}}"}}
    channel:       {{type: string, allowed: {channels}}}
labels: {{key: id, target: outcome}}
operations:
  monitor: {{every: 1h, reference: training, drift: {{method: psi, warn: 0.1, breach: 0.25}}}}
  alerts:
    - {{route: log, on: [breach]}}
  rollback: {{automatic: false, after_breaches: 2}}
  promotion: {{shadow_min_batches: 20, approval: owner}}
  decision_deadline: 5d
"""
KINDS = (
    "charter",
    "chunked",
    "floor",
)  # charter, the chunked floor (the headline's), the whole-file floor
RULES = 17  # 6 not-null, a unique key, 6 ranges, 3 allowed sets, 1 pattern


# -- data ----------------------------------------------------------------------------------------
def _chunk(start: int, rows: int, seed: int) -> pl.DataFrame:
    """Rows ``start .. start+rows`` of the landing file; each chunk has its own seeded generator."""
    rng = np.random.default_rng([seed, start])

    def pick(pool: list[str]) -> pl.Series:
        return pl.Series(pool).gather(rng.integers(0, len(pool), rows))

    letters = [chr(c) for c in range(65, 91)]
    postcodes = [f"{a}{b}{i:03d}" for a in letters[:12] for b in letters[:12] for i in range(100)]
    ids = np.arange(start, start + rows, dtype=np.int64) + 1_000_000
    df = pl.DataFrame(
        {
            "id": ids,
            "event_at": np.datetime64(T0, "us") + (ids - 1_000_000).astype("timedelta64[s]"),
            "age": rng.integers(18, 101, rows),
            "n_accounts": rng.integers(0, 51, rows),
            "tenure_months": rng.integers(0, 601, rows),
            "income": np.clip(rng.lognormal(10.5, 0.6, rows), 0.0, 9e6),
            "debt_ratio": rng.uniform(0.0, 5.0, rows),
            "utilisation": rng.uniform(0.0, 1.0, rows),
            "employment": pick(EMPLOYMENT),
            "region": pick(REGIONS),
            "postcode": pick(postcodes),
            "channel": pick(CHANNELS),
        }
    )
    broken: list[tuple[str, Any]] = [("age", 150), ("n_accounts", -1), ("debt_ratio", 7.5)]
    broken += [("income", -5.0), ("employment", "contractor"), ("region", "atlantis")]
    broken += [("postcode", "A12345"), ("tenure_months", None), ("income", None)]
    broken += [("employment", None)]
    for column, value in broken:  # one rule at a time: a column may be broken in two ways
        mask = pl.Series(rng.random(rows) < BAD_RATE)
        df = df.with_columns(
            pl.when(pl.lit(mask))
            .then(pl.lit(value, dtype=df.schema[column]))
            .otherwise(pl.col(column))
            .alias(column)
        )
    # Duplicate keys: ~0.05% of rows are an exact copy of the row before (breaks `unique`).
    order = np.arange(rows)
    copies = np.flatnonzero(rng.random(rows) < 0.0005)
    copies = copies[copies > 0]
    order[copies] = copies - 1
    return df[order]


def landing_file(rows: int, seed: int = SEED) -> Path:
    """The cached landing file (alone in its folder, the charter's landing folder)."""
    path = DATA / f"ingest-{rows}-{seed}" / "landing.parquet"
    if path.exists():
        return path
    import pyarrow.parquet as pq

    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(".landing.parquet.tmp")
    writer: pq.ParquetWriter | None = None
    for start in range(0, rows, GEN_CHUNK):
        table = _chunk(start, min(GEN_CHUNK, rows - start), seed).to_arrow()
        if writer is None:
            writer = pq.ParquetWriter(partial, table.schema, compression="zstd")
        writer.write_table(table)
    assert writer is not None
    writer.close()
    partial.rename(path)
    return path


def train_model(file: Path, out: Path, sample: int = 200_000) -> Path:
    """A pipeline fitted on the first ``sample`` rows, with a synthetic outcome; saved with joblib."""
    import joblib
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    frame = pl.scan_parquet(file).head(sample).collect()
    rng = np.random.default_rng(SEED)
    logit = (
        -0.03 * (frame["age"].to_numpy() - 50)
        + 0.6 * frame["debt_ratio"].fill_null(1.0).to_numpy()
        + 1.5 * frame["utilisation"].fill_null(0.5).to_numpy()
        - 0.3 * (frame["employment"] == "salaried").fill_null(False).to_numpy()
        - 2.0
    )
    target = rng.random(frame.height) < 1 / (1 + np.exp(-logit))
    numeric = make_pipeline(SimpleImputer(strategy="median"), StandardScaler())
    columns = ColumnTransformer(
        [
            ("num", numeric, INTS + FLOATS),
            ("cat", OneHotEncoder(handle_unknown="ignore"), CATEGORICAL),
        ]
    )
    model = make_pipeline(columns, LogisticRegression(max_iter=500))
    model.fit(frame.select(FEATURES).to_pandas(), target)
    joblib.dump(model, out)
    return out


# -- the contenders (each in a child process) ----------------------------------------------------
def _vmrss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def bench_workspace(workdir: Path, file: Path) -> Any:
    """The benchmark's workspace in ``workdir/ws`` (SQLite store, the charter landing from
    ``file``'s folder), made on first use and opened as it is afterwards."""
    from charter.settings import Settings
    from charter.workspace import Workspace

    root = workdir / "ws"
    if not (root / "charters").exists():
        (root / "charters").mkdir(parents=True)
        charter = CHARTER.format(
            name=NAME,
            landing=json.dumps(str(file.parent)),
            employment=json.dumps(EMPLOYMENT),
            regions=json.dumps(REGIONS),
            channels=json.dumps(CHANNELS),
        )
        (root / "charters" / f"{NAME}.yaml").write_text(charter)
    settings = Settings(
        workspace=root,
        database_url=f"sqlite:///{root / 'charter.db'}",
        audit_key_file=workdir / "audit.key",
        actor="bench",
    )
    return Workspace(root, settings=settings)


def child_charter(
    file: Path, model: Path, workdir: Path, chunk_rows: int, engine: str | None = None
) -> dict[str, Any]:
    from charter.plumbing.ingest import ingest
    from charter.registry.versions import register_version

    ws = bench_workspace(workdir, file)
    info = register_version(ws, NAME, model)
    assert info.status == "shadow", info.status
    baseline = _vmrss_mib()
    start = time.perf_counter()
    report = ingest(ws, NAME, chunk_rows=chunk_rows, engine=engine).to_dict()
    seconds = time.perf_counter() - start
    ws.close()
    (batch,) = report["batches"]
    return {
        "seconds": seconds,
        "baseline_mib": baseline,
        "rows_in": report["rows_in"],
        "rows_scored": report["rows_scored"],
        "rows_quarantined": report["rows_quarantined"],
        "balanced": report["balanced"],
        "scored_by": report["scored_by"],
        "parts": len(batch["predictions"]),
    }


def child_floor(file: Path, model: Path, workdir: Path) -> dict[str, Any]:
    import joblib

    estimator = joblib.load(model)
    baseline = _vmrss_mib()
    start = time.perf_counter()
    frame = pl.read_parquet(file)
    scores = estimator.predict_proba(frame.select(FEATURES).to_pandas())[:, 1]
    out = frame.select("id").with_columns(score=pl.Series(scores))
    out.write_parquet(workdir / "floor.parquet")
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "baseline_mib": baseline, "rows_in": frame.height}


def child_floor_chunked(file: Path, model: Path, workdir: Path, chunk_rows: int) -> dict[str, Any]:
    """The floor a reader accepts for a stream: ``chunk_rows`` rows at a time, read, predicted and
    appended to one Parquet file, so memory holds one chunk, as charter's ingest does."""
    import joblib
    import pyarrow.parquet as pq

    estimator = joblib.load(model)
    baseline = _vmrss_mib()
    start = time.perf_counter()
    rows = 0
    writer: pq.ParquetWriter | None = None
    for batch in pq.ParquetFile(file).iter_batches(batch_size=chunk_rows):
        frame = pl.from_arrow(batch)
        assert isinstance(frame, pl.DataFrame)
        scores = estimator.predict_proba(frame.select(FEATURES).to_pandas())[:, 1]
        out = frame.select("id").with_columns(score=pl.Series(scores)).to_arrow()
        if writer is None:
            writer = pq.ParquetWriter(workdir / "floor.parquet", out.schema)
        writer.write_table(out)
        rows += frame.height
    assert writer is not None
    writer.close()
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "baseline_mib": baseline, "rows_in": rows}


def run_child(kind: str, file: Path, model: Path, workdir: Path, chunk_rows: int) -> dict[str, Any]:
    """Run one contender in a fresh process; its result plus its own peak RSS (``wait4``)."""
    command = [sys.executable, "-m", "benchmarks.ingest", "--child", kind, "--file", str(file)]
    command += ["--model", str(model), "--workdir", str(workdir), "--chunk-rows", str(chunk_rows)]
    proc = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE)
    assert proc.stdout is not None
    output = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{kind} child failed with exit code {proc.returncode}")
    result: dict[str, Any] = json.loads(output.decode().strip().splitlines()[-1])
    result["peak_mib"] = usage.ru_maxrss / 1024
    return result


# -- agreement -----------------------------------------------------------------------------------
def check_agreement(workdir: Path) -> tuple[int, float]:
    """Rows compared and the largest |charter score - floor score| over the valid rows' keys."""
    from charter.plumbing.predictions import read_predictions
    from charter.settings import Settings
    from charter.workspace import Workspace

    root = workdir / "ws"
    settings = Settings(
        workspace=root,
        database_url=f"sqlite:///{root / 'charter.db'}",
        audit_key_file=workdir / "audit.key",
        actor="bench",
    )
    ws = Workspace(root, settings=settings)
    logged = read_predictions(ws, NAME).select("key", "score").collect()
    ws.close()
    floor = (
        pl.read_parquet(workdir / "floor.parquet")
        .unique("id", keep="first", maintain_order=True)  # duplicates are exact copies
        .select(pl.col("id").cast(pl.String).alias("key"), pl.col("score").alias("floor"))
    )
    joined = logged.join(floor, on="key", how="left")
    assert joined["floor"].null_count() == 0, "charter logged keys the floor did not score"
    diff = float((joined["score"] - joined["floor"]).abs().max() or 0.0)
    assert diff <= 1e-9, f"charter and the floor disagree by {diff:.3g}"
    return joined.height, diff


# -- the run -------------------------------------------------------------------------------------
def _load() -> float:
    return os.getloadavg()[0]


def _machine() -> str:
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    cpu = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip() + ", "
            break
    packages = ", ".join(
        f"{name} {version(name)}"
        for name in ("charter-ml", "polars", "pyarrow", "numpy", "pandas", "scikit-learn")
    )
    return (
        f"{os.cpu_count()} cores ({cpu}{platform.system()} {platform.release()}), {mem:.0f} GiB; "
        f"Python {platform.python_version()}; {packages}; SQLite "
        f"{__import__('sqlite3').sqlite_version}"
    )


def _row(name: str, rows: int, results: list[dict[str, Any]], floor_median: float | None) -> str:
    times = [r["seconds"] for r in results]
    med = statistics.median(times)
    ratio = f"{med / floor_median:.2f}×" if floor_median else "-"
    peak = max(r["peak_mib"] for r in results)
    base = min(r["baseline_mib"] for r in results)
    return (
        f"| {name} | {rows:,} | {len(times)} | {min(times):.2f} | {med:.2f} | {ratio} | "
        f"{rows / med / 1e6:.2f} | {peak:,.0f} ({base:,.0f}) |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--chunk-rows", type=int, default=1_000_000)
    parser.add_argument(
        "--large", type=int, default=0, help="also run one charter and one floor on this many rows"
    )
    parser.add_argument("--no-record", action="store_true", help="print, do not append RESULTS.md")
    parser.add_argument("--child", choices=[*KINDS], help=argparse.SUPPRESS)
    parser.add_argument("--file", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--model", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--workdir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        if args.child == "charter":
            out = child_charter(args.file, args.model, args.workdir, args.chunk_rows)
        elif args.child == "chunked":
            out = child_floor_chunked(args.file, args.model, args.workdir, args.chunk_rows)
        else:
            out = child_floor(args.file, args.model, args.workdir)
        print(json.dumps(out))
        return

    started, load_start = f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC", _load()
    t = time.perf_counter()
    file = landing_file(args.rows)
    print(f"data: {file} ({file.stat().st_size / 2**20:.0f} MiB), {time.perf_counter() - t:.0f} s")
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp:
        model = train_model(file, Path(tmp) / "model.joblib")
        results: dict[str, list[dict[str, Any]]] = {kind: [] for kind in KINDS}
        agreement: tuple[int, float] | None = None
        for rep in range(args.repeat):
            shift = rep % len(KINDS)
            for kind in KINDS[shift:] + KINDS[:shift]:
                workdir = Path(tmp) / f"{kind}-{rep}"
                workdir.mkdir()
                result = run_child(kind, file, model, workdir, args.chunk_rows)
                print(f"rep {rep + 1} {kind}: {result}", flush=True)
                results[kind].append(result)
            if agreement is None:
                agreement = check_agreement_pair(Path(tmp), rep)
                print(f"agreement: {agreement[0]:,} rows, max |diff| {agreement[1]:.2e}")
            for kind in KINDS:
                subprocess.run(["rm", "-rf", str(Path(tmp) / f"{kind}-{rep}")], check=True)
        large: dict[str, dict[str, Any]] = {}
        if args.large:
            big = landing_file(args.large)
            print(f"large data: {big} ({big.stat().st_size / 2**20:.0f} MiB)")
            for kind in ("charter", "floor"):
                workdir = Path(tmp) / f"large-{kind}"
                workdir.mkdir()
                large[kind] = run_child(kind, big, model, workdir, args.chunk_rows)
                print(f"large {kind}: {large[kind]}", flush=True)
                subprocess.run(["rm", "-rf", str(workdir)], check=True)
    load_end = _load()
    text = _report(args, file, results, agreement, large, started, load_start, load_end)
    print(text)
    if not args.no_record:
        with RESULTS.open("a") as handle:
            handle.write(text)


def check_agreement_pair(tmp: Path, rep: int) -> tuple[int, float]:
    """Agreement on the first repetition: the floor's output sits in the floor's work folder."""
    charter_dir, floor_dir = tmp / f"charter-{rep}", tmp / f"chunked-{rep}"
    (floor_dir / "floor.parquet").rename(charter_dir / "floor.parquet")
    return check_agreement(charter_dir)


def _report(
    args: argparse.Namespace,
    file: Path,
    results: dict[str, list[dict[str, Any]]],
    agreement: tuple[int, float] | None,
    large: dict[str, dict[str, Any]],
    started: str,
    load_start: float,
    load_end: float,
) -> str:
    first = results["charter"][0]
    floor_med = statistics.median(r["seconds"] for r in results["chunked"])
    whole_med = statistics.median(r["seconds"] for r in results["floor"])
    charter_med = statistics.median(r["seconds"] for r in results["charter"])
    charter_min = min(r["seconds"] for r in results["charter"])
    floor_min = min(r["seconds"] for r in results["chunked"])
    whole_min = min(r["seconds"] for r in results["floor"])
    bad = first["rows_quarantined"]
    command = f"python -m benchmarks.ingest --rows {args.rows}"
    if args.repeat != 3:
        command += f" --repeat {args.repeat}"
    if args.chunk_rows != 1_000_000:
        command += f" --chunk-rows {args.chunk_rows}"
    if args.large:
        command += f" --large {args.large}"
    lines = [
        f"\n## Ingest + score + log — {started}\n",
        f"Machine: {_machine()}. Load average (1 min) at start {load_start:.1f}, at end "
        f"{load_end:.1f}: the machine is shared and was loaded by other work during the run, so "
        "the ratio (same run, alternating) means more than the absolute times.",
        f"Data: one Parquet file (zstd, {file.stat().st_size / 2**20:.0f} MiB) of {args.rows:,} "
        f"rows: key `id` (int), event time `event_at`, 10 columns (3 int64, 3 float64, 4 string); "
        f"{RULES} contract rules; {bad:,} rows quarantined ({bad / args.rows:.2%}); seed {SEED}. "
        "Model: scikit-learn pipeline (median impute + standard scale of the 6 numbers, one-hot of "
        "3 categoricals, LogisticRegression) trained on the first 200,000 rows, registered as "
        "version 1 (shadow), saved with joblib.",
        f"Command: `{command}`",
        "",
        f"Every batch balanced: {all(r['balanced'] for r in results['charter'])}; rows_in "
        f"{first['rows_in']:,} = {first['rows_scored']:,} scored + {first['rows_quarantined']:,} "
        f"quarantined; prediction log written in {first['parts']} part(s) "
        f"(chunk_rows {args.chunk_rows:,}).",
    ]
    if agreement is not None:
        lines.append(
            f"Agreement: the {agreement[0]:,} scores charter logged equal the floor's predictions "
            f"for the same keys (max |difference| {agreement[1]:.1e}, tolerance 1e-9)."
        )
    lines += [
        "",
        "charter: `ingest()` in a fresh SQLite workspace per run (SHA-256 fingerprint, chunked "
        "read, validation, scoring, prediction log + quarantine written and fsynced, batch "
        "committed). Chunked floor (the headline's): the file read "
        f"{args.chunk_rows:,} rows at a time (`pyarrow` `iter_batches`), `predict_proba` of each "
        "chunk, key and score appended to one Parquet file. Whole-file floor: `pl.read_parquet` + "
        "`predict_proba` on all rows + `write_parquet` of key and score (memory holds the file). "
        "Agreement is checked against the chunked floor. One child process per run, alternating; seconds exclude start-up, "
        "workspace set-up and registration, and include charter loading the model from the "
        "registry (hash-checked) but not the floor's `joblib.load`. Peak RSS: the child's `ru_maxrss` (its RSS before the timed "
        "work, imports and model loaded, in parentheses).",
        "",
        "| contender | rows | runs | min s | median s | / chunked floor (median) | M rows/s "
        "| peak RSS MiB (before) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        _row("chunked floor", args.rows, results["chunked"], None),
        _row("whole-file floor", args.rows, results["floor"], floor_med),
        _row("charter ingest", args.rows, results["charter"], floor_med),
    ]
    if large:
        big_floor = large["floor"]["seconds"]
        lines.append(_row("floor (large)", args.large, [large["floor"]], None))
        lines.append(_row("charter ingest (large)", args.large, [large["charter"]], big_floor))
    lines += [
        "",
        f"Headline: charter / chunked floor = {charter_med / floor_med:.2f}× (medians), "
        f"{charter_min / floor_min:.2f}× (minima); target ≤ 1.25×. charter / whole-file floor "
        f"{charter_med / whole_med:.2f}× (medians), {charter_min / whole_min:.2f}× (minima).",
    ]
    if large:
        small_peak = max(r["peak_mib"] for r in results["charter"])
        big_peak = large["charter"]["peak_mib"]
        small_floor = max(r["peak_mib"] for r in results["floor"])
        big_floor_peak = large["floor"]["peak_mib"]
        extra = args.large - args.rows
        per_row = (big_peak - small_peak) * 2**20 / extra
        why = (
            "consistent with the keys held for the uniqueness check, ~20-30 bytes each per "
            "docs/ingestion.md"
            if per_row < 100
            else "the smaller file fits in one chunk"
        )
        lines.append(
            f"Memory: from {args.rows:,} to {args.large:,} rows in one file, charter's peak goes "
            f"from {small_peak:,.0f} to {big_peak:,.0f} MiB ({per_row:.0f} bytes per extra row; "
            f"rows are read {args.chunk_rows:,} at a time; {why}), the "
            f"floor's from {small_floor:,.0f} to {big_floor_peak:,.0f} MiB "
            f"({(big_floor_peak - small_floor) * 2**20 / extra:.0f} bytes per extra row: it "
            "holds the whole file)."
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
