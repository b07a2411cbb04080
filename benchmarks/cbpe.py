"""Estimated performance without labels: charter's CBPE against NannyML's, and a floor.

Run: ``python -m benchmarks.cbpe [--rows 500000] [--repeat 3] [--multiclass]`` from the
repository root.

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

``--multiclass``: the same on a five-class model (issue 14). Two inputs ``x ~ N(m, 1)``; the world's
class probabilities are ``softmax(W x)`` (one direction per class, evenly spaced on a circle,
length 2); the model scores ``softmax(0.6 W x + b)`` (under-confident and biased towards class
``a``, so both tools must calibrate). Reference ``rows`` rows with ``m = 0``; analysis ``rows``
rows in 10 windows whose mean moves from -0.5 to 1.0 along ``(1, 0.5)``. Estimated: accuracy,
roc_auc and the macro precision, recall and f1 of each window, with bands.

- charter: ``MulticlassCBPE.fit`` then ``estimate`` per window (every estimated metric, the
  per-class ones included, each with its sampling error).
- NannyML: ``CBPE(problem_type="classification_multiclass", chunk_size=rows // 10)`` with the
  same five metrics (NannyML averages per-class values with ``macro``).
- floor: one isotonic calibrator per class (scikit-learn), rows renormalised, the expected
  confusion matrix and the classes' expected ROC areas in NumPy, without sampling error.
"""

from __future__ import annotations

import argparse
import importlib
import os
import warnings
from collections.abc import Callable, Iterable
from typing import Any

from benchmarks import _env

PEERS = ["nannyml==0.13.1", "pandas<3", "statsmodels"]  # nannyml imports statsmodels unlisted
MODULE = "benchmarks.cbpe"
if __name__ == "__main__":  # move into benchmarks/.venv before importing anything from it
    _env.reexec_in_venv(MODULE, PEERS)

import numpy as np  # noqa: E402

from benchmarks import _stats_common as common  # noqa: E402

METRICS = ("roc_auc", "accuracy", "precision", "recall", "f1")
WINDOWS = 10
TOLERANCE = 0.01
CLASSES = ("a", "b", "c", "d", "e")
# charter's multiclass metric -> NannyML's (whose precision, recall, f1 and roc_auc are macro)
MULTICLASS = {
    "accuracy": "accuracy",
    "roc_auc": "roc_auc",
    "precision_macro": "precision",
    "recall_macro": "recall",
    "f1_macro": "f1",
}
MC_CONTENDERS = ("charter multiclass CBPE", "NannyML multiclass CBPE", "floor (isotonic + NumPy)")


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


