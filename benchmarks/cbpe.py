"""Estimated performance without labels: charter's CBPE against NannyML's, and a floor.

Run: ``python -m benchmarks.cbpe [--rows 500000] [--repeat 3]`` from the repository root.

Data (seed 20261124): the world's ``P(y = 1 | x) = sigmoid(2x - 1)`` never changes; the model
scores ``sigmoid(x - 0.5)``, which ranks well but is miscalibrated, so both tools must calibrate.
The labelled reference has ``rows`` rows with ``x ~ N(0, 1)``; the unlabelled analysis has
``rows`` rows in 10 windows whose mean of ``x`` moves from -0.5 to 1.0 (covariate shift).

Contenders, each fitting on the reference and estimating roc_auc, accuracy, precision, recall
and f1 with a confidence band for each of the 10 windows:

- charter: ``CBPE.fit`` then ``estimate`` per window.
- NannyML: ``CBPE(problem_type="classification_binary", chunk_size=rows // 10)`` fit + estimate.
- floor: isotonic calibration (scikit-learn) plus the expected confusion matrix and expected ROC
  area written directly in NumPy, without sampling error.
"""

from __future__ import annotations

import argparse
import importlib
import warnings
from collections.abc import Callable
from typing import Any

from benchmarks import _env

PEERS = ["nannyml==0.13.1", "pandas<3"]
MODULE = "benchmarks.cbpe"
if __name__ == "__main__":  # move into benchmarks/.venv before importing anything from it
    _env.reexec_in_venv(MODULE, PEERS)

import numpy as np  # noqa: E402

from benchmarks import _stats_common as common  # noqa: E402

METRICS = ("roc_auc", "accuracy", "precision", "recall", "f1")
WINDOWS = 10
TOLERANCE = 0.01


