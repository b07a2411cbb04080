"""Drift defaults: how often charter, Evidently and NannyML, each with its defaults, flag a column.

Run: ``python -m benchmarks.drift_defaults [--sizes 1000,10000,100000,1000000] [--reps 200,60,12,2]``
from the repository root. The first run creates ``benchmarks/.venv`` with the peers (``_env.py``).

Every repetition draws (seeded) a reference and a current sample of ``n`` rows each, with one
column per (shift kind, size) and unchanged columns, and asks each contender which columns drifted:

- location: N(0, 1) against N(d, 1), d in reference standard deviations;
- scale: N(0, 1) against N(0, s^2);
- skew: N(0, 1) against a standardised gamma of skewness g (same mean and variance);
- bimodal: N(0, 1) against the mixture ±a + N(0, 1 - a^2) (same mean and variance);
- mix: six categories, share t moved from the most common to the two rarest (total variation t);
- none: unchanged columns (5 numeric, 3 categorical), where any flag is a false alarm.

Contenders, each with its defaults and one window (chunk) of the ``n`` current rows:

- charter: the reference summarised as at registration (``summarise_reference``), the window
  as at ingestion (``summarise_like``), judged by ``column_drift`` with the charter file's default
  ``operations.monitor.drift`` (the code ``charter monitor`` runs). A flag is warn or breach.
  Beside it, the old default (PSI, warn 0.1) and candidate significance levels, from the same
  summaries, which is what the choice in docs/monitoring-statistics.md rests on.
- Evidently's defaults as ``DataDriftPreset()`` resolves them per column (KS / chi-squared
  p < 0.05 up to 1000 reference rows, else normed Wasserstein / Jensen–Shannon >= 0.1) and
  their verdict, called directly (see ``evidently_stattest_flags``; checked against the preset).
- NannyML ``UnivariateDriftCalculator`` with its defaults: Jensen–Shannon for both kinds, alert
  above the reference chunks' mean + 3 standard deviations, 10 chunks of each side. A flag is an
  alert in any of the window's chunks (what a NannyML user sees for the window); the share of
  alerting chunks (NannyML's rate on windows of n / 10 rows) is reported beside it.

Detection rates are the share of repetitions in which a shifted column was flagged; the false
alarm rate is the share of (repetition, unchanged column) pairs flagged. Timing is not measured
here (``benchmarks/drift.py`` does that).
"""

from __future__ import annotations

import argparse
import math
import os
import time
import warnings
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from benchmarks import _env

PEERS = ["evidently==0.7.23", "nannyml==0.13.1", "pandas<3"]  # as benchmarks/drift.py
MODULE = "benchmarks.drift_defaults"
if __name__ == "__main__":  # move into benchmarks/.venv before importing anything from it
    _env.reexec_in_venv(MODULE, PEERS)

# The peers' usage telemetry: off (no network here, and its retries would be timed as work).
os.environ.setdefault("NML_DISABLE_USAGE_LOGGING", "1")
os.environ.setdefault("DO_NOT_TRACK", "1")

import numpy as np  # noqa: E402
import polars as pl  # noqa: E402

from benchmarks import _stats_common as common  # noqa: E402

SEED = 20261204
CATEGORIES = ["a", "b", "c", "d", "e", "f"]
CATEGORY_P = np.array([0.35, 0.25, 0.15, 0.12, 0.08, 0.05])


@dataclass(frozen=True)
class Shift:
    """One column of the benchmark: a kind of shift and its size (0: unchanged)."""

    kind: str
    size: float
    categorical: bool = False
    modest: bool = False  # the shifts the issue says a monitor must flag on large samples
    copy: int = 0  # unchanged columns come in several copies, for more false-alarm samples

    @property
    def name(self) -> str:
        return f"{self.kind}_{self.size:g}" + (f"_{self.copy}" if self.kind == "none" else "")

    @property
    def label(self) -> str:
        unit = {"location": "σ", "scale": "× σ", "skew": " skewness", "bimodal": " ±a", "mix": ""}
        if self.kind == "mix":
            return f"mix, {self.size:.0%} of rows moved"
        return f"{self.kind} {self.size:g}{unit[self.kind]}"


SHIFTS: tuple[Shift, ...] = (
    *(Shift("none", 0.0, copy=i) for i in range(5)),
    *(Shift("none", 0.0, categorical=True, copy=5 + i) for i in range(3)),
    Shift("location", 0.02),
    Shift("location", 0.05),
    Shift("location", 0.1, modest=True),
    Shift("location", 0.25),
    Shift("location", 0.5),
    Shift("scale", 1.05),
    Shift("scale", 1.15, modest=True),
    Shift("scale", 1.3),
    Shift("skew", 0.25),
    Shift("skew", 0.5, modest=True),
    Shift("skew", 1.0),
    Shift("bimodal", 0.7),
    Shift("bimodal", 0.8, modest=True),
    Shift("bimodal", 0.9),
    Shift("mix", 0.02, categorical=True),
    Shift("mix", 0.05, categorical=True, modest=True),
    Shift("mix", 0.1, categorical=True),
)
NUMERIC = [s.name for s in SHIFTS if not s.categorical]
CATEGORICAL = [s.name for s in SHIFTS if s.categorical]


