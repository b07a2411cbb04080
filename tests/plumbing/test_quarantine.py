"""``charter quarantine NAME list|show|replay``: why rows failed, and replaying them exactly once."""

from __future__ import annotations

from typing import Any

import polars as pl
import pytest

from charter.plumbing.ingest import ingest
from charter.plumbing.quarantine import outstanding, replay

pytestmark = pytest.mark.postgres

MAX_RULE = r"amount:   \{type: float, nullable: false, min: 0\}"
WITH_MAX = "amount:   {type: float, nullable: false, min: 0, max: 50}"
FIXED = "amount:   {type: float, nullable: false, min: 0, max: 100}"


def _quarantine_some(kit: Any) -> None:
    """Ten rows with amounts 0..96 against ``max: 50``: rows 51.. fail; one also breaks channel."""
    kit.edit(MAX_RULE, WITH_MAX)
    frame = kit.rows(0, 10).with_columns(amount=pl.Series([10.0 * i for i in range(10)]))
    frame = frame.with_columns(
        channel=pl.when(pl.col("id") == "k9").then(pl.lit("fax")).otherwise(pl.col("channel"))
    )
    kit.write("a.parquet", frame)
    report = ingest(kit.ws, kit.name)
    assert (report.rows_scored, report.rows_quarantined) == (6, 4)


def test_list_counts_outstanding_rows_by_rule_and_batch(cli: Any, kit: Any) -> None:
    _quarantine_some(kit)

    body = cli("quarantine", "credit-default", "list", "--json").json()

    assert body["charter"] == "credit-default"
    assert body["rows"] == 4
    assert body["by_rule"] == {"amount.max": 4, "channel.allowed": 1}
    (batch,) = body["batches"]
    assert batch["source"] == "a.parquet"
    assert batch["rows"] == 4
    assert batch["by_rule"]["amount.max"] == 4
    human = cli("quarantine", "credit-default", "list")
    assert human.code == 0
    assert "4 quarantined rows outstanding" in human.stdout
    assert "4 x amount.max" in human.stdout


def test_show_gives_the_rows_with_every_rule_each_broke(cli: Any, kit: Any) -> None:
    _quarantine_some(kit)

    body = cli("quarantine", "credit-default", "show", "--rule", "channel.allowed", "--json").json()

    (row,) = body["rows"]
    assert row["values"]["id"] == "k9"
    assert row["values"]["channel"] == "fax"
    assert sorted(row["violations"]) == ["amount.max", "channel.allowed"]
    assert row["source"] == "a.parquet"
    limited = cli("quarantine", "credit-default", "show", "--limit", "2", "--json").json()
    assert len(limited["rows"]) == 2
    human = cli("quarantine", "list", "credit-default")  # either word order
    assert human.code == 0
    shown = cli("quarantine", "credit-default", "show", "--rule", "channel.allowed").stdout
    # values as a user writes them in data: ISO 8601 times, unquoted text, no Python reprs
    assert "id=k9," in shown and "channel=fax" in shown
    assert "datetime.datetime" not in shown and "event_at=20" in shown
    assert (
        "broke: amount.max, channel.allowed" in shown
        or "broke: channel.allowed, amount.max" in shown
    )


def test_replay_after_fixing_the_contract_logs_rows_once(cli: Any, kit: Any) -> None:
    _quarantine_some(kit)
    kit.edit(r"amount:   \{[^}]*\}", FIXED)

    body = cli("quarantine", "credit-default", "replay", "--json").json()

    assert body["rows_replayed"] == 4
    assert (body["rows_scored"], body["rows_quarantined"]) == (3, 1)
    batch = body["batch"]
    assert batch["rows_in"] == batch["rows_scored"] + batch["rows_quarantined"]
    assert batch["kind"] == "replay"
    assert batch["source"] == "replay of a.parquet"
    logged = kit.predictions()
    assert logged.height == 9
    assert logged.get_column("key").n_unique() == 9  # nothing logged twice
    left = cli("quarantine", "credit-default", "list", "--json").json()
    assert left["rows"] == 1
    assert left["by_rule"] == {"channel.allowed": 1}  # its new reasons only
    assert left["batches"][0]["batch_id"] == batch["batch_id"]

    again = cli("quarantine", "credit-default", "replay", "--json").json()
    assert again["rows_replayed"] == 0
    assert again["rows_unchanged"] == 1
    assert kit.predictions().height == 9
    assert kit.ws.ledger.verify().ok


