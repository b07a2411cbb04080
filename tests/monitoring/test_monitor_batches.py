"""Windows are merges of per-(batch, window) summaries: batch boundaries never change a number,
and a batch is summarised once per reference."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import numpy as np
import polars as pl
import pytest
import sqlalchemy as sa

from charter.monitoring.service import monitor
from charter.store.tables import MonitorBatchSummary

pytestmark = pytest.mark.postgres


def assert_same(a: Any, b: Any, path: str = "") -> None:
    """Equal structures; floats equal up to rounding (sums merged in another order)."""
    if isinstance(a, dict):
        assert isinstance(b, dict) and set(a) == set(b), path
        for key in a:
            assert_same(a[key], b[key], f"{path}.{key}")
    elif isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_same(x, y, f"{path}[{i}]")
    elif isinstance(a, float) and isinstance(b, float):
        assert a == pytest.approx(b, rel=1e-9, abs=1e-12), path
    else:
        assert a == b, path


def feed(kit: Any, frame: pl.DataFrame, cuts: tuple[int, ...]) -> None:
    kit.write_charter()
    kit.register("live")
    kit.reference(1)
    kit.land_parts(frame, cuts)
    kit.labels("all.parquet", frame["id"].to_list()[::2], kit.true_outcome(frame, 7)[::2])


def test_the_same_rows_give_the_same_numbers_whatever_the_batch_boundaries(
    mkit: Any,
) -> None:
    frame = pl.concat(
        [mkit.world(900, 30 + i, start=mkit.week0 + timedelta(days=7 * i)) for i in range(3)]
    ).with_columns(amount=pl.when(pl.col("id").str.ends_with("7")).then(None).otherwise("amount"))
    whole, split = mkit.named("credit-whole"), mkit.named("credit-split")
    feed(whole, frame, ())
    cuts = tuple(sorted(np.random.default_rng(3).choice(frame.height, 6, replace=False)))
    feed(split, frame, cuts)

    one = monitor(whole.ws, whole.name).to_dict()["windows"]
    many = monitor(split.ws, split.name).to_dict()["windows"]

    assert len(one) == len(many) == 3
    for a, b in zip(one, many, strict=True):
        for body in (a, b):  # what legitimately differs: the name, and when rows were ingested
            body.pop("charter")
            body["reference"]["source"].pop("file")
            body["quality"].pop("mean_delay_seconds")
            body["quality"].pop("max_delay_seconds")
        assert_same(a, b)
    # counts and count-based statistics agree exactly, not just closely
    assert [w["drift"]["amount"]["psi"]["value"] for w in one] == [
        w["drift"]["amount"]["psi"]["value"] for w in many
    ]
    assert [w["quality"]["columns"]["amount"]["nulls"] for w in one] == [
        w["quality"]["columns"]["amount"]["nulls"] for w in many
    ]


def summary_rows(kit: Any) -> list[tuple[str, str, Any]]:
    with kit.ws.db.read() as session:
        rows = session.execute(
            sa.select(
                MonitorBatchSummary.batch_id,
                MonitorBatchSummary.basis,
                MonitorBatchSummary.created_at,
            ).order_by(MonitorBatchSummary.id)
        ).all()
    return [tuple(r) for r in rows]


def test_a_batch_is_summarised_once_and_again_only_for_a_new_reference(mkit: Any) -> None:
    mkit.register("live")
    mkit.reference(1)
    mkit.land("a.parquet", mkit.world(500, 40))
    monitor(mkit.ws, mkit.name)
    first = summary_rows(mkit)
    assert len(first) == 1

    mkit.write_charter(min_labels=5)  # a rule change re-judges, but re-bins nothing
    monitor(mkit.ws, mkit.name)
    assert summary_rows(mkit) == first

    mkit.land("b.parquet", mkit.world(500, 41, start=mkit.week0 + timedelta(days=1), days=2))
    monitor(mkit.ws, mkit.name)
    after = summary_rows(mkit)
    assert after[:1] == first and len(after) == 2  # only the new batch was read and summarised

    mkit.reference(1, seed=9)  # a new reference: new edges, so every batch is binned again
    monitor(mkit.ws, mkit.name)
    rebinned = summary_rows(mkit)
    assert len(rebinned) == 2 and {r[1] for r in rebinned} != {r[1] for r in after}
    assert len({r[1] for r in rebinned}) == 1  # the stale basis was deleted