def _softmax(logits: Any) -> Any:
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def world_multiclass(rows: int, means: list[float], seed: int) -> tuple[Any, Any]:
    """Class probabilities scored by the model (rows x 5) and labels drawn from the world."""
    rng = np.random.default_rng(seed)
    x = np.concatenate(
        [rng.normal(0.0, 1.0, (rows // len(means), 2)) + np.array([m, 0.5 * m]) for m in means]
    )
    angles = 2 * np.pi * np.arange(len(CLASSES)) / len(CLASSES)
    directions = 2.0 * np.column_stack([np.cos(angles), np.sin(angles)])
    logits = x @ directions.T
    truth = _softmax(logits)
    scored = _softmax(0.6 * logits + np.array([0.4, 0.0, 0.0, 0.0, 0.0]))
    labels = (rng.random((x.shape[0], 1)) > np.cumsum(truth, axis=1)).sum(axis=1)
    return scored, np.minimum(labels, len(CLASSES) - 1).astype(np.int64)


def load_multiclass(rows: int) -> tuple[tuple[Any, Any], Any, Any]:
    ref = world_multiclass(rows, [0.0], 20261204)
    probas, labels = world_multiclass(rows, list(np.linspace(-0.5, 1.0, WINDOWS)), 20261205)
    return ref, probas, labels


def charter_multiclass(ref: tuple[Any, Any], probas: Any) -> list[dict[str, Any]]:
    from charter.monitoring.cbpe_multiclass import MulticlassCBPE

    model = MulticlassCBPE.fit(ref[0], ref[1], CLASSES)
    assert isinstance(model, MulticlassCBPE), model
    return [model.estimate(window) for window in np.array_split(probas, WINDOWS)]


def frames_multiclass(ref: tuple[Any, Any], probas: Any) -> tuple[Any, Any]:
    import pandas as pd

    def frame(p: Any) -> Any:
        out = pd.DataFrame({f"p_{c}": p[:, k] for k, c in enumerate(CLASSES)})
        out["pred"] = np.asarray(CLASSES)[np.argmax(p, axis=1)]
        return out

    ref_pd = frame(ref[0])
    ref_pd["y"] = np.asarray(CLASSES)[ref[1]]
    return ref_pd, frame(probas)


def nannyml_multiclass(ref_pd: Any, analysis_pd: Any) -> Any:
    import nannyml as nml

    estimator = nml.CBPE(
        y_pred_proba={c: f"p_{c}" for c in CLASSES},
        y_pred="pred",
        y_true="y",
        problem_type="classification_multiclass",
        metrics=list(MULTICLASS.values()),
        chunk_size=len(analysis_pd) // WINDOWS,
    )
    estimator.fit(ref_pd)
    result = estimator.estimate(analysis_pd).to_df()
    return result[result[("chunk", "period")] == "analysis"]


def floor_multiclass(ref: tuple[Any, Any], probas: Any) -> list[dict[str, float]]:
    from sklearn.isotonic import IsotonicRegression

    k = len(CLASSES)
    calibrators = [
        IsotonicRegression(y_min=0, y_max=1, out_of_bounds="clip").fit(ref[0][:, c], ref[1] == c)
        for c in range(k)
    ]
    out = []
    for p in np.array_split(probas, WINDOWS):
        raw = np.column_stack([cal.predict(p[:, c]) for c, cal in enumerate(calibrators)])
        q = raw / raw.sum(axis=1, keepdims=True)
        predicted = np.argmax(p, axis=1)
        matrix = np.stack([q[predicted == j].sum(axis=0) for j in range(k)], axis=1)
        tp, claimed, actual = np.diag(matrix), matrix.sum(axis=0), matrix.sum(axis=1)
        areas = []
        for c in range(k):
            order = np.argsort(-p[:, c], kind="stable")
            tps = np.r_[0, np.cumsum(q[order, c])]
            fps = np.r_[0, np.arange(1, p.shape[0] + 1)] - tps
            areas.append(np.trapezoid(tps / tps[-1], fps / fps[-1]))
        out.append(
            {
                "accuracy": float(tp.sum() / p.shape[0]),
                "roc_auc": float(np.mean(areas)),
                "precision_macro": float(np.mean(tp / claimed)),
                "recall_macro": float(np.mean(tp / actual)),
                "f1_macro": float(np.mean(2 * tp / (claimed + actual))),
            }
        )
    return out


def _tasks_multiclass(rows: int, want: str | None = None) -> dict[str, Callable[[], object]]:
    ref, probas, _ = load_multiclass(rows)
    tasks: dict[str, Callable[[], object]] = {}
    if want in (None, MC_CONTENDERS[0]):
        tasks[MC_CONTENDERS[0]] = lambda: charter_multiclass(ref, probas)
    if want in (None, MC_CONTENDERS[1]):
        ref_pd, analysis_pd = frames_multiclass(ref, probas)
        tasks[MC_CONTENDERS[1]] = lambda: nannyml_multiclass(ref_pd, analysis_pd)
    if want in (None, MC_CONTENDERS[2]):
        tasks[MC_CONTENDERS[2]] = lambda: floor_multiclass(ref, probas)
    return tasks


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


class Tally:
    """Per metric, the worst distance to NannyML and to the realized value, and how often the
    realized value fell inside charter's band."""

    def __init__(self, metrics: Iterable[str]) -> None:
        self.worst = dict.fromkeys(metrics, 0.0)
        self.realized_gap = dict.fromkeys(metrics, 0.0)
        self.covered = 0

    def add(self, metric: str, estimate: Any, nannyml_value: float, truth: object) -> None:
        from charter.monitoring.cbpe import Estimate

        assert isinstance(estimate, Estimate), estimate
        assert isinstance(truth, float), truth
        self.worst[metric] = max(self.worst[metric], abs(estimate.value - nannyml_value))
        self.realized_gap[metric] = max(self.realized_gap[metric], abs(estimate.value - truth))
        assert estimate.lower is not None and estimate.upper is not None
        self.covered += estimate.lower <= truth <= estimate.upper

    def summary(self) -> tuple[str, str]:
        """The worst distances to NannyML and to the realized values, for the report."""
        return (
            ", ".join(f"{m} {v:.1e}" for m, v in self.worst.items()),
            ", ".join(f"{m} {v:.3f}" for m, v in self.realized_gap.items()),
        )

    def check(self) -> None:
        if max(self.worst.values()) > TOLERANCE:
            raise SystemExit(f"charter and NannyML disagree by more than {TOLERANCE}: {self.worst}")


def _timing_table(
    best: dict[str, tuple[float, float]], rss: dict[str, tuple[float, float]], ours: str
) -> list[str]:
    low0, mid0 = best[ours]
    table = [
        "| contender | min s | median s | median ÷ charter | min ÷ charter "
        "| peak RSS MiB (data loaded) |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, (low, mid) in best.items():
        peak, base = rss[name]
        table.append(
            f"| {name} | {low:.3f} | {mid:.3f} | {mid / mid0:.2f} | {low / low0:.2f} "
            f"| {peak:.0f} ({base:.0f}) |"
        )
    return table


def _measure(
    tasks: dict[str, Callable[[], object]], args: argparse.Namespace, extra: list[str]
) -> tuple[dict[str, tuple[float, float]], dict[str, tuple[float, float]], str]:
    """Each contender's (min, median) seconds, alternating, its peak RSS in a fresh process, and
    the machine line with the load average around the timing."""
    load_start = os.getloadavg()[0]
    times = common.alternate(tasks, args.repeat)
    load_end = os.getloadavg()[0]
    rss = {
        name: common.measure_rss(MODULE, name, ["--rows", str(args.rows), *extra])[:2]
        for name in tasks
    }
    best = {name: common.best_and_median(t) for name, t in times.items()}
    machine = (
        f"Machine: {_env.machine()}. Packages: "
        + _env.versions(["charter-ml", "numpy", "scikit-learn", "pandas", "nannyml"])
        + f". Load average (1 min) at start {load_start:.1f}, at end {load_end:.1f}."
    )
    return best, rss, machine


def run_binary(args: argparse.Namespace) -> str:
    from charter.monitoring import performance as perf

    ref, scores, labels = load(args.rows)
    ours = charter_run(ref, scores)
    theirs = nannyml_run(*frames(ref, scores))
    tally = Tally(METRICS)
    windows = zip(np.array_split(scores, WINDOWS), np.array_split(labels, WINDOWS), strict=True)
    for i, (s, y) in enumerate(windows):
        realized = perf.classification_metrics(y, s)
        for m in METRICS:
            tally.add(m, ours[i][m], float(theirs[(m, "value")].iloc[i]), realized[m])
    tally.check()

    print("timing", flush=True)
    best, rss, machine = _measure(_tasks(args.rows), args, [])
    mid = {name: m for name, (_, m) in best.items()}
    low = {name: m for name, (m, _) in best.items()}
    floor = "floor (isotonic + NumPy)"
    agreement, tracking = tally.summary()
    return "\n".join(
        [
            f"## Estimated performance (CBPE) — {_env.stamp()}",
            "",
            machine,
            f"Data: labelled reference {args.rows:,} rows; analysis {args.rows:,} scored rows in "
            f"{WINDOWS} windows, covariate shift of the mean from -0.5 to 1.0 (seed 20261124/5). "
            f"Fit + estimate all windows, 5 metrics with bands. Repetitions: {args.repeat}, "
            "alternating.",
            f"Command: `python -m benchmarks.cbpe --rows {args.rows} --repeat {args.repeat}`",
            "",
            *_timing_table(best, rss, "charter CBPE"),
            "",
            f"Headline (medians): NannyML ÷ charter {mid['NannyML CBPE'] / mid['charter CBPE']:.1f}×; "
            f"charter ÷ floor {mid['charter CBPE'] / mid[floor]:.2f}× (minima: "
            f"{low['NannyML CBPE'] / low['charter CBPE']:.1f}×, "
            f"{low['charter CBPE'] / low[floor]:.2f}×).",
            f"Agreement with NannyML, worst absolute difference over the windows (tolerance "
            f"{TOLERANCE}): {agreement}.",
            f"Estimate vs realized (labels withheld from both tools), worst over the windows: "
            f"{tracking}; realized value inside charter's 3-standard-error band in {tally.covered} of "
            f"{WINDOWS * len(METRICS)} window-metrics.",
        ]
    )


def run_multiclass(args: argparse.Namespace) -> str:
    from charter.monitoring import multiclass as mc

    ref, probas, labels = load_multiclass(args.rows)
    ours = charter_multiclass(ref, probas)
    theirs = nannyml_multiclass(*frames_multiclass(ref, probas))
    floor = floor_multiclass(ref, probas)
    tally = Tally(MULTICLASS)
    worst_floor = dict.fromkeys(MULTICLASS, 0.0)
    windows = zip(np.array_split(probas, WINDOWS), np.array_split(labels, WINDOWS), strict=True)
    for i, (p, y) in enumerate(windows):
        realized = mc.all_metrics(y, p, CLASSES)
        assert isinstance(realized, dict), realized
        for name, nannyml_name in MULTICLASS.items():
            estimate = ours[i][name]
            tally.add(
                name, estimate, float(theirs[(nannyml_name, "value")].iloc[i]), realized[name]
            )
            worst_floor[name] = max(worst_floor[name], abs(estimate.value - floor[i][name]))
    tally.check()

    print("timing", flush=True)
    best, rss, machine = _measure(_tasks_multiclass(args.rows), args, ["--multiclass"])
    mid = {name: m for name, (_, m) in best.items()}
    low = {name: m for name, (m, _) in best.items()}
    us, them, bare = MC_CONTENDERS
    agreement, tracking = tally.summary()
    against_floor = ", ".join(f"{m} {worst_floor[m]:.1e}" for m in MULTICLASS)
    estimated = len(ours[0])
    return "\n".join(
        [
            f"## Estimated performance, multiclass (CBPE) — {_env.stamp()}",
            "",
            machine,
            f"Data: {len(CLASSES)} classes; labelled reference {args.rows:,} rows; analysis "
            f"{args.rows:,} scored rows in {WINDOWS} windows of {args.rows // WINDOWS:,} (NannyML: "
            f"`chunk_size={args.rows // WINDOWS}`, the same rows), covariate shift of the inputs' "
            "mean from -0.5 to 1.0 (seed 20261204/5). Fit + estimate all windows with bands: "
            f"NannyML the 5 macro metrics, charter {estimated} (the 5 and each class's precision, "
            f"recall, f1 and roc_auc). Repetitions: {args.repeat}, alternating.",
            f"Command: `python -m benchmarks.cbpe --multiclass --rows {args.rows} "
            f"--repeat {args.repeat}`",
            "",
            *_timing_table(best, rss, us),
            "",
            f"Headline (medians): NannyML ÷ charter {mid[them] / mid[us]:.1f}×; charter ÷ floor "
            f"{mid[us] / mid[bare]:.2f}× (minima: {low[them] / low[us]:.1f}×, "
            f"{low[us] / low[bare]:.2f}×).",
            f"Agreement with NannyML, worst absolute difference over the windows (tolerance "
            f"{TOLERANCE}): {agreement}; with the floor: {against_floor}.",
            f"Estimate vs realized (labels withheld from both tools), worst over the windows: "
            f"{tracking}; realized value inside charter's 3-standard-error band in {tally.covered} of "
            f"{WINDOWS * len(MULTICLASS)} window-metrics.",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=500_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--multiclass", action="store_true", help="five classes (issue 14)")
    parser.add_argument("--rss", help=argparse.SUPPRESS)
    parser.add_argument("--no-write", action="store_true", help="print, do not append RESULTS.md")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    if args.rss:
        make = _tasks_multiclass if args.multiclass else _tasks
        tasks = make(args.rows, want=args.rss)
        for module in ("charter.monitoring.cbpe_multiclass", "nannyml", "sklearn.isotonic"):
            importlib.import_module(module)
        baseline = common.reset_peak_rss()
        tasks[args.rss]()
        common.report_rss(baseline)
        return
    section = run_multiclass(args) if args.multiclass else run_binary(args)
    print(section)
    if not args.no_write:
        common.append_results(section)


if __name__ == "__main__":
    main()
