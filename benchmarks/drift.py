"""Drift report: charter against Evidently and NannyML, and hand-written NumPy/Polars floors.

Run: ``python -m benchmarks.drift [--rows 1000000] [--repeat 3]`` from the repository root. The
first run creates ``benchmarks/.venv`` with the peers (see ``_env.py``); ``CHARTER_BENCH_NO_VENV=1``
runs in the current interpreter if the peers are installed there.

Data (seed 20261124): a reference and a current window of ``rows`` × 21 columns, 16 numeric
(normal, log-normal, uniform, exponential, small integers; one with 1% nulls; ``score``, the
model's prediction, uniform and unshifted) and 5 categorical (3 to 50 values). The current window
shifts five columns: ``n0`` (mean +0.5 sd), ``n5`` (log-normal sigma ×1.5), ``n9`` (uniform moved
by 0.2), ``c0`` (category mix) and ``c3`` (a new category at 5%); the others are drawn from the
reference's distributions. Both are written once to Parquet files (untimed) that every contender
of the path reads.

**The user's path** (the headline), from the two files to drift values of every column:

- charter: what a user runs, through the public API (``charter.set_reference``,
  ``charter.ingest``, ``charter.monitor``), in a fresh workspace each repetition (its SQLite store
  created and migrated before the clock starts). The rows carry their prediction
  (``data.prediction``, version ``external``), so no model is scored: peers do not score one
  either. Timed: summarising and storing the reference file, ingesting the current file
  (validation, the prediction log), and monitoring its one window (every drift method on the 20
  inputs and the score, quality, verdict, alerts).
- NannyML ``UnivariateDriftCalculator`` fit on the reference and calculate on the current window,
  after ``pandas.read_parquet`` of both: with its default methods (Jensen–Shannon for both kinds),
  and with Kolmogorov–Smirnov + chi-squared (its cheapest statistics); one chunk (the window), so
  it answers the question charter answers: one value per column.
- Evidently ``Report([DataDriftPreset()])`` on the two frames read with ``pandas.read_parquet``:
  its defaults (normed Wasserstein for numeric, Jensen–Shannon for categorical columns at this
  size), and ``DataDriftPreset(method="psi")`` (PSI for both kinds: charter's default method).
- floors, written directly in NumPy/Polars: read both files, PSI on reference deciles (cold);
  and read the current file, PSI against deciles and reference shares computed beforehand
  (a precomputed reference, which is what charter stores at registration).

**The kernel** beside it, in memory: charter's summaries and drift functions (cold: choosing the
reference edges too; stored: with the reference's summaries already made; every method), the
peers' and floors' compute phases of the runs above (their reading excluded).
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import os
import shutil
import statistics
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks import _env

PEERS = ["evidently==0.7.23", "nannyml==0.13.1", "pandas<3"]  # Evidently 0.7 breaks on pandas 3
MODULE = "benchmarks.drift"
if __name__ == "__main__":  # move into benchmarks/.venv before importing anything from it
    _env.reexec_in_venv(MODULE, PEERS)

# The peers' usage telemetry would time network calls (failing ones, offline): off for both.
os.environ.setdefault("NML_DISABLE_USAGE_LOGGING", "1")
os.environ.setdefault("DO_NOT_TRACK", "1")

import numpy as np  # noqa: E402
import polars as pl  # noqa: E402

from benchmarks import _stats_common as common  # noqa: E402

NUMERIC = [f"n{i}" for i in range(15)] + ["score"]
INPUTS_NUMERIC = NUMERIC[:-1]
CATEGORICAL = [f"c{i}" for i in range(5)]
SHIFTED = {"n0", "n5", "n9", "c0", "c3"}
NUMERIC_METHODS = ("psi", "ks", "wasserstein", "jensen_shannon")
CATEGORICAL_METHODS = ("psi", "jensen_shannon", "chi2")
NAME = "drift-bench"
WINDOW_START = datetime(2026, 11, 2, tzinfo=UTC)


# -- data ----------------------------------------------------------------------------------
def _categories(k: int) -> list[str]:
    return [f"v{i:02d}" for i in range(k)]


def make_frame(rows: int, seed: int, shifted: bool) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    s = 1.0 if shifted else 0.0
    cols: dict[str, Any] = {
        "n0": rng.normal(10 + 0.5 * 2 * s, 2, rows),
        "n1": rng.normal(0, 1, rows),
        "n2": rng.normal(-5, 0.1, rows),
        "n3": rng.normal(100, 15, rows),
        "n4": rng.normal(1e6, 1e3, rows),
        "n5": rng.lognormal(0, 0.5 * (1 + 0.5 * s), rows),
        "n6": rng.lognormal(2, 1, rows),
        "n7": rng.lognormal(-1, 0.25, rows),
        "n8": rng.uniform(0, 1, rows),
        "n9": rng.uniform(0.2 * s, 1 + 0.2 * s, rows),
        "n10": rng.exponential(1, rows),
        "n11": rng.exponential(30, rows),
        "n12": rng.poisson(3, rows).astype(np.float64),
        "n13": rng.integers(0, 100, rows).astype(np.float64),
        "n14": rng.gamma(2, 2, rows),
    }
    cols["n3"][rng.random(rows) < 0.01] = np.nan
    mix = [0.4, 0.3, 0.15, 0.1, 0.05] if not shifted else [0.25, 0.3, 0.15, 0.2, 0.1]
    cols["c0"] = rng.choice(_categories(5), rows, p=mix)
    cols["c1"] = rng.choice(_categories(10), rows)
    cols["c2"] = rng.choice(_categories(3), rows, p=[0.6, 0.3, 0.1])
    c3 = rng.choice(_categories(20), rows)
    if shifted:
        c3[rng.random(rows) < 0.05] = "new"
    cols["c3"] = c3
    zipf = 1 / np.arange(1, 51)
    cols["c4"] = rng.choice(_categories(50), rows, p=zipf / zipf.sum())
    cols["score"] = rng.uniform(0, 1, rows)  # the model's prediction: unshifted
    return pl.DataFrame(cols).with_columns(pl.col("n3").fill_nan(None))


def load(rows: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    return make_frame(rows, 20261124, shifted=False), make_frame(rows, 20261125, shifted=True)


@dataclass(frozen=True)
class Files:
    """The two Parquet files of the path, and the folder the workspaces are made in."""

    root: Path
    reference: Path
    current: Path

    @classmethod
    def write(cls, root: Path, ref: pl.DataFrame, cur: pl.DataFrame) -> Files:
        """The reference as is; the current window with a key and event times over one day."""
        landing = root / "landing"
        landing.mkdir(parents=True)
        step_us = 86_400_000_000 // cur.height
        keyed = cur.with_columns(
            id=pl.int_range(0, cur.height, dtype=pl.Int64),
            event_at=pl.lit(WINDOW_START)
            + pl.duration(microseconds=pl.int_range(0, cur.height, dtype=pl.Int64) * step_us),
        )
        files = cls(root, root / "reference.parquet", landing / "current.parquet")
        ref.write_parquet(files.reference)
        keyed.write_parquet(files.current)
        return files


CHARTER = """\
name: {name}
decision: "Benchmark: drift of 20 inputs and the score"
task: binary_classification
owner: {{name: "Bench Owner", email: bench.owner@example.com}}
sufficiency:
  window: 1d
  metrics:
    - {{metric: roc_auc, at_least: 0.75}}
