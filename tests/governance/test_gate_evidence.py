"""Gate evidence that means it: shadow batches count only batches that scored rows, and a
challenger is compared with the live version on the windows both were judged."""

from __future__ import annotations

from statistics import fmean
from typing import Any

import polars as pl
import pytest
from tests.lifecycle.test_lifecycle_support import NAME, WEEK0, Lab

from charter.lifecycle.gate import readiness
from charter.plumbing.ingest import ingest

pytestmark = pytest.mark.postgres


def items(lab: Lab, version: int) -> dict[str, Any]:
    return {i.name: i for i in readiness(lab.ws, NAME, version).items}


def land_rejected_file(lab: Lab) -> None:
    """A file whose every row breaks the contract (amount < 0): all quarantined, none scored."""
    ids = [f"bad-{lab.batches}-{i}" for i in range(2)]
    frame = pl.DataFrame({"id": ids, "event_at": [WEEK0, WEEK0], "amount": [-1.0, -2.0]})
    folder = lab.ws.root / "landing" / NAME
    folder.mkdir(parents=True, exist_ok=True)
    frame.write_parquet(folder / f"rejected-{lab.batches:04d}.parquet")
    lab.batches += 1
    report = ingest(lab.ws, NAME)
    assert report.rows_quarantined == 2 and report.rows_scored == 0


def test_a_batch_that_scored_no_row_is_not_shadow_evidence(lab: Lab) -> None:
    pilot = lab.model()
    lab.batch()
    land_rejected_file(lab)
    land_rejected_file(lab)

    item = items(lab, pilot)["shadow_batches"]

    assert item.ok is False
    assert item.facts == {"batches": 1, "required": 2, "unscored_batches": 2}
    assert item.evidence == (
        "1 of 2 required live batches scored in shadow (2 more scored no row: not counted)"
    )


def test_a_first_version_has_no_champion_to_beat(lab: Lab) -> None:
    pilot = lab.model()
    item = items(lab, pilot)["champion_challenger"]
    assert item.ok is True and item.facts["live"] is None
    assert "no live version to compare with" in item.evidence


def test_a_challenger_worse_than_the_live_version_on_shared_windows_falls_short(
    lab: Lab, cli: Any
) -> None:
    champion = lab.model(status="live")
    challenger = lab.model("frame['amount'] / 90", status="shadow")
    for week, auc in ((0, 0.90), (1, 0.80), (2, 0.84)):
        lab.window(champion, week, "pass", auc=auc)
    for week, auc in ((1, 0.78), (2, 0.83), (3, 0.99)):  # week 3: the live version not judged
        lab.window(challenger, week, "pass", auc=auc)

    item = items(lab, challenger)["champion_challenger"]

    mine, theirs = fmean([0.78, 0.83]), fmean([0.80, 0.84])
    (rule,) = item.facts["rules"]
    assert item.ok is False and item.facts["windows"] == 2 and item.facts["live"] == champion
    assert rule["challenger"] == pytest.approx(mine) and rule["live"] == pytest.approx(theirs)
    assert rule["worse_by"] == pytest.approx(theirs - mine)
    assert f"roc_auc {mine:.4g} vs {theirs:.4g} (worse by {theirs - mine:.4g})" in item.evidence
    shown = cli("readiness", NAME, str(challenger))
    assert "✗ champion_challenger" in shown.stdout and "worse by" in shown.stdout


def test_the_charter_sets_how_much_worse_a_challenger_may_be(lab: Lab) -> None:
    path = lab.ws.charters_dir / f"{NAME}.yaml"
    path.write_text(
        path.read_text().replace("approval: owner}", "approval: owner, challenger_margin: 0.02}")
    )
    assert lab.ws.load(NAME).charter.operations.promotion.challenger_margin == 0.02
    champion = lab.model(status="live")
    challenger = lab.model("frame['amount'] / 90", status="shadow")
    lab.window(champion, 0, "pass", auc=0.80)
    lab.window(challenger, 0, "pass", auc=0.79)  # worse by 0.01: within the margin

    item = items(lab, challenger)["champion_challenger"]

    assert item.ok is True and item.facts["margin"] == 0.02
    assert "margin 0.02: roc_auc 0.79 vs 0.8 (ok)" in item.evidence


def test_without_a_shared_judged_window_the_comparison_is_missing(lab: Lab) -> None:
    champion = lab.model(status="live")
    challenger = lab.model("frame['amount'] / 90", status="shadow")
    lab.window(champion, 0, "pass")
    lab.window(challenger, 0, "insufficient_evidence")
    lab.window(challenger, 1, "pass")

    item = items(lab, challenger)["champion_challenger"]

    assert item.ok is False and item.facts["windows"] == 0
    assert f"live version {champion} were judged with enough labels" in item.evidence
