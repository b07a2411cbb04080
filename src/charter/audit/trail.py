"""One charter's audit trail: its ledger entries, newest first, filtered and cut into pages.

What the dashboard's audit page reads. Filters are exact (an action, an actor) or a range of
days (``since`` and ``until`` are inclusive UTC dates, compared with the ISO 8601 text each entry
was recorded with, so no row is parsed). The choices offered for the filters are the actions and
actors that occur in this charter's entries. Whether the ledger verifies is
:meth:`charter.audit.ledger.Ledger.verify`, which checks the whole chain: a trail is only as
trustworthy as the chain it is part of.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from charter.audit.ledger import Ledger
from charter.store import ledger as store

PER_PAGE = 50


@dataclass(frozen=True)
class TrailFilter:
    """What to show: an action, an actor, a range of days (each optional), and which page."""

    action: str | None = None
    actor: str | None = None
    since: date | None = None
    until: date | None = None
    page: int = 1
    per_page: int = PER_PAGE

    @property
    def before(self) -> str | None:
        """The moment the range ends (ISO text): the whole of ``until``, before the next day."""
        return None if self.until is None else (self.until + timedelta(days=1)).isoformat()


@dataclass(frozen=True)
class TrailEntry:
    seq: int
    recorded_at: str
    actor: str
    action: str
    payload: dict[str, Any]
    hash: str


@dataclass(frozen=True)
class TrailPage:
    """One page of a charter's trail, with the total it was cut from and the filter choices."""

    charter: str
    chosen: TrailFilter
    entries: list[TrailEntry]
    total: int
    actions: list[str] = field(default_factory=list)
    actors: list[str] = field(default_factory=list)

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.chosen.per_page))


def charter_trail(ledger: Ledger, charter: str, chosen: TrailFilter) -> TrailPage:
    """The entries of ``charter`` that ``chosen`` selects, newest first, one page of them."""
    offset = (max(chosen.page, 1) - 1) * chosen.per_page
    with ledger.db.read() as session:
        total, rows, actions, actors = store.trail(
            session,
            charter,
            action=chosen.action,
            actor=chosen.actor,
            since=None if chosen.since is None else chosen.since.isoformat(),
            before=chosen.before,
            offset=offset,
            limit=chosen.per_page,
        )
        entries = [
            TrailEntry(r.seq, r.recorded_at, r.actor, r.action, json.loads(r.payload), r.hash)
            for r in rows
        ]
    return TrailPage(charter, chosen, entries, total, actions, actors)