data:
  source: {{kind: parquet_dir, path: {landing}, settle: 0s}}
  key: id
  event_time: event_at
  freshness: {{max_lateness: 36500d}}
  prediction: {{column: score}}
  fields:
    id: {{type: int, nullable: false}}
    event_at: {{type: datetime, nullable: false}}
    score: {{type: float}}
{fields}
operations:
  monitor: {{reference: training, drift: {{method: psi, warn: 0.1, breach: 0.25}}}}
"""


def charter_workspace(files: Files, n: int) -> Any:
    """A fresh workspace (store created and migrated, charter loaded): not part of the path."""
    from charter.settings import Settings
    from charter.workspace import Workspace

    root = files.root / f"ws-{n}"
    (root / "charters").mkdir(parents=True)
    fields = [f"    {c}: {{type: float}}" for c in INPUTS_NUMERIC]
    fields += [f"    {c}: {{type: string}}" for c in CATEGORICAL]
    text = CHARTER.format(
        name=NAME, landing=json_path(files.current.parent), fields="\n".join(fields)
    )
    (root / "charters" / f"{NAME}.yaml").write_text(text)
    settings = Settings(
        workspace=root,
        database_url=f"sqlite:///{root / 'charter.db'}",
        audit_key_file=files.root / "audit.key",
        actor="bench",
    )
    ws = Workspace(root, settings=settings)
    ws.db  # noqa: B018 - creates and migrates the store
    ws.load(NAME)
    return ws


def json_path(path: Path) -> str:
    return json.dumps(str(path))


# -- contenders ------------------------------------------------------------------------------
Phases = dict[str, float]


def _clock(phases: Phases, name: str, start: float) -> float:
    now = time.perf_counter()
    phases[name] = now - start
    return now


def charter_path(ws: Any, files: Files) -> tuple[Phases, dict[str, dict[str, Any]]]:
    """``set_reference`` + ``ingest`` + ``monitor``; the window's drift of every column."""
    import charter

    phases: Phases = {}
    start = time.perf_counter()
    charter.set_reference(ws, NAME, "external", files.reference)
    start = _clock(phases, "reference", start)
    report = charter.ingest(ws, NAME)
    start = _clock(phases, "ingest", start)
    run = charter.monitor(ws, NAME)
    _clock(phases, "monitor", start)
    ws.close()
    assert report.to_dict()["rows_in"] > 0 and len(run.windows) == 1, run.windows
    window = run.windows[0].data
    return phases, {**window["drift"], "score": window["score_drift"]}


