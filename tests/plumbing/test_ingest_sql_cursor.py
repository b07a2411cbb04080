"""No row lost from a SQL source: late commits, ties at the last-seen cursor value, NULL cursors.

A real second PostgreSQL connection holds a transaction open while another commits rows with a
later cursor value, as a busy OLTP database does; SQLite (one writer at a time) gets the same rows
inserted below the high-water mark after a run.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from charter.plumbing.ingest import ingest
from charter.store.tables import IngestBatch, IngestCursor

pytestmark = pytest.mark.postgres
T0 = datetime(2024, 3, 1, 8, 0)


@pytest.fixture
def source_db(kit: Any, database_url: str) -> Any:
    """An empty ``applications`` table in the test database, and an engine to feed it."""
    assert kit.ws.db.url == database_url  # opens (and creates) the database first
    engine = sa.create_engine(database_url)
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "CREATE TABLE applications (seq INTEGER, at TIMESTAMP, id VARCHAR(20), "
                "event_at TIMESTAMP, amount FLOAT, channel VARCHAR(20))"
            )
        )
    yield engine
    engine.dispose()


def insert(conn: Any, *rows: tuple[int | None, datetime | None, str | None]) -> None:
    conn.execute(
        sa.text("INSERT INTO applications VALUES (:seq, :at, :id, :event_at, 1.0, 'web')"),
        [{"seq": s, "at": at, "id": key, "event_at": T0} for s, at, key in rows],
    )


def use_source(kit: Any, url: str, cursor: str, extra: str = "") -> None:
    kit.set_source(
        f"{{kind: sql, url: '{url}', table: applications, cursor: {cursor}, batch_rows: 3{extra}}}"
    )


def logged(kit: Any) -> list[str]:
    keys: list[str] = kit.predictions()["key"].to_list()
    assert len(keys) == len(set(keys)), "a row was ingested twice"
    return sorted(keys)


@pytest.mark.parametrize("cursor", ["seq", "at"])
def test_a_row_inserted_below_the_high_water_mark_after_a_run_is_still_ingested(
    kit: Any, source_db: Any, database_url: str, cursor: str
) -> None:
    use_source(kit, database_url, cursor)
    with source_db.begin() as conn:
        insert(conn, *[(i, T0 + timedelta(minutes=i), f"k{i}") for i in (1, 2, 4, 5)])
    first = ingest(kit.ws, kit.name).to_dict()
    assert first["rows_in"] == 4
    with source_db.begin() as conn:  # k3 was assigned its cursor before k4 but committed after
        insert(conn, (3, T0 + timedelta(minutes=3), "k3"))

    second = ingest(kit.ws, kit.name).to_dict()

    assert second["rows_in"] == 1
    assert second["rows_reread"] == 4  # the look-back window, skipped as already ingested
    assert logged(kit) == ["k1", "k2", "k3", "k4", "k5"]
    third = ingest(kit.ws, kit.name).to_dict()
    assert third["batches"] == [] and third["rows_reread"] == 5
    assert kit.quarantine().height == 0  # re-read rows are not "duplicates"


def test_rows_added_later_at_the_last_seen_timestamp_are_not_lost(
    kit: Any, source_db: Any, database_url: str
) -> None:
    use_source(kit, database_url, "at")
    tie = T0 + timedelta(minutes=5)
    with source_db.begin() as conn:
        insert(conn, (1, T0, "k1"), (2, tie, "k2"))
    ingest(kit.ws, kit.name)
    with source_db.begin() as conn:
        insert(conn, (3, tie, "k3"), (4, tie, "k4"))

    report = ingest(kit.ws, kit.name).to_dict()

    assert report["rows_in"] == 2
    assert logged(kit) == ["k1", "k2", "k3", "k4"]


def test_without_a_look_back_a_tie_at_the_mark_is_lost_which_is_why_there_is_one(
    kit: Any, source_db: Any, database_url: str
) -> None:
    use_source(kit, database_url, "at", ", lookback: 0s")
    tie = T0 + timedelta(minutes=5)
    with source_db.begin() as conn:
        insert(conn, (1, tie, "k1"))
    ingest(kit.ws, kit.name)
    with source_db.begin() as conn:
        insert(conn, (2, tie, "k2"))

    assert ingest(kit.ws, kit.name).rows_in == 0
    assert logged(kit) == ["k1"]


def test_rows_with_a_null_cursor_are_counted_and_reported_not_read(
    kit: Any, cli: Any, source_db: Any, database_url: str
) -> None:
    use_source(kit, database_url, "seq")
    with source_db.begin() as conn:
        insert(conn, (1, T0, "k1"), (None, T0, "k2"), (None, T0, "k3"), (2, T0, "k4"))

    result = cli("ingest", kit.name, "--json")

    assert result.code == 0
    body = result.json()
    assert body["rows_in"] == 2
    assert body["null_cursor_rows"] == 2
    (warning,) = body["warnings"]
    assert "2 rows have a NULL seq and are not read" in warning["warning"]
    human = cli("ingest", kit.name)
    assert "WARNING sql:" in human.stdout and "NULL seq" in human.stdout
    assert logged(kit) == ["k1", "k4"]


def test_a_row_without_a_key_in_the_look_back_is_quarantined_once(
    kit: Any, source_db: Any, database_url: str
) -> None:
    use_source(kit, database_url, "seq")
    with source_db.begin() as conn:
        insert(conn, (1, T0, "k1"), (2, T0, None))
    first = ingest(kit.ws, kit.name).to_dict()
    assert (first["rows_scored"], first["rows_quarantined"]) == (1, 1)

    again = ingest(kit.ws, kit.name).to_dict()

    assert again["batches"] == [] and again["rows_reread"] == 2
    assert kit.quarantine().height == 1


def test_a_sequence_look_back_re_reads_from_the_mark_that_stood_before_the_previous_run(
    kit: Any, source_db: Any, database_url: str
) -> None:
    use_source(kit, database_url, "seq")
    with source_db.begin() as conn:
        insert(conn, *[(i, T0, f"k{i}") for i in range(1, 7)])
    ingest(kit.ws, kit.name)
    now = datetime.now(UTC)
    with kit.ws.db.session() as session:  # as if that run was an hour ago, its batches two
        session.execute(sa.update(IngestBatch).values(ingested_at=now - timedelta(hours=2)))
        session.execute(sa.update(IngestCursor).values(updated_at=now - timedelta(hours=1)))
    with source_db.begin() as conn:
        insert(conn, (7, T0, "k7"))

    second = ingest(kit.ws, kit.name).to_dict()

    assert (second["rows_in"], second["rows_reread"]) == (1, 0)  # not the whole table again
    with source_db.begin() as conn:
        insert(conn, (8, T0, "k8"), (5, T0, "k5b"))  # seq 5 committed an hour late

    third = ingest(kit.ws, kit.name).to_dict()

    # The window starts at the mark as it stood lookback before the previous run (seq 6):
    # k7 is read again and skipped; a row committed more than the look-back late is not seen.
    assert (third["rows_in"], third["rows_reread"]) == (1, 1)
    assert logged(kit) == [f"k{i}" for i in range(1, 9)]


def test_a_transaction_that_commits_late_on_postgres_loses_no_row(
    kit: Any, source_db: Any, database_url: str
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("needs concurrent writers")
    with source_db.begin() as conn:
        conn.execute(sa.text("ALTER TABLE applications ALTER COLUMN at SET DEFAULT now()"))
        conn.execute(sa.text("CREATE SEQUENCE applications_seq"))
        conn.execute(
            sa.text(
                "ALTER TABLE applications ALTER COLUMN seq SET DEFAULT nextval('applications_seq')"
            )
        )
    use_source(kit, database_url, "at")

    def add(conn: Any, key: str) -> None:
        conn.execute(
            sa.text(
                "INSERT INTO applications (id, event_at, amount, channel) "
                "VALUES (:id, :event_at, 1.0, 'web')"
            ),
            {"id": key, "event_at": T0},
        )

    slow = source_db.connect()
    slow_tx = slow.begin()
    add(slow, "slow")  # now() and nextval() taken here; committed only after the run below
    with source_db.begin() as fast:
        add(fast, "fast-1")
        add(fast, "fast-2")
    first = ingest(kit.ws, kit.name).to_dict()
    slow_tx.commit()
    slow.close()

    second = ingest(kit.ws, kit.name).to_dict()

    assert first["rows_in"] == 2
    assert second["rows_in"] == 1
    assert logged(kit) == ["fast-1", "fast-2", "slow"]
    assert ingest(kit.ws, kit.name).rows_in == 0


def test_rows_of_a_query_without_the_key_column_are_quarantined_once(
    kit: Any, source_db: Any, database_url: str
) -> None:
    query = "SELECT seq, at, event_at, amount, channel FROM applications"
    kit.set_source(f'{{kind: sql, url: "{database_url}", query: "{query}", cursor: seq}}')
    with source_db.begin() as conn:
        insert(conn, (1, T0, "k1"), (2, T0, "k2"))
    first = ingest(kit.ws, kit.name).to_dict()
    assert first["rows_quarantined"] == 2
    with source_db.begin() as conn:
        insert(conn, (3, T0, "k3"))

    again = ingest(kit.ws, kit.name).to_dict()

    assert (again["rows_in"], again["rows_reread"]) == (1, 2)
    assert kit.quarantine().height == 3
