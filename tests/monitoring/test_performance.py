"""Realized metrics: agreement with scikit-learn, and a reason instead of a crash on bad input."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics as skm
from sklearn.calibration import calibration_curve

from charter.engines.summaries import NotComputable
from charter.monitoring import performance as perf


@pytest.fixture(scope="module")
def scored() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(42)
    p = rng.beta(2, 3, size=5_000)
    y = (rng.random(p.size) < p).astype(np.float64)
    p[:200] = np.round(p[:200], 1)  # ties, and values exactly on calibration bin edges
    p[200] = 0.0
    p[201] = 1.0
    return y, p


def value(result: float | NotComputable) -> float:
    assert isinstance(result, float), result
    return result


def test_classification_metrics_match_scikit_learn(scored: tuple[np.ndarray, np.ndarray]) -> None:
    y, p = scored
    hard = (p >= 0.5).astype(int)
    expected = {
        "roc_auc": skm.roc_auc_score(y, p),
        "pr_auc": skm.average_precision_score(y, p),
        "accuracy": skm.accuracy_score(y, hard),
        "precision": skm.precision_score(y, hard),
        "recall": skm.recall_score(y, hard),
        "f1": skm.f1_score(y, hard),
        "log_loss": skm.log_loss(y, p),
        "brier": skm.brier_score_loss(y, p),
    }
    results = perf.classification_metrics(y, p)
    for name, reference in expected.items():
        assert value(results[name]) == pytest.approx(reference, rel=1e-12), name


def test_threshold_moves_the_label_based_metrics(scored: tuple[np.ndarray, np.ndarray]) -> None:
    y, p = scored
    hard = (p >= 0.3).astype(int)
    assert value(perf.f1(y, p, 0.3)) == pytest.approx(skm.f1_score(y, hard), rel=1e-12)
    assert value(perf.recall(y, p, 0.3)) == pytest.approx(skm.recall_score(y, hard), rel=1e-12)


def test_calibration_error_matches_calibration_curve(scored: tuple[np.ndarray, np.ndarray]) -> None:
    y, p = scored
    prob_true, prob_pred = calibration_curve(y, p, n_bins=10, strategy="uniform")
    bins = np.searchsorted(np.linspace(0, 1, 11)[1:-1], p)
    counts = np.bincount(bins, minlength=10)
    weights = counts[counts > 0] / p.size
    expected = float(np.sum(weights * np.abs(prob_true - prob_pred)))
    assert value(perf.calibration_error(y, p)) == pytest.approx(expected, rel=1e-12)


def test_calibration_error_of_a_hand_made_case() -> None:
    # bin [0, .1]: p = .1, .1 with labels 0, 1 -> |0.5 - 0.1| weighted 2/4
    # bin (.8, .9]: p = .9, .9 with labels 1, 1 -> |1 - 0.9| weighted 2/4
    assert value(perf.calibration_error([0, 1, 1, 1], [0.1, 0.1, 0.9, 0.9])) == pytest.approx(0.25)


def test_log_loss_of_a_confident_mistake_is_large_but_finite() -> None:
    loss = value(perf.log_loss([1, 0], [0.0, 0.0]))
    assert loss == pytest.approx(skm.log_loss([1, 0], [0.0, 0.0]), rel=1e-12)
    assert loss == pytest.approx(-np.log(np.finfo(np.float64).eps) / 2)


def test_regression_metrics_match_scikit_learn() -> None:
    rng = np.random.default_rng(1)
    y = rng.gamma(2.0, 10.0, size=2_000) + 1
    p = y + rng.normal(0, 3, size=y.size)
    results = perf.regression_metrics(y, p)
    expected = {
        "mae": skm.mean_absolute_error(y, p),
        "rmse": np.sqrt(skm.mean_squared_error(y, p)),
        "mape": skm.mean_absolute_percentage_error(y, p),
        "r2": skm.r2_score(y, p),
    }
    for name, reference in expected.items():
        assert value(results[name]) == pytest.approx(reference, rel=1e-10), name


def test_hand_computed_regression_values() -> None:
    y, p = [1.0, 2.0, 4.0], [2.0, 2.0, 2.0]
    assert value(perf.mae(y, p)) == pytest.approx(1.0)
    assert value(perf.rmse(y, p)) == pytest.approx(np.sqrt(5 / 3))
    assert value(perf.mape(y, p)) == pytest.approx((1 + 0 + 0.5) / 3)
    assert value(perf.r2(y, p)) == pytest.approx(1 - 5 / (14 / 3))


BAD_INPUT = [
    (perf.roc_auc, [1, 1, 1], [0.2, 0.5, 0.9], "labels hold a single class (1 only)"),
    (perf.pr_auc, [0, 0], [0.2, 0.5], "labels hold a single class (0 only)"),
    (perf.accuracy, [], [], "no labelled predictions"),
    (perf.precision, [0, 1], [0.1, 0.2], "no positive predictions at threshold 0.5"),
    (perf.recall, [0, 0], [0.1, 0.9], "no positive labels"),
    (perf.f1, [0, 0], [0.1, 0.2], "no positive labels and no positive predictions at 0.5"),
    (perf.log_loss, [0, 1], [0.5, 1.2], "1 predictions are outside [0, 1]; probabilities needed"),
    (perf.brier, [0, 1], [-0.1, 0.5], "1 predictions are outside [0, 1]; probabilities needed"),
    (perf.calibration_error, [0, 2], [0.5, 0.5], "1 labels are not 0 or 1"),
    (
        perf.roc_auc,
        [0, np.nan],
        [0.5, 0.5],
        "1 labels are missing or not finite; pass labelled pairs",
    ),
    (perf.brier, [0, 1], [np.nan, 0.5], "1 predictions are missing or not finite"),
    (perf.mape, [0.0, 1.0], [1.0, 1.0], "mape is undefined: 1 labels are zero"),
    (perf.r2, [3.0, 3.0], [1.0, 2.0], "r2 is undefined: the labels are constant"),
    (perf.mae, [], [], "no labelled predictions"),
]


@pytest.mark.parametrize(("metric", "labels", "scores", "reason"), BAD_INPUT)
def test_bad_input_gives_a_reason_not_a_number(
    metric: object, labels: list[float], scores: list[float], reason: str
) -> None:
    assert callable(metric)
    assert metric(labels, scores) == NotComputable(reason)


def test_accuracy_with_a_single_class_is_still_defined() -> None:
    assert perf.accuracy([1, 1, 1, 1], [0.9, 0.8, 0.2, 0.6]) == 0.75


def test_mismatched_lengths_are_a_programming_error() -> None:
    with pytest.raises(ValueError, match="2 labels against 3 predictions"):
        perf.mae([1, 2], [1, 2, 3])


def test_label_coverage_counts_labels_that_have_arrived() -> None:
    y, p, coverage = perf.labelled_pairs([1.0, np.nan, 0.0, np.nan], [0.9, 0.8, 0.1, 0.4])
    assert (coverage.rows, coverage.labelled, coverage.fraction) == (4, 2, 0.5)
    assert y.tolist() == [1.0, 0.0] and p.tolist() == [0.9, 0.1]
    assert perf.label_coverage([]).fraction == NotComputable("the window has no predictions")