def charter_reference(ref: pl.DataFrame) -> dict[str, Any]:
    from charter.engines.summaries import summarise_reference

    out = {c: summarise_reference(ref[c], "numeric") for c in NUMERIC}
    out.update({c: summarise_reference(ref[c], "categorical") for c in CATEGORICAL})
    return out


def charter_drift(references: dict[str, Any], cur: pl.DataFrame) -> dict[str, dict[str, Any]]:
    from charter.engines.summaries import summarise_like
    from charter.monitoring.drift import measure_drift

    out: dict[str, dict[str, Any]] = {}
    for column, reference in references.items():
        current = summarise_like(reference, cur[column])
        methods = NUMERIC_METHODS if column in NUMERIC else CATEGORICAL_METHODS
        out[column] = {m: measure_drift(reference, current, m) for m in methods}  # type: ignore[arg-type]
    return out


def charter_cold(ref: pl.DataFrame, cur: pl.DataFrame) -> dict[str, dict[str, Any]]:
    return charter_drift(charter_reference(ref), cur)


@dataclass(frozen=True)
class FloorReference:
    """What the floor precomputes: deciles and shares per numeric column, counts per category."""

    edges: dict[str, Any]
    shares: dict[str, Any]
    counts: dict[str, pl.DataFrame]
    rows: int


def floor_reference(ref: dict[str, Any]) -> FloorReference:
    edges, shares, counts = {}, {}, {}
    for c in NUMERIC:
        r = ref[c][~np.isnan(ref[c])]
        edges[c] = np.quantile(r, np.linspace(0, 1, 11)[1:-1])
        shares[c] = np.bincount(np.searchsorted(edges[c], r, side="right"), minlength=10) / r.size
    for c in CATEGORICAL:
        counts[c] = ref[c].value_counts(name="r")
    return FloorReference(edges, shares, counts, ref[CATEGORICAL[0]].len())


def floor_psi_against(stored: FloorReference, cur: dict[str, Any]) -> dict[str, float]:
    """PSI per column against a precomputed reference: searchsorted + bincount of the current
    values; category counts joined to the reference's."""
    out: dict[str, float] = {}
    for c in NUMERIC:
        x = cur[c][~np.isnan(cur[c])]
        q = np.bincount(np.searchsorted(stored.edges[c], x, side="right"), minlength=10) / x.size
        p, q = np.maximum(stored.shares[c], 1e-4), np.maximum(q, 1e-4)
        out[c] = float(np.sum((q - p) * np.log(q / p)))
    for c in CATEGORICAL:
        counts = (
            stored.counts[c]
            .join(cur[c].value_counts(name="q"), on=c, how="full", coalesce=True)
            .fill_null(0)
        )
        p = np.maximum(counts["r"].to_numpy() / stored.rows, 1e-4)
        q = np.maximum(counts["q"].to_numpy() / cur[c].len(), 1e-4)
        out[c] = float(np.sum((q - p) * np.log(q / p)))
    return out


def floor_psi(ref: dict[str, Any], cur: dict[str, Any]) -> dict[str, float]:
    """PSI per column, cold: reference deciles, then both sides binned."""
    return floor_psi_against(floor_reference(ref), cur)


