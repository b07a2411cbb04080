"""Data-quality verdicts: missing and unseen values against the reference, with the charter's
warn/breach levels, entering the window's verdict and raising ``quality_breach``; too few labels
raise ``insufficient_evidence`` when a route asks for it, and the terminal says why."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import polars as pl
import pytest

from charter.alerts.raising import list_alerts
from charter.alerts.windows import react_to_windows
from charter.monitoring.service import monitor

pytestmark = pytest.mark.postgres
QUALITY = (
    "  quality:\n"
    "    missing_rate_increase: {warn: 0.02, breach: 0.05}\n"
    "    unseen_share: {warn: 0.02, breach: 0.10}\n"
)
ROUTES = "  alerts: [{route: log, on: [breach, quality_breach, insufficient_evidence]}]\n"


def _charter(kit: Any, *, quality: str = QUALITY, min_labels: int = 100) -> None:
    kit.write_charter(min_labels=min_labels)
    path = kit.ws.charters_dir / f"{kit.name}.yaml"
    text = path.read_text().replace("  min_labels:", quality + "  min_labels:")
    path.write_text(text + ROUTES)


def _spoiled(kit: Any) -> pl.DataFrame:
    """Week 0: 100 missing amounts, 20 amounts of 150 (the reference stops below 100) and 30
    'mobile' channels (the reference has web, branch, phone)."""
    week: pl.DataFrame = kit.world(1000, 60)
    index = pl.int_range(pl.len())
    return week.with_columns(
        amount=pl.when(index < 100)
        .then(None)
        .when(index < 120)
        .then(150.0)
        .otherwise(pl.col("amount")),
        channel=pl.when((index >= 500) & (index < 530)).then(pl.lit("mobile")).otherwise("channel"),
    )


def test_missing_and_unseen_values_become_a_quality_verdict_and_an_alert(mkit: Any) -> None:
    _charter(mkit)
    mkit.register("live")
    mkit.reference(1)
    spoiled, clean = _spoiled(mkit), mkit.world(1000, 61, start=mkit.week0 + timedelta(days=7))
    mkit.land("w.parquet", pl.concat([spoiled, clean]))
    for i, week in enumerate((spoiled, clean)):
        mkit.labels(f"w{i}.parquet", week["id"].to_list(), mkit.true_outcome(week, 60 + i))

    first, second = monitor(mkit.ws, mkit.name).windows

    problems = {(p["column"], p["measure"]): p for p in first.data["quality_verdict"]["problems"]}
    assert set(problems) == {
        ("amount", "missing_rate_increase"),
        ("amount", "unseen_share"),
        ("channel", "unseen_share"),
    }
    # by hand: the reference has no missing amount; 100 of the 1000 are missing
    assert problems[("amount", "missing_rate_increase")]["value"] == pytest.approx(0.10)
    assert problems[("amount", "missing_rate_increase")]["level"] == "breach"
    reference = mkit.world(3000, 2)["amount"]  # what mkit.reference(1) summarised
    amounts = spoiled["amount"].drop_nulls()
    outside = ((amounts < reference.min()) | (amounts > reference.max())).sum()
    assert outside >= 20  # the 150s, and any value beyond the reference's own extremes
    assert problems[("amount", "unseen_share")]["value"] == pytest.approx(outside / 900)
    assert problems[("amount", "unseen_share")]["level"] == "warn"
    assert problems[("channel", "unseen_share")]["value"] == pytest.approx(30 / 1000)
    assert problems[("channel", "unseen_share")]["level"] == "warn"
    assert first.data["quality_verdict"]["status"] == "breach"
    assert first.data["contract_verdict"] == "pass"
    assert first.verdict == "breach"
    assert first.data["verdict_reason"].startswith("data quality: amount: missing values up")
    assert second.data["quality_verdict"] == {"status": "pass", "problems": []}
    assert second.verdict == "pass"

    reaction = react_to_windows(mkit.ws, mkit.name, [first, second])

    assert [a.event for a in reaction.raised] == ["quality_breach"]
    assert [a.id for a in reaction.resolved] == [reaction.raised[0].id]  # week 1 was clean
    assert list_alerts(mkit.ws, mkit.name) == []


def test_without_quality_levels_the_verdict_is_the_contracts(mkit: Any) -> None:
    _charter(mkit, quality="")
    mkit.register("live")
    mkit.reference(1)
    spoiled = _spoiled(mkit)
    mkit.land("w.parquet", spoiled)
    mkit.labels("w0.parquet", spoiled["id"].to_list(), mkit.true_outcome(spoiled, 60))

    (window,) = monitor(mkit.ws, mkit.name).windows

    assert window.data["quality_verdict"] == {"status": "pass", "problems": []}
    assert window.verdict == window.data["contract_verdict"] == "pass"


def test_too_few_labels_raise_insufficient_evidence_when_routed(mkit: Any, cli: Any) -> None:
    _charter(mkit, quality="")
    mkit.register("live")
    mkit.reference(1)
    week = mkit.world(600, 62)
    mkit.land("w.parquet", week)
    mkit.labels("w0.parquet", week["id"].to_list()[:40], mkit.true_outcome(week, 62)[:40])

    shown = cli("monitor", mkit.name)

    assert shown.code == 0, shown.stderr
    # the reason, wrapped to the tests' 80 columns
    reason = "insufficient: roc_auc: 40 labels, fewer than min_labels 100"
    assert reason in " ".join(shown.stdout.split())
    assert all(len(line) <= 80 for line in shown.stdout.splitlines())
    (alert,) = list_alerts(mkit.ws, mkit.name)
    assert alert.event == "insufficient_evidence" and alert.rule == "evidence.v1"
    assert "40 labels, fewer than min_labels 100" in alert.message
    body = cli("status", mkit.name, "--json").json()
    assert body["windows"][0]["verdict_reason"] == "roc_auc: 40 labels, fewer than min_labels 100"
