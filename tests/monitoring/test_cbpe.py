"""CBPE: estimates that track realized performance under covariate shift, and defined failures."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from charter.engines.summaries import NotComputable
from charter.monitoring import performance as perf
from charter.monitoring.cbpe import (
    CBPE,
    ESTIMATED,
    Calibrator,
    Estimate,
    expected_metrics,
    expected_roc_auc,
)

# The world: P(y = 1 | x) = sigmoid(2x - 1) never changes; the model scores sigmoid(x - 0.5),
# which ranks perfectly but is miscalibrated (too timid), so calibration matters. Covariate
# shift moves x's mean; precision and recall move a lot with it.


def world(n: int, mean: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(mean, 1.0, size=n)
    truth = 1 / (1 + np.exp(-(2 * x - 1)))
    score = 1 / (1 + np.exp(-(x - 0.5)))
    return score, (rng.random(n) < truth).astype(np.float64)


def realized(labels: np.ndarray, scores: np.ndarray) -> dict[str, float | NotComputable]:
    metrics = perf.classification_metrics(labels, scores)
    return {name: metrics[name] for name in ESTIMATED}


@pytest.fixture(scope="module")
def fitted() -> CBPE:
    model = CBPE.fit(*world(100_000, 0.0, seed=1))
    assert isinstance(model, CBPE)
    return model


SHIFTS = [-0.5, 0.0, 0.5, 1.0]


@pytest.mark.parametrize("mean", SHIFTS)
def test_estimates_track_realized_performance_under_covariate_shift(
    fitted: CBPE, mean: float
) -> None:
    scores, labels = world(20_000, mean, seed=100 + int(mean * 10))
    estimates = fitted.estimate(scores)
    for name, truth in realized(labels, scores).items():
        estimate = estimates[name]
        assert isinstance(estimate, Estimate) and isinstance(truth, float)
        assert estimate.lower is not None and estimate.upper is not None
        # Stated tolerance: 0.02 on 20,000 rows, and inside the 3-standard-error band.
        assert estimate.value == pytest.approx(truth, abs=0.02), name
        assert estimate.lower <= truth <= estimate.upper, name


def test_the_shift_really_moves_the_metrics_it_is_tracked_on(fitted: CBPE) -> None:
    low = fitted.estimate(world(20_000, -0.5, seed=5)[0])
    high = fitted.estimate(world(20_000, 1.0, seed=6)[0])
    for name in ("precision", "recall", "f1"):
        a, b = low[name], high[name]
        assert isinstance(a, Estimate) and isinstance(b, Estimate)
        assert b.value - a.value > 0.1, name


def test_band_narrows_with_window_size_and_widens_with_fewer_positives(fitted: CBPE) -> None:
    small = fitted.estimate(world(1_000, 0.0, seed=7)[0])["accuracy"]
    large = fitted.estimate(world(100_000, 0.0, seed=8)[0])["accuracy"]
    assert isinstance(small, Estimate) and isinstance(large, Estimate)
    assert small.standard_error is not None and large.standard_error is not None
    assert small.standard_error / large.standard_error == pytest.approx(10.0, rel=1e-9)
    # precision averages over predicted positives: a shift that makes them rarer widens it
    few = fitted.estimate(world(20_000, -0.5, seed=9)[0])["precision"]
    many = fitted.estimate(world(20_000, 1.0, seed=9)[0])["precision"]
    assert isinstance(few, Estimate) and isinstance(many, Estimate)
    assert few.standard_error is not None and many.standard_error is not None
    assert few.standard_error > 1.5 * many.standard_error


def test_standard_error_matches_the_binomial_one_for_accuracy(fitted: CBPE) -> None:
    scores, labels = world(10_000, 0.0, seed=9)
    estimate = fitted.estimate(scores)["accuracy"]
    truth = perf.accuracy(labels, scores)
    assert isinstance(estimate, Estimate) and isinstance(truth, float)
    binomial = np.sqrt(truth * (1 - truth) / scores.size)
    # Estimated from 20 reference chunks: the sd of an sd from 19 dof is ~16%; allow 40%.
    assert estimate.standard_error == pytest.approx(binomial, rel=0.4)


def test_calibrator_of_a_calibrated_model_is_close_to_the_identity() -> None:
    rng = np.random.default_rng(3)
    scores = rng.random(200_000)
    labels = (rng.random(scores.size) < scores).astype(np.float64)
    calibrator = Calibrator.fit(scores, labels)
    grid = np.linspace(0.05, 0.95, 19)
    np.testing.assert_allclose(calibrator(grid), grid, atol=0.03)
    assert calibrator(np.array([-5.0, 5.0])).tolist() == [
        calibrator.probabilities[0],
        calibrator.probabilities[-1],
    ]


def test_expected_metrics_of_a_hand_made_window() -> None:
    # scores decide: rows 0, 1 predicted positive; calibrated p = 0.9, 0.6, 0.3, 0.1
    scores = np.array([0.8, 0.7, 0.4, 0.2])
    p = np.array([0.9, 0.6, 0.3, 0.1])
    values = expected_metrics(scores, p, 0.5)
    tp, fp, fn, tn = 1.5, 0.5, 0.4, 1.6
    assert values["accuracy"] == pytest.approx((tp + tn) / 4)
    assert values["precision"] == pytest.approx(tp / (tp + fp))
    assert values["recall"] == pytest.approx(tp / (tp + fn))
    assert values["f1"] == pytest.approx(2 * tp / (2 * tp + fp + fn))


def test_expected_roc_auc_with_certain_probabilities_is_the_realized_one() -> None:
    rng = np.random.default_rng(4)
    labels = (rng.random(2_000) < 0.3).astype(np.float64)
    scores = np.round(rng.random(2_000) * 0.5 + labels * 0.3, 2)  # many ties
    # If every calibrated probability is the label itself, the expectation is the realization.
    assert expected_roc_auc(scores, labels) == pytest.approx(roc_auc_score(labels, scores))


def test_estimator_survives_a_json_round_trip(fitted: CBPE) -> None:
    again = CBPE.from_dict(json.loads(json.dumps(fitted.to_dict())))
    scores = world(5_000, 0.3, seed=10)[0]
    assert again.estimate(scores) == fitted.estimate(scores)


def test_bad_windows_are_not_computable(fitted: CBPE) -> None:
    assert fitted.estimate([]) == dict.fromkeys(
        ESTIMATED, NotComputable("the window has no scored rows")
    )
    outside = fitted.estimate([0.2, 1.3])
    assert outside["accuracy"] == NotComputable(
        "1 scores are outside [0, 1]; CBPE needs probabilities"
    )
    missing = fitted.estimate([0.2, np.nan])
    assert missing["roc_auc"] == NotComputable("1 scores are missing or not finite")
    nothing_positive = fitted.estimate([0.01, 0.02, 0.03])
    assert nothing_positive["precision"] == NotComputable("no positive predictions in the window")
    assert isinstance(nothing_positive["accuracy"], Estimate)


def test_a_reference_that_cannot_support_cbpe_says_why() -> None:
    assert CBPE.fit([0.2, 0.4], [1, 1]) == NotComputable(
        "cannot fit CBPE on this reference: labels hold a single class (1 only)"
    )
    scores, labels = world(150, 0.0, seed=2)
    assert CBPE.fit(scores, labels) == NotComputable(
        "cannot fit CBPE: the reference has 150 labelled rows, "
        "at least 200 are needed to measure sampling error"
    )