def _columns(frame: pl.DataFrame) -> dict[str, Any]:
    return {c: frame[c].to_numpy() for c in NUMERIC} | {c: frame[c] for c in CATEGORICAL}


def floor_path_cold(files: Files) -> tuple[Phases, dict[str, float]]:
    phases: Phases = {}
    start = time.perf_counter()
    ref = _columns(pl.read_parquet(files.reference, columns=NUMERIC + CATEGORICAL))
    cur = _columns(pl.read_parquet(files.current, columns=NUMERIC + CATEGORICAL))
    start = _clock(phases, "read", start)
    out = floor_psi(ref, cur)
    _clock(phases, "compute", start)
    return phases, out


def floor_path_stored(stored: FloorReference, files: Files) -> tuple[Phases, dict[str, float]]:
    phases: Phases = {}
    start = time.perf_counter()
    cur = _columns(pl.read_parquet(files.current, columns=NUMERIC + CATEGORICAL))
    start = _clock(phases, "read", start)
    out = floor_psi_against(stored, cur)
    _clock(phases, "compute", start)
    return phases, out


def _read_pandas(files: Files) -> tuple[Any, Any]:
    import pandas as pd

    columns = NUMERIC + CATEGORICAL
    return pd.read_parquet(files.reference, columns=columns), pd.read_parquet(
        files.current, columns=columns
    )


EVIDENTLY = {"Evidently defaults": {}, "Evidently PSI": {"method": "psi"}}


def evidently_run(ref_pd: Any, cur_pd: Any, settings: dict[str, Any]) -> dict[str, float]:
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    definition = DataDefinition(numerical_columns=NUMERIC, categorical_columns=CATEGORICAL)
    snapshot = Report([DataDriftPreset(**settings)]).run(
        Dataset.from_pandas(cur_pd, data_definition=definition),
        Dataset.from_pandas(ref_pd, data_definition=definition),
    )
    out: dict[str, float] = {}
    for metric in snapshot.dict()["metrics"]:
        config = metric["config"]
        if config.get("type", "").endswith("ValueDrift"):
            out[f"{config['column']}/{config['method']}"] = float(metric["value"])
    return out


NANNYML = {
    "NannyML defaults": {},
    "NannyML KS + chi-squared": {
        "continuous_methods": ["kolmogorov_smirnov"],
        "categorical_methods": ["chi2"],
    },
}


def nannyml_run(ref_pd: Any, cur_pd: Any, settings: dict[str, Any]) -> dict[str, float]:
    """Fit + calculate on one chunk (the window); ``{"column/method": value}``."""
    import nannyml as nml

    calc = nml.UnivariateDriftCalculator(
        column_names=NUMERIC + CATEGORICAL, chunk_size=len(ref_pd), **settings
    )
    calc.fit(ref_pd)
    frame = calc.calculate(cur_pd).to_df()
    return {
        f"{column}/{method}": float(frame[(column, method, "value")].iloc[-1])
        for column, method, what in frame.columns
        if what == "value" and column != "chunk"
    }


def peer_path(
    run: Callable[[Any, Any, dict[str, Any]], dict[str, float]],
    settings: dict[str, Any],
    files: Files,
) -> tuple[Phases, dict[str, float]]:
    phases: Phases = {}
    start = time.perf_counter()
    ref_pd, cur_pd = _read_pandas(files)
    start = _clock(phases, "read", start)
    out = run(ref_pd, cur_pd, settings)
    _clock(phases, "compute", start)
    return phases, out


@dataclass
class Contender:
    """One contender: ``prepare`` (untimed, e.g. a fresh workspace) then ``run`` (timed), which
    returns its phases' times and its answer."""

    name: str
    part: str  # "path" or "kernel"
    run: Callable[[Any], tuple[Phases, Any]]
    prepare: Callable[[int], Any] = lambda n: None
    times: list[float] = field(default_factory=list)
    phases: list[Phases] = field(default_factory=list)
    answer: Any = None

    def median(self, phase: str | None = None) -> float:
        return statistics.median(self._series(phase))

    def minimum(self, phase: str | None = None) -> float:
        return min(self._series(phase))

    def _series(self, phase: str | None) -> list[float]:
        return self.times if phase is None else [p[phase] for p in self.phases]


