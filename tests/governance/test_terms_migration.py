"""Upgrading a store made before change control: each charter's recorded text becomes its terms."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from alembic import command

from charter.store.database import Database
from charter.store.migrate import _config
from charter.store.tables import CharterTerms

pytestmark = [pytest.mark.postgres, pytest.mark.empty_database]


def test_an_upgraded_store_starts_from_the_recorded_charter_text(database_url: str) -> None:
    old = Database(database_url, migrate=False)
    with old.engine.begin() as conn:
        config = _config()
        config.attributes["connection"] = conn
        command.upgrade(config, "0006")
        conn.execute(
            sa.text(
                "INSERT INTO charters (name, sha256, content, owner_email, created_at, updated_at)"
                " VALUES ('credit-default', :sha, :text, 'dana@bank.example', :at, :at)"
            ),
            {
                "sha": "ab" * 32,
                "text": "name: credit-default  # ${SECRET} kept\n",
                "at": datetime(2026, 1, 2, tzinfo=UTC),
            },
        )
    old.dispose()

    upgraded = Database(database_url)
    with upgraded.read() as session:
        (terms,) = session.scalars(sa.select(CharterTerms)).all()
    upgraded.dispose()
    assert (terms.charter, terms.sha256) == ("credit-default", "ab" * 32)
    assert terms.content == "name: credit-default  # ${SECRET} kept\n"
    assert terms.accepted_by == "recorded before change control" and terms.change_id is None
