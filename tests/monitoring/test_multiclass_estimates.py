"""Multiclass CBPE and regression DLE against outcomes drawn where the truth is known."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from sklearn import metrics as skm

from charter.engines.summaries import NotComputable
from charter.monitoring import multiclass as mc
from charter.monitoring.cbpe import Estimate
from charter.monitoring.cbpe_multiclass import MulticlassCBPE
from charter.monitoring.dle import DLE

CLASSES = ("a", "b", "c")


def _calibrated(n: int, seed: int, shift: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Probabilities that are the truth: each label is drawn from its row's probabilities."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(0, 1.5, (n, 3)) + np.array([shift, 0, -shift])
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    y = (rng.uniform(size=(n, 1)) > np.cumsum(p, axis=1)).sum(axis=1)
    return p, y.astype(np.float64)


def test_metrics_match_scikit_learn_to_1e_9() -> None:
    p, y = _calibrated(3000, 1)
    pred = p.argmax(axis=1)
    got = mc.multiclass_metrics(y, p, CLASSES)
    per_class = skm.precision_recall_fscore_support(y, pred, labels=[0, 1, 2])
    expected = {
        "accuracy": skm.accuracy_score(y, pred),
        "roc_auc": skm.roc_auc_score(y, p, multi_class="ovr", average="macro"),
        "log_loss": skm.log_loss(y, p, labels=[0, 1, 2]),
        **{
            f"{m}_{avg}": fn(y, pred, average=avg)
            for avg in ("macro", "weighted")
            for m, fn in (
                ("precision", skm.precision_score),
                ("recall", skm.recall_score),
                ("f1", skm.f1_score),
            )
        },
        **{
            f"{m}[{c}]": per_class[i][k]
            for i, m in enumerate(("precision", "recall", "f1"))
            for k, c in enumerate(CLASSES)
        },
        **{f"roc_auc[{c}]": skm.roc_auc_score(y == k, p[:, k]) for k, c in enumerate(CLASSES)},
    }
    for name, value in expected.items():
        assert got[name] == pytest.approx(value, abs=1e-9), name


def test_a_class_never_predicted_counts_zero_in_the_macro_mean_as_in_scikit_learn() -> None:
    y = np.array([0, 1, 2, 2, 1, 0], dtype=float)
    p = np.array([[0.8, 0.1, 0.1], [0.2, 0.7, 0.1], [0.1, 0.8, 0.1]] * 2)  # "c" never predicted
    pred = p.argmax(axis=1)
    got = mc.multiclass_metrics(y, p, CLASSES)
    with pytest.warns(Warning):
        expected = skm.precision_score(y, pred, average="macro")
    assert got["precision_macro"] == pytest.approx(expected, abs=1e-12)
    assert isinstance(got["precision[c]"], NotComputable)
    assert "never predicted" in got["precision[c]"].reason


@pytest.mark.parametrize("case", ["plain", "a class never predicted", "a class never the label"])
def test_all_metrics_at_once_equal_each_metric_alone(case: str) -> None:
    p, y = _calibrated(500, 7)
    if case == "a class never predicted":
        p[:, 2] = 0.0  # "c" is never the most probable: its precision is undefined
    if case == "a class never the label":
        y[y == 1] = 0  # "b" is never the label: its recall and every ROC area fail
    together = mc.all_metrics(y, p, CLASSES)
    assert not isinstance(together, NotComputable)
    names = mc.metric_names(CLASSES)
    assert sorted(together) == sorted(names)
    for name in names:
        alone = mc.metric(name, y, p, CLASSES)
        assert type(together[name]) is type(alone), name
        assert together[name] == alone, name
    undefined = [n for n in names if isinstance(together[n], NotComputable)]
    assert bool(undefined) == (case != "plain")


def test_cbpe_estimates_land_near_realized_on_calibrated_draws() -> None:
    p_ref, y_ref = _calibrated(20_000, 2)
    cbpe = MulticlassCBPE.fit(p_ref, y_ref, CLASSES)
    assert isinstance(cbpe, MulticlassCBPE)
    misses = []
    for seed, shift in ((3, 0.0), (4, 1.0), (5, -1.0)):  # covariate shift keeps calibration
        p, y = _calibrated(5000, seed, shift)
        estimates = cbpe.estimate(p)
        realized = mc.multiclass_metrics(y, p, CLASSES)
        for name in ("accuracy", "roc_auc", "f1_macro", "precision_macro", "recall_macro"):
            estimate, truth = estimates[name], realized[name]
            assert isinstance(estimate, Estimate) and isinstance(truth, float)
            assert abs(estimate.value - truth) < 0.02, (seed, name)  # stated tolerance
            assert estimate.lower is not None and estimate.upper is not None
            if not estimate.lower <= truth <= estimate.upper:
                misses.append((seed, name))
    assert len(misses) <= 2, misses  # of 15: the band assumes every metric averages over rows

    restored = MulticlassCBPE.from_dict(cbpe.to_dict())
    assert restored.estimate(p)["accuracy"] == cbpe.estimate(p)["accuracy"]


def test_cbpe_refuses_a_reference_missing_a_class() -> None:
    p, y = _calibrated(1000, 6)
    fitted = MulticlassCBPE.fit(p, np.where(y == 2, 0, y), CLASSES)
    assert isinstance(fitted, NotComputable) and "cannot fit CBPE" in fitted.reason


@pytest.mark.parametrize("labels", ["missing a class", "one class only", "not indices", "plain"])
def test_labels_problem_refuses_what_roc_auc_refuses(labels: str) -> None:
    p, y = _calibrated(300, 8)
    y = {
        "missing a class": np.where(y == 2, 0, y),
        "one class only": np.zeros_like(y),
        "not indices": np.where(y == 2, 3, y),
        "plain": y,
    }[labels]
    problem = mc.labels_problem(y, p)
    area = mc.metric("roc_auc", y, p, CLASSES)
    assert (problem is None) == (labels == "plain")
    assert problem == (area if isinstance(area, NotComputable) else None)


def _regression(
    n: int, seed: int, x_shift: float = 0.0
) -> tuple[pl.DataFrame, np.ndarray, np.ndarray]:
    """A model that predicts ``2x`` while ``y = 2x + noise`` whose spread grows with ``|x|``:
    the true MAE is ``E|noise| = sqrt(2/pi) * sd(x)`` and the true RMSE ``E[sd(x)^2]^.5``."""
    rng = np.random.default_rng(seed)
    x = rng.normal(x_shift, 1, n)
    region = rng.choice(["n", "s"], n)
    sd = 0.5 + np.abs(x) + np.where(region == "s", 1.0, 0.0)
    y = 2 * x + rng.normal(0, 1, n) * sd
    return pl.DataFrame({"x": x, "region": region}), 2 * x, y


def test_dle_estimates_mae_and_rmse_where_the_true_error_is_known() -> None:
    frame, prediction, y = _regression(8_000, 1)
    dle = DLE.fit(frame, {"x": "numeric", "region": "categorical"}, prediction, y)
    assert isinstance(dle, DLE)
    seen = []
    for seed, shift in ((2, 0.0), (3, 1.0)):  # the shifted window errs more: DLE must see it
        window, predicted, _ = _regression(50_000, seed, shift)
        x, south = window["x"].to_numpy(), window["region"].to_numpy() == "s"
        sd = 0.5 + np.abs(x) + np.where(south, 1.0, 0.0)
        true_mae = float(np.mean(sd) * np.sqrt(2 / np.pi))
        true_rmse = float(np.sqrt(np.mean(sd**2)))
        estimates = dle.estimate(window, predicted)
        mae, rmse = estimates["mae"], estimates["rmse"]
        assert isinstance(mae, Estimate) and isinstance(rmse, Estimate)
        assert mae.value == pytest.approx(true_mae, rel=0.06), seed  # stated tolerance: 6%
        assert rmse.value == pytest.approx(true_rmse, rel=0.06), seed
        seen.append(mae.value)
    assert seen[1] > seen[0] * 1.1  # the true MAE grows by about a fifth
    restored = DLE.from_dict(dle.to_dict())
    assert restored.estimate(window, predicted)["mae"] == estimates["mae"]


def test_dle_needs_enough_labelled_rows() -> None:
    frame, prediction, y = _regression(150, 1)
    fitted = DLE.fit(frame, {"x": "numeric", "region": "categorical"}, prediction, y)
    assert isinstance(fitted, NotComputable) and "at least 200" in fitted.reason