PATH = "charter: set_reference + ingest + monitor"
FLOOR_COLD = "floor: read both files, PSI (cold)"
FLOOR_STORED = "floor: read the current file, PSI (precomputed reference)"
KERNEL_COLD = "charter kernel, cold"
KERNEL_STORED = "charter kernel, stored reference"


def contenders(ref: pl.DataFrame, cur: pl.DataFrame, files: Files) -> list[Contender]:
    stored = charter_reference(ref)
    floor_stored = floor_reference(_columns(ref))

    def kernel(work: Callable[[], Any]) -> Callable[[Any], tuple[Phases, Any]]:
        def run(_: Any) -> tuple[Phases, Any]:
            start = time.perf_counter()
            out = work()
            return {"compute": time.perf_counter() - start}, out

        return run

    out = [
        Contender(
            PATH, "path", lambda ws: charter_path(ws, files), lambda n: charter_workspace(files, n)
        ),
        Contender(FLOOR_COLD, "path", lambda _: floor_path_cold(files)),
        Contender(FLOOR_STORED, "path", lambda _: floor_path_stored(floor_stored, files)),
    ]
    for name, settings in NANNYML.items():
        out.append(Contender(name, "path", _bind(peer_path, nannyml_run, settings, files)))
    for name, settings in EVIDENTLY.items():
        out.append(Contender(name, "path", _bind(peer_path, evidently_run, settings, files)))
    out += [
        Contender(KERNEL_COLD, "kernel", kernel(lambda: charter_cold(ref, cur))),
        Contender(KERNEL_STORED, "kernel", kernel(lambda: charter_drift(stored, cur))),
    ]
    return out


def _bind(
    path: Callable[..., tuple[Phases, Any]], run: Any, settings: dict[str, Any], files: Files
) -> Callable[[Any], tuple[Phases, Any]]:
    return lambda _: path(run, settings, files)


def alternate(found: list[Contender], repeat: int) -> None:
    """Every contender once per repetition, in turn (a noisy neighbour slows all alike)."""
    import gc

    for rep in range(repeat):
        for c in found:
            state = c.prepare(rep)
            gc.collect()
            start = time.perf_counter()
            phases, answer = c.run(state)
            c.times.append(time.perf_counter() - start)
            c.phases.append(phases)
            if c.answer is None:
                c.answer = answer
            parts = ", ".join(f"{k} {v:.2f}" for k, v in phases.items())
            print(f"  rep {rep + 1}/{repeat} {c.name}: {c.times[-1]:.2f}s ({parts})", flush=True)


# -- checks ----------------------------------------------------------------------------------
def check_agreement(found: dict[str, Contender]) -> list[str]:
    """Rows of the agreement table; raises if a value is outside its stated tolerance."""
    rows = []
    kernel: dict[str, dict[str, Any]] = found[KERNEL_COLD].answer
    path: dict[str, dict[str, Any]] = found[PATH].answer
    evidently = found["Evidently defaults"].answer
    evidently_psi = found["Evidently PSI"].answer
    nannyml = found["NannyML defaults"].answer
    nannyml_ks = found["NannyML KS + chi-squared"].answer

    def compare(what: str, pairs: list[tuple[float, float]], tolerance: float) -> None:
        worst = max(abs(a - b) for a, b in pairs)
        verdict = "ok" if worst <= tolerance else "DISAGREE"
        rows.append(f"| {what} | {len(pairs)} | {worst:.2e} | {tolerance:.0e} | {verdict} |")
        if worst > tolerance:  # reported in the table and the headline, the timings kept
            print(f"DISAGREE: {what}: worst difference {worst} exceeds {tolerance}", flush=True)

    def ours(column: str, method: str) -> float:
        return float(kernel[column][method].value)

    compare(
        "charter's path (monitor) against charter's kernel, every method",
        [
            (float(body["value"]), ours(column, method))
            for column, methods in path.items()
            for method, body in methods.items()
            if method in kernel[column]
        ],
        1e-9,
    )
    compare(
        "Evidently defaults: normed Wasserstein (numeric)",
        [
            (ours(c, "wasserstein"), evidently[f"{c}/Wasserstein distance (normed)"])
            for c in NUMERIC
        ],
        1e-3,
    )
    # Evidently's Jensen–Shannon uses natural logarithms: d_e = d_2 * sqrt(ln 2)
    compare(
        "Evidently defaults: Jensen–Shannon (categorical)",
        [
            (
                ours(c, "jensen_shannon") * math.sqrt(math.log(2)),
                evidently[f"{c}/Jensen-Shannon distance"],
            )
            for c in CATEGORICAL
        ],
        1e-9,
    )
    compare(
        "Evidently PSI (categorical; numeric: its own Sturges bins)",
        [(ours(c, "psi"), evidently_psi[f"{c}/psi"]) for c in CATEGORICAL],
        1e-9,
    )
    compare(
        "NannyML defaults: Jensen–Shannon (categorical; continuous: its own bins)",
        [(ours(c, "jensen_shannon"), nannyml[f"{c}/jensen_shannon"]) for c in CATEGORICAL],
        1e-9,
    )
    compare(
        "NannyML Kolmogorov–Smirnov D (numeric)",
        [(ours(c, "ks"), nannyml_ks[f"{c}/kolmogorov_smirnov"]) for c in NUMERIC],
        5e-3,
    )
    compare(
        "NannyML chi-squared statistic (categorical), relative",
        [(nannyml_ks[f"{c}/chi2"] / float(kernel[c]["chi2"].statistic), 1.0) for c in CATEGORICAL],
        1e-9,
    )
    return rows


