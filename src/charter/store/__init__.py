"""The metadata store: one SQLAlchemy database (SQLite by default, PostgreSQL for teams).

The modules here named after an aggregate (``alerts``, ``decisions``, ``ledger``, ``tokens``,
``versions`` ...) are its repository: functions that take the open ``Session`` first and return
rows or plain values. They are the only code of the cleaned packages that issues SQL; they open
no transaction (the caller's unit of work does). ``Session`` is re-exported so a domain module can
name the type it is handed without importing SQLAlchemy.
"""

from sqlalchemy.orm import Session

from charter.store.database import Database, redact_url

__all__ = ["Database", "Session", "redact_url"]
