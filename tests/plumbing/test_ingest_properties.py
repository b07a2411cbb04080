"""Property: over random batches, every input row is logged or quarantined exactly once.

Random files (Parquet, CSV or JSON Lines) mix valid rows with nulls, negative amounts, unknown
channels, keys repeated within and across batches, and event times far behind the watermark;
each file is read in random chunk sizes. Whatever the mix, ingestion must:

- balance every batch: ``rows_in == rows_scored + rows_quarantined``;
- account for each input row once, by (batch id, row index), in the log or in quarantine;
- never log a key twice;
- flag as late exactly the logged rows older than the previous batches' watermark minus 2h.
"""

from __future__ import annotations

import itertools
import os
from datetime import datetime, timedelta
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from charter.plumbing.ingest import ingest

pytestmark = pytest.mark.postgres

T0 = datetime(2024, 3, 1, 12, 0)
_names = itertools.count()

row = st.fixed_dictionaries(
    {
        "id": st.one_of(st.none(), st.integers(0, 40).map(lambda i: f"k{i}")),
        "event_at": st.one_of(
            st.none(), st.integers(-600, 600).map(lambda m: T0 + timedelta(minutes=m))
        ),
        "amount": st.one_of(st.none(), st.floats(-5, 100, allow_nan=False)),
        "channel": st.sampled_from(["web", "branch", "phone", "fax", None]),
    }
)
batches = st.lists(st.lists(row, max_size=30), min_size=1, max_size=4)


def frame(rows: list[dict[str, Any]]) -> pl.DataFrame:
    schema: dict[str, Any] = {
        "id": pl.String,
        "event_at": pl.Datetime("us"),
        "amount": pl.Float64,
        "channel": pl.String,
    }
    return pl.DataFrame(rows, schema=schema)


@settings(
    max_examples=int(os.environ.get("CHARTER_TEST_EXAMPLES", "25")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    data=batches,
    kind=st.sampled_from(["parquet", "csv", "jsonl"]),
    chunk_rows=st.integers(1, 40),
)
def test_every_row_is_accounted_for_exactly_once(
    kit: Any, data: list[list[dict[str, Any]]], kind: str, chunk_rows: int
) -> None:
    kit = type(kit)(kit.ws, name=f"prop-{next(_names)}")
    text = (kit.ws.charters_dir / "credit-default.yaml").read_text()
    (kit.ws.charters_dir / f"{kit.name}.yaml").write_text(
        text.replace("name: credit-default", f"name: {kit.name}").replace(
            "kind: parquet_dir, path: landing/credit-default/",
            f"kind: {kind}_dir, path: landing/{kit.name}/",
        )
    )
    contents: set[bytes] = set()
    expected_rows, expected_failed = [], []
    for n, rows in enumerate(data):
        path = kit.write(f"b{n}.{kind}", frame(rows))
        os.utime(path, ns=(10**18 + n * 10**9,) * 2)  # arrival order = batch order
        if path.stat().st_size == 0:  # JSON Lines of no rows is an empty file: bad input
            expected_failed.append(path.name)
        elif path.read_bytes() not in contents:  # the same bytes twice are one batch
            expected_rows.append(len(rows))
        contents.add(path.read_bytes())

    report = ingest(kit.ws, kit.name, chunk_rows=chunk_rows)

    assert [f["file"] for f in report.files_failed] == expected_failed
    assert [b.rows_in for b in report.batches] == expected_rows
    for batch in report.batches:
        assert batch.rows_in == batch.rows_scored + batch.rows_quarantined
        assert batch.rows_late <= batch.rows_scored
    log, quarantine = kit.predictions(), kit.quarantine()
    assert log.height == report.rows_scored
    assert quarantine.height == report.rows_quarantined
    logged = {
        (b, int(p.rsplit("-", 1)[1])) for b, p in log.select("batch_id", "prediction_id").rows()
    }
    held = set(quarantine.select("_batch_id", "_row").rows()) if quarantine.height else set()
    assert len(logged) == log.height and len(held) == quarantine.height
    assert logged.isdisjoint(held)
    expected = {(b.batch_id, i) for b in report.batches for i in range(b.rows_in)}
    assert logged | held == expected
    assert log["key"].null_count() == 0 and not log["key"].is_duplicated().any()

    watermark = None
    for batch in report.batches:
        rows = log.filter(pl.col("batch_id") == batch.batch_id)
        if watermark is None:
            assert not rows["late"].any()
        else:
            late = (rows["event_time"] < watermark - timedelta(hours=2)).fill_null(False)
            assert rows["late"].to_list() == late.to_list()
        newest = rows["event_time"].max()
        if newest is not None and (watermark is None or newest > watermark):
            watermark = newest

    assert ingest(kit.ws, kit.name).batches == []