def flags(found: dict[str, Contender]) -> dict[str, set[str]]:
    """Columns each flags at its default level: charter's path (PSI warn 0.1), Evidently's drift
    score ≥ 0.1 (defaults) and PSI ≥ 0.1."""
    path = found[PATH].answer
    out = {"charter": {c for c, m in path.items() if m["psi"]["status"] != "pass"}}
    for name in EVIDENTLY:
        answer = found[name].answer
        out[name] = {key.split("/")[0] for key, value in answer.items() if value >= 0.1}
    return out


# -- memory ----------------------------------------------------------------------------------
def rss_only(name: str, rows: int, folder: Path) -> None:
    """One contender, once, in this fresh process: its peak memory."""
    ref, cur = load(rows)
    files = Files(folder, folder / "reference.parquet", folder / "landing" / "current.parquet")
    (c,) = [c for c in contenders(ref, cur, files) if c.name == name]
    for module in ("charter.monitoring", "charter.plumbing.ingest", "evidently", "nannyml"):
        importlib.import_module(module)  # imports are not the work
    state = c.prepare(1000 + os.getpid())
    baseline = common.reset_peak_rss()
    c.run(state)
    common.report_rss(baseline)


# -- driver ----------------------------------------------------------------------------------
def _load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.1f} / {five:.1f} / {fifteen:.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)  # Evidently takes ~2 min a run
    parser.add_argument("--no-memory", action="store_true", help="skip the peak-RSS runs")
    parser.add_argument("--note", default="", help="what else ran on the machine")
    parser.add_argument(
        "--only", help="comma-separated parts of contenders' names: time those alone, print only"
    )
    parser.add_argument("--rss", help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--no-write", action="store_true", help="print, do not append RESULTS.md")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    if args.rss:
        rss_only(args.rss, args.rows, args.folder)
        return

    load_start = _load_average()
    print(f"generating {args.rows:,} x 21 reference and current, writing them", flush=True)
    ref, cur = load(args.rows)
    folder = Path(tempfile.mkdtemp(prefix="charter-drift-"))
    try:
        files = Files.write(folder, ref, cur)
        found = contenders(ref, cur, files)
        if args.only:
            wanted = args.only.split(",")
            found = [c for c in found if any(w in c.name for w in wanted)]
        print("warming up on 2,000 rows (imports, first calls; untimed)", flush=True)
        small = load(2000)
        for c in contenders(*small, Files.write(folder / "warm-up", *small)):
            c.run(c.prepare(-1))
        print("timing", flush=True)
        alternate(found, args.repeat)
        by_name = {c.name: c for c in found}
        if args.only:
            return
        agreement = check_agreement(by_name)
        rss: dict[str, tuple[float, float]] = {}
        if not args.no_memory:
            print("peak memory, each contender in a fresh process", flush=True)
            for c in found:
                extra = ["--rows", str(args.rows), "--folder", str(folder)]
                peak, base, _ = common.measure_rss(MODULE, c.name, extra)
                rss[c.name] = (peak, base)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    section = report(args, by_name, agreement, flags(by_name), rss, load_start)
    print(section)
    if not args.no_write:
        common.append_results(section)


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.1f}×" if a / b >= 10 else f"{a / b:.2f}×"


