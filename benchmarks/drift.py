"""Drift report: charter against Evidently and NannyML, and a hand-written NumPy/Polars floor.

Run: ``python -m benchmarks.drift [--rows 1000000] [--repeat 2]`` from the repository root. The
first run creates ``benchmarks/.venv`` with the peers (see ``_env.py``).

Data (seed 20261124): a reference and a current window of ``rows`` × 20 columns, 15 numeric
(normal, log-normal, uniform, exponential, small integers; one with 1% nulls) and 5 categorical
(3 to 50 values). The current window shifts five columns: ``n0`` (mean +0.5 sd), ``n5`` (log-
normal sigma ×1.5), ``n9`` (uniform moved by 0.2), ``c0`` (category mix) and ``c3`` (a new
category at 5%); the other fifteen are drawn from the reference's distributions.

Contenders, each computing drift of every column:

- charter, cold: summarise the reference (choosing its edges) and the current window, then all
  five methods (psi, ks, wasserstein, jensen_shannon for numeric; psi, jensen_shannon, chi2 for
  categorical).
- charter, stored reference: the reference summaries exist already (as in production, where
  they are computed once at registration); summarise the current window, then all methods.
- Evidently ``DataDriftPreset`` (its defaults: normed Wasserstein for numeric, Jensen–Shannon
  for categorical columns at this size).
- NannyML ``UnivariateDriftCalculator`` fit + calculate, one chunk, with Kolmogorov–Smirnov,
  Wasserstein, Jensen–Shannon (continuous) and chi-squared, Jensen–Shannon (categorical).
- floor: PSI on reference deciles / categories written directly in NumPy and Polars.
"""

from __future__ import annotations

import argparse
import importlib
import math
import warnings
from collections.abc import Callable
from typing import Any

from benchmarks import _env

PEERS = ["evidently==0.7.23", "nannyml==0.13.1", "pandas<3"]  # Evidently 0.7 breaks on pandas 3
MODULE = "benchmarks.drift"
if __name__ == "__main__":  # move into benchmarks/.venv before importing anything from it
    _env.reexec_in_venv(MODULE, PEERS)

import numpy as np  # noqa: E402
import polars as pl  # noqa: E402

from benchmarks import _stats_common as common  # noqa: E402

NUMERIC = [f"n{i}" for i in range(15)]
CATEGORICAL = [f"c{i}" for i in range(5)]
SHIFTED = {"n0", "n5", "n9", "c0", "c3"}
NUMERIC_METHODS = ("psi", "ks", "wasserstein", "jensen_shannon")
CATEGORICAL_METHODS = ("psi", "jensen_shannon", "chi2")


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
    return pl.DataFrame(cols).with_columns(pl.col("n3").fill_nan(None))


# -- contenders ------------------------------------------------------------------------------
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


def floor_psi(ref: dict[str, Any], cur: dict[str, Any]) -> dict[str, float]:
    """PSI per column, directly: reference deciles, searchsorted + bincount both sides."""
    out: dict[str, float] = {}
    for c in NUMERIC:
        r, x = ref[c], cur[c]
        r, x = r[~np.isnan(r)], x[~np.isnan(x)]
        edges = np.quantile(r, np.linspace(0, 1, 11)[1:-1])
        p = np.bincount(np.searchsorted(edges, r, side="right"), minlength=10) / r.size
        q = np.bincount(np.searchsorted(edges, x, side="right"), minlength=10) / x.size
        p, q = np.maximum(p, 1e-4), np.maximum(q, 1e-4)
        out[c] = float(np.sum((q - p) * np.log(q / p)))
    for c in CATEGORICAL:
        counts = (
            ref[c]
            .value_counts(name="r")
            .join(cur[c].value_counts(name="q"), on=c, how="full", coalesce=True)
            .fill_null(0)
        )
        p = np.maximum(counts["r"].to_numpy() / ref[c].len(), 1e-4)
        q = np.maximum(counts["q"].to_numpy() / cur[c].len(), 1e-4)
        out[c] = float(np.sum((q - p) * np.log(q / p)))
    return out


