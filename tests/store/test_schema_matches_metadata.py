"""The migrations build exactly the schema that tables.py declares, on SQLite and PostgreSQL.

A column, index, constraint or type added to the metadata without a migration (or the other way
round) shows up here as a difference reported by Alembic's autogenerate comparison. Alembic does
not compare CHECK constraints, so their names are compared from the database's own catalogue.
"""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from charter.store.database import Database
from charter.store.tables import Base


def _differences(url: str) -> list[Any]:
    db = Database(url)  # migrated to head
    try:
        with db.engine.connect() as conn:
            context = MigrationContext.configure(
                conn, opts={"compare_type": True, "render_as_batch": db.dialect == "sqlite"}
            )
            return list(compare_metadata(context, Base.metadata))
    finally:
        db.dispose()


@pytest.mark.empty_database  # migrated here by Alembic, not copied from the template
def test_a_freshly_migrated_database_matches_the_metadata(database_url: str) -> None:
    assert _differences(database_url) == []


def _checks(url: str) -> dict[str, set[str]]:
    db = Database(url)
    try:
        inspector = sa.inspect(db.engine)
        return {
            table: {str(c["name"]) for c in inspector.get_check_constraints(table) if c["name"]}
            for table in inspector.get_table_names()
            if table != "alembic_version"
        }
    finally:
        db.dispose()


@pytest.mark.empty_database
def test_the_migrated_check_constraints_are_the_declared_ones(database_url: str) -> None:
    declared = {
        table.name: {
            str(c.name)
            for c in table.constraints
            if isinstance(c, sa.CheckConstraint) and str(c.name).startswith("ck_")
        }
        for table in Base.metadata.sorted_tables
    }
    assert _checks(database_url) == declared
    assert "ck_model_versions_status" in declared["model_versions"]