def report(
    args: argparse.Namespace,
    found: dict[str, Contender],
    agreement: list[str],
    flagged: dict[str, set[str]],
    rss: dict[str, tuple[float, float]],
    load_start: str,
) -> str:
    path = found[PATH]
    med, low = path.median(), path.minimum()

    def memory(name: str) -> str:
        if name not in rss:
            return "—"
        peak, base = rss[name]
        return f"{peak:.0f} ({base:.0f})"

    def phases(c: Contender) -> str:
        names = list(c.phases[0])
        return ", ".join(f"{n} {c.median(n):.2f}" for n in names)

    table = [
        "| the user's path | median s | min s | median ÷ charter | min ÷ charter | phases (medians, s) | peak RSS MiB (data loaded) |",
        "| --- | ---: | ---: | ---: | ---: | --- | ---: |",
    ]
    for c in found.values():
        if c.part == "path":
            table.append(
                f"| {c.name} | {c.median():.2f} | {c.minimum():.2f} | {_ratio(c.median(), med)} "
                f"| {_ratio(c.minimum(), low)} | {phases(c)} | {memory(c.name)} |"
            )
    stored = found[KERNEL_STORED]
    kmed = stored.median()
    kernel = [
        "| kernel (in memory; peers and floors: their compute phase above) | median s | min s | median ÷ charter stored | median ÷ charter cold |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    cold = found[KERNEL_COLD].median()
    for c in found.values():
        if c.name == PATH:
            continue
        phase = None if c.part == "kernel" else "compute"
        m = c.median(phase)
        kernel.append(
            f"| {c.name} | {m:.3f} | {c.minimum(phase):.3f} | {_ratio(m, kmed)} | {_ratio(m, cold)} |"
        )
    peers = ", ".join(
        f"{name} {_ratio(found[name].median(), med)}" for name in (*NANNYML, *EVIDENTLY)
    )
    floors = (
        f"{_ratio(med, found[FLOOR_COLD].median())} (cold floor), "
        f"{_ratio(med, found[FLOOR_STORED].median())} (floor with a precomputed reference)"
    )
    targets = (
        f"NannyML defaults {'met' if found['NannyML defaults'].median() >= 2 * med else 'NOT met'}"
        f" (≥ 2×), Evidently PSI {'met' if found['Evidently PSI'].median() >= 30 * med else 'NOT met'} (≥ 30×)"
    )
    ok = "yes" if flagged["charter"] == SHIFTED else "NO"
    lines = [
        f"## Drift report — {_env.stamp()}",
        "",
        f"Machine: {_env.machine()}; load average (1 / 5 / 15 min) {load_start} at the start, "
        f"{_load_average()} at the end"
        + (f"; {args.note}" if args.note else "")
        + ". Packages: "
        + _env.versions(
            ["charter-ml", "numpy", "polars", "scipy", "pandas", "evidently", "nannyml"]
        )
        + ".",
        f"Data: reference and current {args.rows:,} rows × 21 columns (20 inputs: 15 numeric, 5 "
        f"categorical; and the score), seed 20261124/5, as Parquet files; shifted: "
        f"{', '.join(sorted(SHIFTED))}. Repetitions: {args.repeat}, alternating.",
        f"Command: `python -m benchmarks.drift --rows {args.rows} --repeat {args.repeat}`",
        "",
        *table,
        "",
        *kernel,
        "",
        f"Headline (medians, peer ÷ charter, the user's path from the files): {peers}; "
        f"charter ÷ floor {floors}. Targets: {targets}."
        + (
            " Some answers DISAGREE (see below)." if any("DISAGREE" in r for r in agreement) else ""
        ),
        "",
        "Agreement, checked on the first repetition's answers (worst absolute difference):",
        "",
        "| compared | values | worst | tolerance | |",
        "| --- | ---: | ---: | ---: | --- |",
        *agreement,
        "",
        f"Flags at default levels — charter (PSI ≥ 0.1): {', '.join(sorted(flagged['charter']))}; "
        f"exactly the shifted columns: {ok}. Evidently defaults (drift score ≥ 0.1): "
        f"{', '.join(sorted(flagged['Evidently defaults'])) or 'none'}. Evidently PSI (≥ 0.1): "
        f"{', '.join(sorted(flagged['Evidently PSI'])) or 'none'}.",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
