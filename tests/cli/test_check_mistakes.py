"""`charter check` names the field and the line of each mistake a new charter's author makes,
and with ``--data FILE`` checks the field types against a sample, as ingest would read it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import pytest

START = datetime(2026, 1, 5, tzinfo=UTC)


def _charter(workspace_dir: Path) -> Path:
    return workspace_dir / "charters" / "credit-default.yaml"


def _line(path: Path, text: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if text in line)


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


@pytest.mark.parametrize(
    ("old", "new", "marker", "expected"),
    [
        (
            "delegates: []",
            "delegates: []\nowner: {name: Someone, email: someone@example.com}",
            "owner: {name: Someone",
            "owner: the key 'owner' is given twice, on line {first} and line {line}; keep one",
        ),
        (
            "{metric: recall, at_least: 0.60}",
            "{metric: recall, at_least: 0.60, segment: \"region == 'north'\"}",
            'segment: "region',
            "sufficiency.metrics[1].segment: expression \"region == 'north'\": unknown column "
            "'region'",
        ),
        (
            "  fields:\n",
            "  features: [amount, colour]\n  fields:\n",
            "features: [amount, colour]",
            "data.features[1]: 'colour' is not one of the fields (line {line})",
        ),
        (
            "{metric: recall, at_least: 0.60}",
            "{metric: rmse, at_most: 3}",
            "metric: rmse",
            "sufficiency.metrics[1].metric: rmse is a regression metric but task is "
            "binary_classification (line {line})",
        ),
    ],
    ids=["duplicate-key", "segment-on-no-field", "feature-naming-no-field", "metric-of-no-task"],
)
def test_each_mistake_names_its_field_and_line(
    cli: Any, workspace_dir: Path, old: str, new: str, marker: str, expected: str
) -> None:
    path = _charter(workspace_dir)
    first = _line(path, "owner:")
    _edit(path, old, new)
    result = cli("check", "credit-default")
    assert result.code == 1
    line = _line(path, marker)
    assert expected.format(first=first, line=line) in result.stdout
    assert f"line {line}" in result.stdout


def _sample(rows: int = 30) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "id": [f"r{i}" for i in range(rows)],
            "event_at": [START + timedelta(minutes=i) for i in range(rows)],
            "amount": [float(i) for i in range(rows)],
            "channel": ["web", "branch", "phone"] * (rows // 3),
        }
    )


def test_a_sample_that_fits_the_field_types_passes(
    cli: Any, workspace_dir: Path, tmp_path: Path
) -> None:
    path = tmp_path / "sample.parquet"
    _sample().write_parquet(path)
    result = cli("check", "credit-default", "--data", str(path))
    assert result.code == 0, result.stdout
    assert result.stdout.startswith("ok  credit-default")


def test_values_that_do_not_read_as_the_type_are_counted_with_an_example(
    cli: Any, workspace_dir: Path, tmp_path: Path
) -> None:
    path = tmp_path / "sample.csv"
    amounts = ["12,50" if i % 10 == 0 else str(i) for i in range(30)]
    _sample().with_columns(amount=pl.Series(amounts)).write_csv(path)
    result = cli("check", "credit-default", "--data", str(path), "--json")
    assert result.code == 1
    line = _line(_charter(workspace_dir), "amount:")
    assert result.json()["charters"][0]["problems"] == [
        "data.fields.amount.type: 3 of 30 rows of sample.csv hold values that do not read as "
        f"float, e.g. '12,50' (line {line})"
    ]


def test_a_retyped_or_missing_column_is_named_with_its_line(
    cli: Any, workspace_dir: Path, tmp_path: Path
) -> None:
    path = tmp_path / "sample.parquet"
    _sample().with_columns(amount=pl.col("amount") > 3).drop("channel").write_parquet(path)
    result = cli("check", "credit-default", "--data", str(path))
    assert result.code == 1
    charter = _charter(workspace_dir)
    amount, channel = _line(charter, "amount:"), _line(charter, "channel:")
    assert (
        "data.fields.amount.type: declared type float, arrived as Boolean in sample.parquet "
        f"(line {amount})"
    ) in result.stdout
    assert f"data.fields.channel: sample.parquet has no such column (line {channel})" in (
        result.stdout
    )


def test_a_missing_sample_is_a_clear_error(cli: Any, tmp_path: Path) -> None:
    result = cli("check", "credit-default", "--data", str(tmp_path / "nowhere.csv"))
    assert result.code == 1 and "nowhere.csv does not exist" in result.stderr
