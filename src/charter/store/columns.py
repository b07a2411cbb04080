"""Column types shared by every table: one way to store a moment in time.

SQLite has no time zones: it stores a datetime as text and hands back a naive value, while
PostgreSQL's ``timestamptz`` hands back an aware one in the session's zone. :class:`UTCDateTime`
makes both backends behave alike, so no reader normalises by hand: it stores the moment in UTC
(a naive value is taken to be UTC already, as every time charter keeps is) and always returns an
aware UTC datetime.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on SQLite and PostgreSQL alike (``DateTime(timezone=True)``)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        moment = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        # SQLite keeps the text of the value: store it without an offset, read it back as UTC.
        return moment.replace(tzinfo=None) if dialect.name == "sqlite" else moment

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    def copy(self, **kw: Any) -> UTCDateTime:
        return UTCDateTime()