def world(rows: int, means: list[float], seed: int) -> tuple[Any, Any]:
    rng = np.random.default_rng(seed)
    x = np.concatenate([rng.normal(m, 1.0, rows // len(means)) for m in means])
    truth = 1 / (1 + np.exp(-(2 * x - 1)))
    score = 1 / (1 + np.exp(-(x - 0.5)))
    return score, (rng.random(x.size) < truth).astype(np.int64)


def charter_run(ref: tuple[Any, Any], scores: Any) -> list[dict[str, Any]]:
    from charter.monitoring.cbpe import CBPE

    model = CBPE.fit(ref[0], ref[1])
    assert isinstance(model, CBPE), model
    return [model.estimate(window) for window in np.array_split(scores, WINDOWS)]


def nannyml_run(ref_pd: Any, analysis_pd: Any) -> Any:
    import nannyml as nml

    estimator = nml.CBPE(
        y_pred_proba="score",
        y_pred="pred",
        y_true="y",
        problem_type="classification_binary",
        metrics=list(METRICS),
        chunk_size=len(analysis_pd) // WINDOWS,
    )
    estimator.fit(ref_pd)
    result = estimator.estimate(analysis_pd).to_df()
    return result[result[("chunk", "period")] == "analysis"]


def floor_run(ref: tuple[Any, Any], scores: Any) -> list[dict[str, float]]:
    from sklearn.isotonic import IsotonicRegression

    iso = IsotonicRegression(y_min=0, y_max=1, out_of_bounds="clip").fit(ref[0], ref[1])
    out = []
    for s in np.array_split(scores, WINDOWS):
        p = iso.predict(s)
        pred = s >= 0.5
        tp, fn = p[pred].sum(), p[~pred].sum()
        fp, tn = pred.sum() - tp, (~pred).sum() - fn
        order = np.argsort(-s)
        tps = np.r_[0, np.cumsum(p[order])]
        fps = np.r_[0, np.arange(1, s.size + 1)] - tps
        out.append(
            {
                "roc_auc": float(np.trapezoid(tps / tps[-1], fps / fps[-1])),
                "accuracy": (tp + tn) / s.size,
                "precision": tp / (tp + fp),
                "recall": tp / (tp + fn),
                "f1": 2 * tp / (2 * tp + fp + fn),
            }
        )
    return out


def frames(ref: tuple[Any, Any], scores: Any) -> tuple[Any, Any]:
    import pandas as pd

    ref_pd = pd.DataFrame({"score": ref[0], "pred": (ref[0] >= 0.5).astype(int), "y": ref[1]})
    analysis_pd = pd.DataFrame({"score": scores, "pred": (scores >= 0.5).astype(int)})
    return ref_pd, analysis_pd


def load(rows: int) -> tuple[tuple[Any, Any], Any, Any]:
    ref = world(rows, [0.0], 20261124)
    scores, labels = world(rows, list(np.linspace(-0.5, 1.0, WINDOWS)), 20261125)
    return ref, scores, labels


def _tasks(rows: int, want: str | None = None) -> dict[str, Callable[[], object]]:
    ref, scores, _ = load(rows)
    tasks: dict[str, Callable[[], object]] = {}
    if want in (None, "charter CBPE"):
        tasks["charter CBPE"] = lambda: charter_run(ref, scores)
    if want in (None, "NannyML CBPE"):
        ref_pd, analysis_pd = frames(ref, scores)
        tasks["NannyML CBPE"] = lambda: nannyml_run(ref_pd, analysis_pd)
    if want in (None, "floor (isotonic + NumPy)"):
        tasks["floor (isotonic + NumPy)"] = lambda: floor_run(ref, scores)
    return tasks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=500_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--rss", help=argparse.SUPPRESS)
    parser.add_argument("--no-write", action="store_true", help="print, do not append RESULTS.md")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    if args.rss:
        tasks = _tasks(args.rows, want=args.rss)
        for module in ("charter.monitoring.cbpe", "nannyml", "sklearn.isotonic"):
            importlib.import_module(module)
        baseline = common.reset_peak_rss()
        tasks[args.rss]()
        common.report_rss(baseline)
        return

    from charter.monitoring import performance as perf
    from charter.monitoring.cbpe import Estimate

    ref, scores, labels = load(args.rows)
    ours = charter_run(ref, scores)
    theirs = nannyml_run(*frames(ref, scores))
    worst = {m: 0.0 for m in METRICS}
    realized_gap = {m: 0.0 for m in METRICS}
    covered = 0
    windows = zip(np.array_split(scores, WINDOWS), np.array_split(labels, WINDOWS), strict=True)
    for i, (s, y) in enumerate(windows):
        for m in METRICS:
            estimate = ours[i][m]
            assert isinstance(estimate, Estimate), estimate
            nannyml_value = float(theirs[(m, "value")].iloc[i])
            worst[m] = max(worst[m], abs(estimate.value - nannyml_value))
            truth = perf.classification_metrics(y, s)[m]
            assert isinstance(truth, float)
            realized_gap[m] = max(realized_gap[m], abs(estimate.value - truth))
            assert estimate.lower is not None and estimate.upper is not None
            covered += estimate.lower <= truth <= estimate.upper
    if max(worst.values()) > TOLERANCE:
        raise SystemExit(f"charter and NannyML disagree by more than {TOLERANCE}: {worst}")

    print("timing", flush=True)
    tasks = _tasks(args.rows)
    times = common.alternate(tasks, args.repeat)
    rss = {name: common.measure_rss(MODULE, name, ["--rows", str(args.rows)])[:2] for name in tasks}
    best = {name: common.best_and_median(t) for name, t in times.items()}
    ours_min = best["charter CBPE"][0]
    table = [
        "| contender | min s | median s | min ÷ charter | peak RSS MiB (data loaded) |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for name, (low, mid) in best.items():
        peak, base = rss[name]
        table.append(
            f"| {name} | {low:.3f} | {mid:.3f} | {low / ours_min:.2f} | {peak:.0f} ({base:.0f}) |"
        )
    agreement = ", ".join(f"{m} {worst[m]:.1e}" for m in METRICS)
    tracking = ", ".join(f"{m} {realized_gap[m]:.3f}" for m in METRICS)
    section = "\n".join(
        [
            f"## Estimated performance (CBPE) — {_env.stamp()}",
            "",
            f"Machine: {_env.machine()}. Packages: "
            + _env.versions(["charter-ml", "numpy", "scikit-learn", "pandas", "nannyml"])
            + ".",
            f"Data: labelled reference {args.rows:,} rows; analysis {args.rows:,} scored rows in "
            f"{WINDOWS} windows, covariate shift of the mean from -0.5 to 1.0 (seed 20261124/5). "
            f"Fit + estimate all windows, 5 metrics with bands. Repetitions: {args.repeat}, "
            "alternating.",
            f"Command: `python -m benchmarks.cbpe --rows {args.rows} --repeat {args.repeat}`",
            "",
            *table,
            "",
            f"NannyML ÷ charter: {best['NannyML CBPE'][0] / ours_min:.1f}×; charter ÷ floor: "
            f"{ours_min / best['floor (isotonic + NumPy)'][0]:.2f}×.",
            f"Agreement with NannyML, worst absolute difference over the windows (tolerance "
            f"{TOLERANCE}): {agreement}.",
            f"Estimate vs realized (labels withheld from both tools), worst over the windows: "
            f"{tracking}; realized value inside charter's 3-standard-error band in {covered} of "
            f"{WINDOWS * len(METRICS)} window-metrics.",
        ]
    )
    print(section)
    if not args.no_write:
        common.append_results(section)


if __name__ == "__main__":
    main()
