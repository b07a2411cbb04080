"""Charters whose rows carry the prediction (``data.prediction``) get the same windows, verdicts
and alerts as scored versions: the external predictions are what is decided on."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import numpy as np
import polars as pl
import pytest
from sklearn.metrics import roc_auc_score

from charter.alerts.raising import list_alerts
from charter.alerts.windows import react_to_windows
from charter.monitoring.reference import set_reference
from charter.monitoring.service import monitor

pytestmark = pytest.mark.postgres


def _external(kit: Any) -> None:
    kit.write_charter()
    path = kit.ws.charters_dir / f"{kit.name}.yaml"
    text = path.read_text().replace("  fields:\n", "  prediction: {column: p}\n  fields:\n")
    path.write_text(
        text.replace(
            "    channel:  {type: string}\n", "    channel:  {type: string}\n    p: {type: float}\n"
        )
    )


def test_external_predictions_are_judged_and_alerted_like_a_live_version(mkit: Any) -> None:
    _external(mkit)
    reference = mkit.world(3000, 2)
    reference = reference.with_columns(
        p=pl.Series(mkit.scores(reference)), outcome=pl.Series(mkit.true_outcome(reference, 2))
    )
    path = mkit.ws.root / "external-reference.parquet"
    reference.drop("event_at").write_parquet(path)
    set_reference(mkit.ws, mkit.name, "external", path)
    weeks = [mkit.world(800, 100 + i, start=mkit.week0 + timedelta(days=7 * i)) for i in range(3)]
    weeks = [w.with_columns(p=pl.Series(mkit.scores(w))) for w in weeks]
    mkit.land("rows.parquet", pl.concat(weeks))
    coin = np.random.default_rng(7).integers(0, 2, 800)
    truths = [mkit.true_outcome(weeks[0], 100), coin, mkit.true_outcome(weeks[2], 102)]
    for i, (week, truth) in enumerate(zip(weeks, truths, strict=True)):
        mkit.labels(f"w{i}.parquet", week["id"].to_list(), truth)

    windows = monitor(mkit.ws, mkit.name).windows

    assert [(w.version, w.data["status"]) for w in windows] == [("external", "external")] * 3
    assert [w.verdict for w in windows] == ["pass", "breach", "pass"]
    for window, week, truth in zip(windows, weeks, truths, strict=True):
        expected = roc_auc_score(truth, week["p"].to_numpy())
        assert window.data["rules"][0]["value"] == pytest.approx(expected)
    assert windows[0].data["reference"]["cbpe"] == "fitted"

    reaction = react_to_windows(mkit.ws, mkit.name, windows)

    assert [(a.event, a.rule) for a in reaction.raised] == [("breach", "sufficiency.vexternal")]
    assert [a.id for a in reaction.resolved] == [reaction.raised[0].id]  # week 2 passed
    assert list_alerts(mkit.ws, mkit.name) == []