def evidently_run(ref_pd: Any, cur_pd: Any) -> dict[str, tuple[str, float]]:
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    definition = DataDefinition(numerical_columns=NUMERIC, categorical_columns=CATEGORICAL)
    snapshot = Report([DataDriftPreset()]).run(
        Dataset.from_pandas(cur_pd, data_definition=definition),
        Dataset.from_pandas(ref_pd, data_definition=definition),
    )
    out: dict[str, tuple[str, float]] = {}
    for metric in snapshot.dict()["metrics"]:
        config = metric["config"]
        if config.get("type", "").endswith("ValueDrift"):
            out[config["column"]] = (config["method"], float(metric["value"]))
    return out


def nannyml_run(ref_pd: Any, cur_pd: Any, chunk_size: int) -> Any:
    import nannyml as nml

    calc = nml.UnivariateDriftCalculator(
        column_names=NUMERIC + CATEGORICAL,
        continuous_methods=["kolmogorov_smirnov", "wasserstein", "jensen_shannon"],
        categorical_methods=["chi2", "jensen_shannon"],
        chunk_size=chunk_size,
    )
    calc.fit(ref_pd)
    return calc.calculate(cur_pd).to_df()


def nannyml_values(frame: Any) -> dict[str, float]:
    """``{"column/method": value}`` of the last chunk, JSON-ready."""
    return {
        f"{column}/{method}": float(frame[(column, method, "value")].iloc[-1])
        for column, method, field in frame.columns
        if field == "value" and column != "chunk"
    }


# -- checks ----------------------------------------------------------------------------------
def check_agreement(
    ours: dict[str, dict[str, Any]],
    evidently: dict[str, tuple[str, float]],
    nannyml: dict[str, float],
) -> list[str]:
    """Rows of the agreement table; raises if a value is outside its stated tolerance."""
    rows = []

    def compare(what: str, pairs: list[tuple[float, float]], tolerance: float) -> None:
        worst = max(abs(a - b) for a, b in pairs)
        verdict = "ok" if worst <= tolerance else "DISAGREE"
        rows.append(f"| {what} | {len(pairs)} | {worst:.2e} | {tolerance:.0e} | {verdict} |")
        if worst > tolerance:
            raise SystemExit(f"{what}: worst difference {worst} exceeds {tolerance}")

    compare(
        "Evidently normed Wasserstein (numeric)",
        [(ours[c]["wasserstein"].value, evidently[c][1]) for c in NUMERIC],
        1e-3,
    )
    # Evidently's Jensen–Shannon uses natural logarithms: d_e = d_2 * sqrt(ln 2)
    compare(
        "Evidently Jensen–Shannon (categorical)",
        [
            (ours[c]["jensen_shannon"].value * math.sqrt(math.log(2)), evidently[c][1])
            for c in CATEGORICAL
        ],
        1e-9,
    )
    compare(
        "NannyML Kolmogorov–Smirnov D (numeric)",
        [(ours[c]["ks"].value, nannyml[f"{c}/kolmogorov_smirnov"]) for c in NUMERIC],
        5e-3,
    )
    compare(
        "NannyML Wasserstein / reference sd (numeric)",
        [
            (
                ours[c]["wasserstein"].value,
                nannyml[f"{c}/wasserstein"] / ours[c]["wasserstein"].detail["scale"],
            )
            for c in NUMERIC
        ],
        1e-3,
    )
    compare(
        "NannyML chi-squared statistic / n (categorical)",
        [(ours[c]["chi2"].statistic / 2e6, nannyml[f"{c}/chi2"] / 2e6) for c in CATEGORICAL],
        1e-9,
    )
    compare(
        "NannyML Jensen–Shannon (categorical)",
        [(ours[c]["jensen_shannon"].value, nannyml[f"{c}/jensen_shannon"]) for c in CATEGORICAL],
        1e-9,
    )
    return rows


