"""The operating point: ``sufficiency.threshold`` or ``refer_top`` decides every threshold metric,
checked against scikit-learn on the same (label, score) pairs."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, f1_score, precision_score, recall_score

from charter.errors import CharterFileError
from charter.monitoring.cbpe import CBPE
from charter.monitoring.operating_point import operating_point
from charter.monitoring.service import monitor
from charter.spec.loader import parse_charter
from charter.spec.model import Sufficiency
from charter.spec.scaffold import render

RULES = """\
    - {metric: roc_auc, at_least: 0.5}
    - {metric: precision, at_least: 0.01}
    - {metric: recall, at_least: 0.01}
    - {metric: f1, at_least: 0.01}
    - {metric: accuracy, at_least: 0.01}"""
SKLEARN = {
    "precision": precision_score,
    "recall": recall_score,
    "f1": f1_score,
    "accuracy": accuracy_score,
}


def _sufficiency(**extra: Any) -> Sufficiency:
    return Sufficiency.model_validate({"metrics": [{"metric": "recall", "at_least": 0.5}], **extra})


def test_refer_top_marks_exactly_the_top_share_positive() -> None:
    scores = np.random.default_rng(3).uniform(size=1000)
    point = operating_point(_sufficiency(refer_top="5%"), scores)
    assert np.count_nonzero(scores >= point.threshold) == 50
    assert point.threshold == np.sort(scores)[-50]
    assert point.to_dict() == {"threshold": point.threshold, "refer_top": 0.05, "scored": 1000}
    # 5% of 30 rows is 1.5: ceil refers 2
    assert (
        np.count_nonzero(
            scores[:30] >= operating_point(_sufficiency(refer_top=0.05), scores[:30]).threshold
        )
        == 2
    )


def test_a_fixed_threshold_and_the_default() -> None:
    assert operating_point(_sufficiency(threshold=0.35), [0.1, 0.9]).threshold == 0.35
    assert operating_point(_sufficiency(), [0.1, 0.9]).threshold == 0.5


@pytest.mark.parametrize(
    ("extra", "problem"),
    [
        ({"threshold": 0.3, "refer_top": "5%"}, "give threshold or refer_top, not both"),
        ({"refer_top": "150%"}, "strictly between 0% and 100%"),
        ({"refer_top": "five"}, "is not a share"),
        ({"threshold": 1.5}, "less than or equal to 1"),
    ],
)
def test_a_bad_operating_point_names_the_field(extra: dict[str, Any], problem: str) -> None:
    text = render("fraud").replace(
        "  min_labels: 200",
        "  min_labels: 200\n"
        + "".join(f"  {k}: {v!r}\n".replace("'", '"') for k, v in extra.items()).rstrip("\n"),
    )
    with pytest.raises(CharterFileError) as caught:
        parse_charter(text, source="fraud.yaml")
    assert problem in str(caught.value.message) + " ".join(caught.value.problems)
    assert "sufficiency." in " ".join(caught.value.problems)


def test_the_scaffold_explains_the_operating_point_with_a_fraud_example() -> None:
    text = render("fraud")
    assert "refer_top" in text and "5%" in text and "fraud" in text.lower()
    assert parse_charter(text, source="fraud.yaml").charter.sufficiency.threshold is None


def test_cbpe_estimates_at_the_operating_point() -> None:
    rng = np.random.default_rng(9)
    scores = rng.uniform(size=4000)
    labels = (rng.uniform(size=4000) < scores).astype(float)
    cbpe = CBPE.fit(scores, labels)
    assert isinstance(cbpe, CBPE)
    window = rng.uniform(size=800)
    p = cbpe.calibrator(window)
    for threshold in (0.35, 0.5):
        estimate = cbpe.estimate(window, threshold)
        chosen = window >= threshold
        assert estimate["precision"].value == pytest.approx(p[chosen].sum() / chosen.sum())  # type: ignore[union-attr]
        assert estimate["recall"].value == pytest.approx(p[chosen].sum() / p.sum())  # type: ignore[union-attr]


@pytest.mark.postgres
@pytest.mark.parametrize("point", ["threshold: 0.35", "refer_top: 5%"])
def test_every_threshold_metric_uses_the_charters_operating_point(mkit: Any, point: str) -> None:
    mkit.write_charter(rules=RULES)
    path = mkit.ws.charters_dir / f"{mkit.name}.yaml"
    path.write_text(path.read_text().replace("  min_labels:", f"  {point}\n  min_labels:"))
    mkit.register("live")
    mkit.reference(1)
    week = mkit.world(1000, 40)
    truth = mkit.true_outcome(week, 40)
    mkit.land("w0.parquet", week)
    mkit.labels("w0.parquet", week["id"].to_list(), truth)

    (window,) = monitor(mkit.ws, mkit.name).windows

    scores = mkit.scores(week)
    if point.startswith("threshold"):
        predicted = scores >= 0.35
    else:  # the 50 highest scores (5% of 1000)
        predicted = np.zeros(scores.size, dtype=bool)
        predicted[np.argsort(-scores)[:50]] = True
        assert window.data["operating_point"]["refer_top"] == 0.05
    assert np.count_nonzero(predicted) != np.count_nonzero(scores >= 0.5)  # the point matters
    values = {r["metric"]: r["value"] for r in window.data["rules"]}
    realized = window.data["metrics"]["realized"]
    for name, metric in SKLEARN.items():
        expected = metric(truth, predicted.astype(int))
        assert values[name] == pytest.approx(expected, abs=1e-9), name
        assert realized[name] == pytest.approx(expected, abs=1e-9), name