# -- data ----------------------------------------------------------------------------------------
def _sample(shift: Shift, n: int, rng: np.random.Generator, current: bool) -> Any:
    if shift.categorical:
        p = CATEGORY_P.copy()
        if current and shift.kind == "mix":
            p[0] -= shift.size
            p[4:] += shift.size / 2
        return np.asarray(CATEGORIES)[rng.choice(len(CATEGORIES), size=n, p=p)]
    if not current or shift.kind == "none":
        return rng.standard_normal(n)
    if shift.kind == "location":
        return rng.standard_normal(n) + shift.size
    if shift.kind == "scale":
        return rng.standard_normal(n) * shift.size
    if shift.kind == "skew":
        k = 4 / shift.size**2  # a gamma of shape k has skewness 2 / sqrt(k)
        return (rng.gamma(k, size=n) - k) / math.sqrt(k)
    if shift.kind == "bimodal":
        a = shift.size
        return rng.choice([-a, a], size=n) + math.sqrt(1 - a * a) * rng.standard_normal(n)
    raise ValueError(shift.kind)


def make_pair(n: int, seed: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    rng = np.random.default_rng(seed)
    ref = pl.DataFrame({s.name: _sample(s, n, rng, current=False) for s in SHIFTS})
    cur = pl.DataFrame({s.name: _sample(s, n, rng, current=True) for s in SHIFTS})
    return ref, cur


# -- contenders ------------------------------------------------------------------------------------
Flags = dict[str, bool]


def charter_flags(ref: pl.DataFrame, cur: pl.DataFrame) -> dict[str, Flags]:
    """charter's default, the old default and candidate gates, from the same summaries."""
    from charter.engines.summaries import summarise_like, summarise_reference
    from charter.monitoring.evaluation import column_drift
    from charter.spec.model import DriftPolicy

    default = DriftPolicy()
    old = DriftPolicy(method="psi")  # the default before 'auto': PSI, warn 0.1, breach 0.25
    candidates = {f"auto, significance {a:g}": DriftPolicy(significance=a) for a in CANDIDATES}
    out: dict[str, Flags] = defaultdict(dict)
    for shift in SHIFTS:
        kind = "categorical" if shift.categorical else "numeric"
        reference = summarise_reference(ref[shift.name], kind)
        current = summarise_like(reference, cur[shift.name])
        for label, policy in [("charter", default), (OLD, old), *candidates.items()]:
            methods = column_drift(reference, current, policy)
            judged = next(m for m in methods.values() if m["judged"])
            out[label][shift.name] = judged["status"] in ("warn", "breach")
        out[EFFECT][shift.name] = _effect(methods, shift)
    return dict(out)


def _effect(methods: Mapping[str, Mapping[str, Any]], shift: Shift) -> Any:
    name = "jensen_shannon" if shift.categorical else "wasserstein"
    return methods[name]["value"]


def to_pandas(frame: pl.DataFrame) -> Any:
    """The peers' input: pandas, with the categorical columns as pandas categories."""
    return frame.with_columns(pl.col(CATEGORICAL).cast(pl.Categorical)).to_pandas()


def evidently_flags(ref_pd: Any, cur_pd: Any) -> Flags:
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    definition = DataDefinition(numerical_columns=NUMERIC, categorical_columns=CATEGORICAL)
    snapshot = Report([DataDriftPreset()]).run(
        Dataset.from_pandas(cur_pd, data_definition=definition),
        Dataset.from_pandas(ref_pd, data_definition=definition),
    )
    out: Flags = {}
    for metric in snapshot.dict()["metrics"]:
        config = metric["config"]
        if config.get("type", "").endswith("ValueDrift"):
            out[config["column"]] = _evidently_drifted(config, float(metric["value"]))
    return out


def evidently_stattest_flags(ref_pd: Any, cur_pd: Any) -> Flags:
    """Evidently's default per-column test and verdict, called as the preset calls it
    (``get_stattest`` with no method, then the test at its default threshold), without the
    report's rendering, which is most of the preset's time. The sweep checks on its first
    repetition of each size that this agrees with ``DataDriftPreset`` column for column."""
    from evidently.legacy.calculations.stattests.registry import get_stattest
    from evidently.legacy.core import ColumnType

    out: Flags = {}
    for column in NUMERIC + CATEGORICAL:
        kind = ColumnType.Categorical if column in CATEGORICAL else ColumnType.Numerical
        ref, cur = ref_pd[column], cur_pd[column]
        test = get_stattest(ref, cur, kind, None)
        out[column] = bool(test(ref, cur, kind, None).drifted)
    return out


def _evidently_drifted(config: Mapping[str, Any], value: float) -> bool:
    """Evidently's verdict (as its stattests decide it): a test named "... p_value" drifts at or
    below its threshold (KS) or below it (chi-squared), a distance at or above it."""
    threshold = float(config["threshold"])
    method = str(config["method"])
    if "p_value" in method:
        return value <= threshold if method.startswith("K-S") else value < threshold
    return value >= threshold


def nannyml_flags(ref_pd: Any, cur_pd: Any) -> tuple[Flags, dict[str, float]]:
    """NannyML's alerts with its defaults: Jensen–Shannon, a threshold of the reference chunks'
    mean + 3 standard deviations, and its default chunker (10 chunks of each side). A column is
    flagged when any of the window's chunks alerts; the share of alerting chunks is also kept."""
    import nannyml as nml

    calc = nml.UnivariateDriftCalculator(column_names=NUMERIC + CATEGORICAL)
    calc.fit(ref_pd)
    frame = calc.calculate(cur_pd).filter(period="analysis").to_df()
    flags: Flags = {}
    share: dict[str, float] = {}
    for column, method, field in frame.columns:
        if field == "alert" and column != "chunk":
            alerts = frame[(column, method, field)].astype(bool)
            flags[column] = flags.get(column, False) or bool(alerts.any())
            share[column] = max(share.get(column, 0.0), float(alerts.mean()))
    return flags, share


# -- the sweep -------------------------------------------------------------------------------------
CANDIDATES = (0.05, 0.001)
OLD = "charter's previous default (PSI, warn 0.1)"
EFFECT = "effect"
NANNYML = ("NannyML", "NannyML, share of its 10 chunks alerting")


def _check_evidently(ref_pd: Any, cur_pd: Any, n: int) -> None:
    if evidently_flags(ref_pd, cur_pd) != evidently_stattest_flags(ref_pd, cur_pd):
        raise AssertionError(f"Evidently's preset and its stattests disagree at n={n}")


def peer_flags(ref_pd: Any, cur_pd: Any, *, nannyml_first: bool) -> dict[str, Mapping[str, Any]]:
    """Evidently's and NannyML's flags (and NannyML's share of alerting chunks)."""
    out: dict[str, Mapping[str, Any]] = {}
    for peer in ("NannyML", "Evidently") if nannyml_first else ("Evidently", "NannyML"):
        if peer == "Evidently":
            out["Evidently"] = evidently_stattest_flags(ref_pd, cur_pd)
        else:
            out.update(zip(NANNYML, nannyml_flags(ref_pd, cur_pd), strict=True))
    return out


def sweep(sizes: Sequence[int], reps: Sequence[int]) -> tuple[dict[Any, list[Any]], float]:
    """``{(contender, n, column): [flagged per repetition]}`` and the seconds it took."""
    seen: dict[Any, list[Any]] = defaultdict(list)
    started = time.perf_counter()
    for n, repeat in zip(sizes, reps, strict=True):
        for rep in range(repeat):
            ref, cur = make_pair(n, SEED + 1000 * rep + n % 997)
            results: dict[str, Mapping[str, Any]] = dict(charter_flags(ref, cur))
            ref_pd, cur_pd = to_pandas(ref), to_pandas(cur)
            del ref, cur
            if rep == 0 and n <= 100_000:
                _check_evidently(ref_pd, cur_pd, n)
            # Alternate which peer runs first: each sees the machine as loaded as the other.
            results.update(peer_flags(ref_pd, cur_pd, nannyml_first=rep % 2 == 1))
            for contender, flags in results.items():
                for column, flagged in flags.items():
                    seen[contender, n, column].append(flagged)
            elapsed = time.perf_counter() - started
            print(f"  n={n:,} rep {rep + 1}/{repeat} ({elapsed:.0f}s)", flush=True)
    return seen, time.perf_counter() - started


def rate(seen: Mapping[Any, list[Any]], contender: str, n: int, columns: Sequence[str]) -> float:
    """The mean of the flags (True: 1) or shares seen for ``columns`` at size ``n``."""
    values = [float(v) for c in columns for v in seen.get((contender, n, c), [])]
    return sum(values) / len(values) if values else math.nan


def _pct(x: float) -> str:
    return "—" if math.isnan(x) else f"{100 * x:.0f}%"


def report(
    seen: Mapping[Any, list[Any]], sizes: Sequence[int], reps: Sequence[int], seconds: float
) -> str:
    main = ("charter", "Evidently", "NannyML")
    extra = (OLD, *(f"auto, significance {a:g}" for a in CANDIDATES), NANNYML[1])
    unchanged_num = [s.name for s in SHIFTS if s.kind == "none" and not s.categorical]
    unchanged_cat = [s.name for s in SHIFTS if s.kind == "none" and s.categorical]
    unchanged = unchanged_num + unchanged_cat
    modest = [s.name for s in SHIFTS if s.modest]
    large_n = [n for n in sizes if n >= 10_000]

    def cell(contenders: Sequence[str], n: int, columns: Sequence[str]) -> str:
        return " / ".join(_pct(rate(seen, c, n, columns)) for c in contenders)

    by_n = " | ".join(f"n = {n:,}" for n in sizes)
    lines = [
        "| shift (charter / Evidently / NannyML) | W1/σ or JS at largest n | " + by_n + " |",
        "| --- | ---: | " + " | ".join("---:" for _ in sizes) + " |",
    ]
    for label, columns in [
        ("**false alarms**, unchanged numeric", unchanged_num),
        ("**false alarms**, unchanged categorical", unchanged_cat),
    ]:
        lines.append(f"| {label} | | " + " | ".join(cell(main, n, columns) for n in sizes) + " |")
    for shift in SHIFTS:
        if shift.kind == "none":
            continue
        effects = seen.get((EFFECT, sizes[-1], shift.name), [])
        effect = f"{float(np.median(effects)):.3f}" if effects else "—"
        label = shift.label + (" (modest)" if shift.modest else "")
        row = " | ".join(cell(main, n, [shift.name]) for n in sizes)
        lines.append(f"| {label} | {effect} | {row} |")

    lines += [
        "",
        "Same summaries, other rules (detection of the modest shifts / false alarms):",
        "",
        "| rule | " + by_n + " |",
        "| --- | " + " | ".join("---:" for _ in sizes) + " |",
    ]
    for contender in (*main, *extra):
        row = " | ".join(
            f"{cell([contender], n, modest)} / {cell([contender], n, unchanged)}" for n in sizes
        )
        lines.append(f"| {contender} | {row} |")

    def mean_rate(contender: str, columns: Sequence[str], ns: Sequence[int]) -> float:
        return float(np.mean([rate(seen, contender, n, columns) for n in ns]))

    headline = (
        f"Headline: on the modest shifts at n >= 10,000, charter's defaults flag "
        f"{_pct(mean_rate('charter', modest, large_n))} (Evidently "
        f"{_pct(mean_rate('Evidently', modest, large_n))}, NannyML "
        f"{_pct(mean_rate('NannyML', modest, large_n))}, charter's old PSI default "
        f"{_pct(mean_rate(OLD, modest, large_n))}); false alarms on unchanged columns over all "
        f"sizes: charter {_pct(mean_rate('charter', unchanged, sizes))}, Evidently "
        f"{_pct(mean_rate('Evidently', unchanged, sizes))}, NannyML "
        f"{_pct(mean_rate('NannyML', unchanged, sizes))}."
    )
    load = os.getloadavg()
    reps_text = ", ".join(f"{r} at n = {n:,}" for n, r in zip(sizes, reps, strict=True))
    return "\n".join(
        [
            f"## Drift defaults: detection and false alarms "
            f"({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())})",
            "",
            headline,
            "",
            f"- machine: {_env.machine()}; load average at the end "
            f"{load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}; the machine was loaded by other "
            "work, which the rates do not depend on",
            f"- versions: {_env.versions(['charter-ml', 'evidently', 'nannyml', 'numpy', 'scipy'])}",
            f"- data: seed {SEED}; reference and current of n rows each; repetitions: {reps_text};"
            f" {len(NUMERIC)} numeric and {len(CATEGORICAL)} categorical columns per repetition;"
            f" sweep took {seconds:.0f}s",
            f"- command: `python -m {MODULE} --sizes {','.join(map(str, sizes))} "
            f"--reps {','.join(map(str, reps))}`",
            "- a cell is the share of repetitions the column was flagged: charter (warn or "
            "breach of its default `operations.monitor.drift`), Evidently (`DataDriftPreset` "
            "drift detected), NannyML (an alert in any of its default 10 chunks); modest ="
            " location 0.1σ, scale ×1.15, skewness 0.5, bimodal ±0.8, 5% of categories moved",
            "",
            *lines,
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000,1000000")
    parser.add_argument("--reps", default="200,60,12,2")
    parser.add_argument("--no-write", action="store_true", help="print, do not append RESULTS.md")
    args = parser.parse_args()
    sizes = [int(x) for x in args.sizes.split(",")]
    reps = [int(x) for x in args.reps.split(",")]
    warnings.filterwarnings("ignore")
    seen, seconds = sweep(sizes, reps)
    section = report(seen, sizes, reps, seconds)
    print(section)
    if not args.no_write:
        common.append_results(section)


if __name__ == "__main__":
    main()