def flagged_by_charter(ours: dict[str, dict[str, Any]]) -> set[str]:
    """Columns whose default method (PSI, 0.1/0.25) is not a pass."""
    return {c for c, results in ours.items() if results["psi"].status != "pass"}


# -- driver ----------------------------------------------------------------------------------
def load(rows: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    return make_frame(rows, 20261124, shifted=False), make_frame(rows, 20261125, shifted=True)


def to_pandas(frame: pl.DataFrame) -> Any:
    pdf = frame.to_pandas()
    for c in CATEGORICAL:
        pdf[c] = pdf[c].astype("category")
    return pdf


def rss_only(name: str, rows: int) -> None:
    """One contender, once, in this fresh process: its peak memory, and its answer (the peers'
    answers are what the parent checks agreement on, so they run once less in all)."""
    ref, cur = load(rows)
    tasks = _tasks(ref, cur, want=name)
    for module in ("charter.monitoring", "evidently", "nannyml"):  # imports are not the work
        importlib.import_module(module)
    baseline = common.reset_peak_rss()
    result = tasks[name]()
    if name == "NannyML univariate drift":
        result = nannyml_values(result)
    elif name != "Evidently DataDriftPreset":
        result = None
    common.report_rss(baseline, result)


CONTENDERS = (
    "charter, cold",
    "charter, stored reference",
    "floor (NumPy/Polars PSI)",
    "Evidently DataDriftPreset",
    "NannyML univariate drift",
)


def _tasks(
    ref: pl.DataFrame, cur: pl.DataFrame, want: str | None = None
) -> dict[str, Callable[[], object]]:
    tasks: dict[str, Callable[[], object]] = {}
    if want in (None, "charter, cold"):
        tasks["charter, cold"] = lambda: charter_cold(ref, cur)
    if want in (None, "charter, stored reference"):
        stored = charter_reference(ref)
        tasks["charter, stored reference"] = lambda: charter_drift(stored, cur)
    if want in (None, "floor (NumPy/Polars PSI)"):
        ref_np = {c: ref[c].to_numpy() for c in NUMERIC} | {c: ref[c] for c in CATEGORICAL}
        cur_np = {c: cur[c].to_numpy() for c in NUMERIC} | {c: cur[c] for c in CATEGORICAL}
        tasks["floor (NumPy/Polars PSI)"] = lambda: floor_psi(ref_np, cur_np)
    if want in (None, "Evidently DataDriftPreset", "NannyML univariate drift"):
        ref_pd, cur_pd = to_pandas(ref), to_pandas(cur)
        if want in (None, "Evidently DataDriftPreset"):
            tasks["Evidently DataDriftPreset"] = lambda: evidently_run(ref_pd, cur_pd)
        if want in (None, "NannyML univariate drift"):
            tasks["NannyML univariate drift"] = lambda: nannyml_run(ref_pd, cur_pd, ref.height)
    return tasks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=2)  # Evidently takes ~2 min a run
    parser.add_argument("--rss", help=argparse.SUPPRESS)
    parser.add_argument("--no-write", action="store_true", help="print, do not append RESULTS.md")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    if args.rss:
        rss_only(args.rss, args.rows)
        return

    print("peak memory and the peers' answers, each in a fresh process", flush=True)
    names = list(CONTENDERS)
    measured = {
        name: common.measure_rss(MODULE, name, ["--rows", str(args.rows)]) for name in names
    }
    rss = {name: (peak, base) for name, (peak, base, _) in measured.items()}

    print(f"generating {args.rows:,} x 20 reference and current", flush=True)
    ref, cur = load(args.rows)
    ours = charter_cold(ref, cur)
    evidently = {c: (m, v) for c, (m, v) in measured["Evidently DataDriftPreset"][2].items()}
    nannyml = measured["NannyML univariate drift"][2]
    agreement = check_agreement(ours, evidently, nannyml)
    flagged = flagged_by_charter(ours)
    evidently_flags = {c for c, (_, v) in evidently.items() if v >= 0.1}
    nannyml_chunked = nannyml_run(to_pandas(ref), to_pandas(cur), args.rows // 10)
    nannyml_flags = {
        column
        for column, method, field in nannyml_chunked.columns
        if field == "alert"
        and column != "chunk"
        and bool(nannyml_chunked[(column, method, field)].iloc[-10:].any())
    }

    print("timing", flush=True)
    times = common.alternate(_tasks(ref, cur), args.repeat)
    best = {name: common.best_and_median(t) for name, t in times.items()}
    cold = best["charter, cold"][0]
    stored = best["charter, stored reference"][0]
    floor = best["floor (NumPy/Polars PSI)"][0]
    table = [
        "| contender | min s | median s | min ÷ charter cold | min ÷ charter stored | peak RSS MiB (data loaded) |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, (low, mid) in best.items():
        peak, base = rss[name]
        table.append(
            f"| {name} | {low:.3f} | {mid:.3f} | {low / cold:.2f} | {low / stored:.2f} | {peak:.0f} ({base:.0f}) |"
        )
    ok = "yes" if flagged == SHIFTED else "NO"
    section = "\n".join(
        [
            f"## Drift report — {_env.stamp()}",
            "",
            f"Machine: {_env.machine()}. Packages: "
            + _env.versions(
                ["charter-ml", "numpy", "polars", "scipy", "pandas", "evidently", "nannyml"]
            )
            + ".",
            f"Data: reference and current {args.rows:,} rows × 20 columns (15 numeric, 5 categorical), "
            f"seed 20261124/5; shifted: {', '.join(sorted(SHIFTED))}. Repetitions: {args.repeat}, alternating.",
            f"Command: `python -m benchmarks.drift --rows {args.rows} --repeat {args.repeat}`",
            "",
            *table,
            "",
            f"Floor ratio: charter with a stored reference takes {stored / floor:.2f}× the floor, "
            f"cold {cold / floor:.2f}×. Peer ratios, peer ÷ charter cold: Evidently "
            f"{best['Evidently DataDriftPreset'][0] / cold:.1f}×, NannyML {best['NannyML univariate drift'][0] / cold:.1f}×.",
            f"Headline (medians, peer ÷ charter cold): Evidently "
            f"{best['Evidently DataDriftPreset'][1] / best['charter, cold'][1]:.1f}×, NannyML "
            f"{best['NannyML univariate drift'][1] / best['charter, cold'][1]:.1f}×; charter ÷ floor: "
            f"{best['charter, cold'][1] / best['floor (NumPy/Polars PSI)'][1]:.2f}× cold, "
            f"{best['charter, stored reference'][1] / best['floor (NumPy/Polars PSI)'][1]:.2f}× "
            "with the stored reference.",
            "",
            "Agreement, checked before timing (worst absolute difference over the columns):",
            "",
            "| compared with | columns | worst | tolerance | |",
            "| --- | ---: | ---: | ---: | --- |",
            *agreement,
            "",
            f"Flags with default settings — charter (PSI ≥ 0.1): {', '.join(sorted(flagged))}; "
            f"exactly the shifted columns: {ok}. Evidently (drift score ≥ 0.1): "
            f"{', '.join(sorted(evidently_flags)) or 'none'}. NannyML (any alert in 10 chunks of "
            f"{args.rows // 10:,}, thresholds from 10 reference chunks): {', '.join(sorted(nannyml_flags)) or 'none'}.",
        ]
    )
    print(section)
    if not args.no_write:
        common.append_results(section)


if __name__ == "__main__":
    main()
