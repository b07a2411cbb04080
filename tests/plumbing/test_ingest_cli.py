"""``charter ingest``: one JSON object for scripts, a balanced summary for people, exit codes."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.postgres


def test_ingest_json_prints_counts_batches_and_failed_files(cli: Any, kit: Any) -> None:
    kit.write("a.parquet", kit.rows(0, 4))
    (kit.landing / "b.parquet").write_bytes(b"broken")

    result = cli("ingest", "credit-default", "--json")

    assert result.code == 5  # a file failed (it needs attention); the report is still complete
    body = result.json()
    for field in ("rows_in", "rows_scored", "rows_quarantined", "rows_late"):
        assert isinstance(body[field], int)
    assert (body["rows_in"], body["rows_scored"]) == (4, 4)
    (batch,) = body["batches"]
    assert batch["file"] == "a.parquet"
    assert batch["rows_in"] == batch["rows_scored"] + batch["rows_quarantined"]
    assert body["files_failed"][0]["file"] == "b.parquet"
    assert "not a readable Parquet file" in body["files_failed"][0]["error"]
    assert [(a["kind"], a["file"]) for a in body["attention"]] == [("file_failed", "b.parquet")]


def test_ingest_says_the_accounting_holds_for_every_batch(cli: Any, kit: Any) -> None:
    kit.write("a.parquet", kit.rows(0, 4).with_columns(channel=kit.rows(0, 4)["id"]))

    result = cli("ingest", "credit-default")

    assert result.code == 5, result.stderr  # quarantined rows need attention (issue 9)
    assert "a.parquet: 4 in = 0 scored + 4 quarantined" in result.stdout
    assert "4 x channel.allowed" in result.stdout
    assert "rows_in == rows_scored + rows_quarantined holds for every batch" in result.stdout
    assert "no live or shadow version" in result.stdout


def test_a_second_ingest_says_there_is_nothing_new(cli: Any, kit: Any) -> None:
    kit.write("a.parquet", kit.rows(0, 2))
    assert cli("ingest", "credit-default").code == 0
    again = cli("ingest", "credit-default")
    assert again.code == 0
    assert "nothing new to ingest" in again.stdout


def test_failed_files_are_named_with_their_error_and_how_to_retry(cli: Any, kit: Any) -> None:
    (kit.landing / "bad.parquet").write_bytes(b"x")
    result = cli("ingest", "credit-default")
    assert result.code == 5
    assert "FAILED bad.parquet:" in result.stdout
    assert "--retry-failed" in result.stdout
    retried = cli("ingest", "credit-default", "--retry-failed", "--json")
    assert retried.json()["files_failed"][0]["file"] == "bad.parquet"


def test_ingest_of_an_unknown_charter_is_a_clear_error(cli: Any) -> None:
    result = cli("ingest", "nope", "--json")
    assert result.code == 1
    assert result.json()["error"]["type"] == "CharterNotFoundError"
