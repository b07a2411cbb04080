"""The metadata store: one SQLAlchemy database (SQLite by default, PostgreSQL for teams)."""

from charter.store.database import Database, redact_url

__all__ = ["Database", "redact_url"]
