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

import sqlalchemy as sa

from charter.audit.ledger import Ledger
from charter.store.tables import AuditEntry

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

    def conditions(self, charter: str) -> list[sa.ColumnElement[bool]]:
        found = [AuditEntry.charter == charter]
        if self.action:
            found.append(AuditEntry.action == self.action)
        if self.actor:
            found.append(AuditEntry.actor == self.actor)
        if self.since is not None:
            found.append(AuditEntry.recorded_at >= self.since.isoformat())
        if self.until is not None:  # the whole of that day: before the next one starts
            found.append(AuditEntry.recorded_at < (self.until + timedelta(days=1)).isoformat())
        return found


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
    where = chosen.conditions(charter)
    offset = (max(chosen.page, 1) - 1) * chosen.per_page
    with ledger.db.read() as session:
        total = int(
            session.scalar(sa.select(sa.func.count()).select_from(AuditEntry).where(*where)) or 0
        )
        rows = session.scalars(
            sa.select(AuditEntry)
            .where(*where)
            .order_by(AuditEntry.seq.desc())
            .offset(offset)
            .limit(chosen.per_page)
        ).all()
        entries = [
            TrailEntry(r.seq, r.recorded_at, r.actor, r.action, json.loads(r.payload), r.hash)
            for r in rows
        ]
        ours = AuditEntry.charter == charter
        actions = session.scalars(
            sa.select(AuditEntry.action).where(ours).distinct().order_by(AuditEntry.action)
        ).all()
        actors = session.scalars(
            sa.select(AuditEntry.actor).where(ours).distinct().order_by(AuditEntry.actor)
        ).all()
    return TrailPage(charter, chosen, entries, total, list(actions), list(actors))
