"""The storage contract: what every backend of the metadata store guarantees, proven on each.

One class of tests, run against SQLite and PostgreSQL alike (the ``database_url`` fixture of
conftest.py). A new backend passes this class before anything else is tried on it.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from charter.store.columns import UTCDateTime
from charter.store.database import Database
from charter.store.statuses import CHECKED
from charter.store.tables import AuditEntry, Base
from charter.workspace import Workspace

# 12:30 in a zone two hours east of UTC: 10:30 UTC.
EAST = timezone(timedelta(hours=2))
MOMENT = datetime(2026, 3, 5, 12, 30, 15, 123456, tzinfo=EAST)
MOMENT_UTC = datetime(2026, 3, 5, 10, 30, 15, 123456, tzinfo=UTC)


def _datetime_columns(table: sa.Table) -> list[sa.Column[Any]]:
    return [c for c in table.columns if isinstance(c.type, UTCDateTime)]


def minimal_row(table: sa.Table, **values: Any) -> dict[str, Any]:
    """A row of ``table`` with a value for every required column (``values`` win)."""
    row: dict[str, Any] = {}
    for column in table.columns:
        if column.name in values:
            continue
        if column.primary_key and column.autoincrement is True:
            continue
        if column.nullable and not column.primary_key:
            continue
        checked = CHECKED.get((table.name, column.name))
        if checked is not None:
            row[column.name] = next(iter(checked)).value
        elif isinstance(column.type, UTCDateTime):
            row[column.name] = MOMENT
        elif isinstance(column.type, sa.JSON):
            row[column.name] = {}
        elif isinstance(column.type, sa.LargeBinary):
            row[column.name] = b""
        elif isinstance(column.type, sa.Boolean):
            row[column.name] = False
        elif isinstance(column.type, sa.Integer):
            row[column.name] = 1
        else:
            row[column.name] = "x"
    return row | values


def insert_row(conn: sa.Connection, table: sa.Table, **values: Any) -> Any:
    """Insert a :func:`minimal_row` of ``table``, first inserting the parent rows its required
    foreign keys point at; returns the new row's primary key."""
    for column in table.columns:
        if column.name in values or column.nullable:
            continue
        for key in column.foreign_keys:
            parent = key.column.table
            values[column.name] = insert_row(conn, parent)
    inserted = conn.execute(table.insert().values(**minimal_row(table, **values)))
    primary = inserted.inserted_primary_key
    assert primary is not None
    return primary[0]


DATETIME_TABLES = [t for t in Base.metadata.sorted_tables if _datetime_columns(t)]


class TestStorageContract:
    @pytest.fixture
    def db(self, database_url: str) -> Iterator[Database]:
        database = Database(database_url)
        yield database
        database.dispose()

    def _insert(self, db: Database, table: sa.Table, **values: Any) -> None:
        with db.engine.begin() as conn:
            insert_row(conn, table, **values)

    @pytest.mark.parametrize("table", DATETIME_TABLES, ids=lambda t: t.name)
    def test_every_datetime_column_comes_back_as_the_same_moment_in_utc(
        self, db: Database, table: sa.Table
    ) -> None:
        columns = _datetime_columns(table)
        self._insert(db, table, **{c.name: MOMENT for c in columns})
        with db.engine.connect() as conn:
            back = conn.execute(sa.select(*columns)).one()
        assert list(back) == [MOMENT_UTC] * len(columns)
        assert all(value.tzinfo is UTC for value in back)

    def test_a_naive_datetime_is_taken_as_utc(self, db: Database) -> None:
        table = Base.metadata.tables["charters"]
        self._insert(db, table, name="n", created_at=MOMENT_UTC.replace(tzinfo=None))
        with db.engine.connect() as conn:
            back = conn.execute(sa.select(table.c.created_at)).scalar_one()
        assert back == MOMENT_UTC and back.tzinfo is UTC

    def test_comparisons_in_queries_use_the_same_instant(self, db: Database) -> None:
        table = Base.metadata.tables["charters"]
        self._insert(db, table, name="n", created_at=MOMENT)
        with db.engine.connect() as conn:
            later = conn.execute(
                sa.select(sa.func.count()).where(table.c.created_at > MOMENT - timedelta(seconds=1))
            ).scalar_one()
            newest = conn.execute(sa.select(sa.func.max(table.c.created_at))).scalar_one()
        assert later == 1
        assert newest == MOMENT_UTC and newest.tzinfo is UTC

    @pytest.mark.parametrize(("table", "column"), sorted(CHECKED), ids=lambda v: str(v))
    def test_check_constraints_refuse_a_status_outside_the_enum(
        self, db: Database, table: str, column: str
    ) -> None:
        target = Base.metadata.tables[table]
        with pytest.raises(IntegrityError):
            self._insert(db, target, **{column: "bogus"})
        for member in CHECKED[(table, column)]:  # every value of the enum is accepted
            with db.engine.begin() as conn:
                insert_row(conn, target, **{column: member.value})
                conn.execute(target.delete())

    def test_a_version_number_is_unique_per_charter(self, db: Database) -> None:
        table = Base.metadata.tables["model_versions"]
        self._insert(db, table, charter="a", version=1)
        self._insert(db, table, charter="b", version=1)
        with pytest.raises(IntegrityError):
            self._insert(db, table, charter="a", version=1)

    def test_only_one_active_alert_per_dedup_key(self, db: Database) -> None:
        table = Base.metadata.tables["alerts"]
        self._insert(db, table, dedup_key="k")
        self._insert(db, table, dedup_key=None)
        self._insert(db, table, dedup_key=None)  # resolved alerts clear the key: no conflict
        with pytest.raises(IntegrityError):
            self._insert(db, table, dedup_key="k")

    def test_the_ledger_appends_in_order_and_a_rolled_back_entry_leaves_no_gap(
        self, ws: Workspace
    ) -> None:
        for n in range(3):
            with ws.db.session() as session:
                ws.ledger.append(session, "test.step", {"n": n}, actor="t@example.com")
        with pytest.raises(RuntimeError), ws.db.session() as session:
            ws.ledger.append(session, "test.step", {"n": "lost"}, actor="t@example.com")
            raise RuntimeError("the caller failed: the entry goes with its transaction")
        with ws.db.session() as session:
            ws.ledger.append(session, "test.step", {"n": 3}, actor="t@example.com")

        entries = [e for e in ws.ledger.entries() if e.action == "test.step"]
        with ws.db.read() as session:
            seqs = list(session.scalars(sa.select(AuditEntry.seq).order_by(AuditEntry.seq)))
        assert [e.payload for e in entries] == [f'{{"n":{n}}}' for n in range(4)]
        assert seqs == list(range(1, len(seqs) + 1))
        assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(entries))
        assert ws.ledger.verify().ok
