"""Apply Alembic migrations programmatically on an open connection."""

from __future__ import annotations

from functools import cache

from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

SCRIPT_LOCATION = "charter.store:migrations"


class MigrationRefusedError(Exception):
    """A migration found data it cannot carry forward; it changed nothing (the message says why)."""


@cache
def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None
    return head


def current_revision(conn: Connection) -> str | None:
    return MigrationContext.configure(conn).get_current_revision()


def upgrade(conn: Connection, *, artifacts: str | None = None) -> None:
    """Bring the database on ``conn`` to the newest schema; a no-op when it is already there.

    ``artifacts`` is the root of the workspace's artifact store: revision 0015 records artifacts
    under it by their key relative to it.
    """
    if current_revision(conn) == head_revision():
        return
    from alembic import command

    config = _config()
    config.attributes["connection"] = conn
    config.attributes["artifacts"] = artifacts
    command.upgrade(config, "head")
