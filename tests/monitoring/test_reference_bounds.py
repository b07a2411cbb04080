"""``at_least: reference``: the bound is the reference's chunked mean minus 3 standard deviations,
checked against scikit-learn on the same chunks; an estimate past it alerts before labels."""

from __future__ import annotations

import statistics
from datetime import timedelta
from typing import Any

import numpy as np
import polars as pl
import pytest
from sklearn.metrics import recall_score, roc_auc_score

from charter.alerts.windows import react_to_windows
from charter.errors import CharterFileError
from charter.monitoring.bounds import Bound, learn_bounds
from charter.monitoring.service import monitor
from charter.spec.loader import parse_charter
from charter.spec.scaffold import render


def _charter(rules: str, extra: str = "") -> Any:
    text = render("fraud")
    start = text.index("  metrics:\n")
    end = text.index("\n\n", start)
    text = text[:start] + f"{extra}  metrics:\n{rules}" + text[end:]
    return parse_charter(text, source="fraud.yaml").charter


def _chunks(values: np.ndarray) -> list[np.ndarray]:
    return list(np.array_split(values, 10))


def test_bounds_are_the_chunked_mean_and_sample_deviation() -> None:
    rng = np.random.default_rng(4)
    scores = rng.uniform(size=2000)
    labels = (rng.uniform(size=2000) < scores).astype(float)
    charter = _charter(
        "    - {metric: roc_auc, at_least: reference}\n    - {metric: recall, at_least: reference}",
        extra="  threshold: 0.6\n",
    )

    bounds = learn_bounds(charter, labels, scores)

    aucs = [roc_auc_score(y, s) for y, s in zip(_chunks(labels), _chunks(scores), strict=True)]
    recalls = [
        recall_score(y, s >= 0.6) for y, s in zip(_chunks(labels), _chunks(scores), strict=True)
    ]
    for name, values in (("roc_auc", aucs), ("recall", recalls)):
        bound = bounds[name]
        assert isinstance(bound, Bound)
        assert bound.mean == pytest.approx(statistics.mean(values))
        assert bound.std == pytest.approx(statistics.stdev(values))
        assert bound.lower == pytest.approx(statistics.mean(values) - 3 * statistics.stdev(values))
        assert bound.chunks == 10


def test_a_reference_rule_takes_no_warn_at_and_an_at_most_bound_is_an_upper_one() -> None:
    with pytest.raises(CharterFileError) as caught:
        _charter("    - {metric: roc_auc, at_least: reference, warn_at: 0.8}")
    assert "does not combine with at_least: reference" in " ".join(caught.value.problems)
    charter = _charter("    - {metric: brier, at_most: reference}")
    assert charter.sufficiency.metrics[0].threshold == "reference"
    rng = np.random.default_rng(5)
    scores = rng.uniform(size=1000)
    labels = (rng.uniform(size=1000) < scores).astype(float)
    bound = learn_bounds(charter, labels, scores)["brier"]
    assert isinstance(bound, Bound) and bound.upper == bound.mean + 3 * bound.std


@pytest.mark.postgres
def test_an_estimated_drop_past_the_reference_bound_alerts_before_labels(mkit: Any) -> None:
    mkit.write_charter(rules="    - {metric: roc_auc, at_least: reference}")
    mkit.register("live")
    mkit.reference(1)
    reference = mkit.world(3000, 2)  # as mkit.reference(1) wrote it, in file order
    truth, scores = mkit.true_outcome(reference, 2), mkit.scores(reference)
    aucs = [roc_auc_score(y, s) for y, s in zip(_chunks(truth), _chunks(scores), strict=True)]
    lower = statistics.mean(aucs) - 3 * statistics.stdev(aucs)
    usual = mkit.world(1000, 70)
    # week 1: every amount near 50, where the model cannot tell outcomes apart
    narrow = mkit.world(1000, 71, start=mkit.week0 + timedelta(days=7)).with_columns(
        amount=pl.col("amount") / 10 + 45
    )
    mkit.land("w.parquet", pl.concat([usual, narrow]))
    mkit.labels("w0.parquet", usual["id"].to_list(), mkit.true_outcome(usual, 70))

    first, second = monitor(mkit.ws, mkit.name).windows

    rule = first.data["rules"][0]
    assert rule["at_least"] == "reference"
    assert rule["threshold"] == pytest.approx(lower)
    assert rule["bound"]["mean"] == pytest.approx(statistics.mean(aucs))
    assert rule["value"] == pytest.approx(
        roc_auc_score(mkit.true_outcome(usual, 70), mkit.scores(usual))
    )
    assert first.verdict == ("pass" if rule["value"] >= lower else "breach")
    late = second.data["rules"][0]
    assert second.verdict == "insufficient_evidence" and late["labels"] == 0
    assert late["estimate"]["value"] < lower and late["estimate"]["status"] == "at_risk"

    reaction = react_to_windows(mkit.ws, mkit.name, [first, second])

    (drop,) = [a for a in reaction.raised if a.event == "estimated_drop"]
    assert drop.rule == "estimate.v1" and drop.window is not None
    assert drop.window.startswith((mkit.week0 + timedelta(days=7)).isoformat())