def test_replay_with_everything_fixed_leaves_nothing_outstanding(kit: Any) -> None:
    _quarantine_some(kit)
    kit.edit(r"amount:   \{[^}]*\}", FIXED)
    kit.edit(r"channel:  \{[^}]*\}", "channel:  {type: string}")

    first = replay(kit.ws, kit.name)
    second = replay(kit.ws, kit.name)

    assert first.batch is not None and first.batch.rows_scored == 4
    assert second.batch is None and second.unchanged == 0
    assert outstanding(kit.ws, kit.name).height == 0
    assert kit.predictions().height == 10


def test_a_key_already_logged_fails_again_as_unique_across_batches(kit: Any) -> None:
    _quarantine_some(kit)
    kit.write("b.parquet", kit.rows(9, 1))  # k9 arrives again, valid, and is logged
    ingest(kit.ws, kit.name)
    kit.edit(r"amount:   \{[^}]*\}", FIXED)
    kit.edit(r"channel:  \{[^}]*\}", "channel:  {type: string}")

    report = replay(kit.ws, kit.name)

    assert report.batch is not None
    assert (report.batch.rows_scored, report.batch.rows_quarantined) == (3, 1)
    (still,) = outstanding(kit.ws, kit.name).iter_rows(named=True)
    assert still["id"] == "k9"
    assert still["_violations"] == ["id.unique_across_batches"]


def test_replay_of_one_rule_leaves_the_others_outstanding(kit: Any) -> None:
    _quarantine_some(kit)
    kit.edit(r"amount:   \{[^}]*\}", FIXED)

    report = replay(kit.ws, kit.name, rule="channel.allowed")

    assert report.rows_replayed == 1
    assert outstanding(kit.ws, kit.name).height == 4  # 3 untouched + 1 failing again


def test_a_crashed_replay_is_redone_under_the_same_batch_id(
    kit: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    _quarantine_some(kit)
    kit.edit(r"amount:   \{[^}]*\}", FIXED)

    def boom(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("killed mid-commit")

    with monkeypatch.context() as patch:
        patch.setattr(kit.ws.ledger, "append", boom)
        with pytest.raises(RuntimeError):
            replay(kit.ws, kit.name)
    assert outstanding(kit.ws, kit.name).height == 4  # nothing was committed

    report = replay(kit.ws, kit.name)

    assert report.batch is not None and report.batch.rows_scored == 3
    assert kit.predictions().get_column("key").n_unique() == kit.predictions().height == 9
    assert kit.ws.ledger.verify().ok


def test_batches_are_listed_oldest_first_and_one_can_be_replayed_alone(cli: Any, kit: Any) -> None:
    kit.edit(MAX_RULE, WITH_MAX)
    kit.write("a.parquet", kit.rows(0, 3).with_columns(amount=pl.lit(99.0)))
    ingest(kit.ws, kit.name)
    kit.write("b.parquet", kit.rows(3, 2, hours=1).with_columns(amount=pl.lit(99.0)))
    ingest(kit.ws, kit.name)
    kit.edit(r"amount:   \{[^}]*\}", FIXED)

    listed = cli("quarantine", "credit-default", "list", "--json").json()
    assert [b["source"] for b in listed["batches"]] == ["a.parquet", "b.parquet"]
    second = listed["batches"][1]["batch_id"]

    body = cli("quarantine", "credit-default", "replay", "--batch", second[:10], "--json").json()

    assert (body["rows_replayed"], body["rows_scored"]) == (2, 2)
    left = cli("quarantine", "credit-default", "list", "--json").json()
    assert [b["source"] for b in left["batches"]] == ["a.parquet"]
