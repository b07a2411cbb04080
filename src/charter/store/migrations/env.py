"""Alembic environment: charter always passes an open connection in ``config.attributes``."""

from __future__ import annotations

from alembic import context

from charter.store.tables import Base

config = context.config
connection = config.attributes.get("connection")
if (
    connection is None
):  # pragma: no cover - only for `alembic revision --autogenerate` by developers
    import sqlalchemy as sa

    url = config.get_main_option("sqlalchemy.url") or "sqlite:///.charter-migrations.db"
    connection = sa.create_engine(url).connect()

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
