"""Whether a charter is suspended: the human stop, read as the ledger vouches for it.

``charter suspend`` (:mod:`charter.services.oversight`) writes a
:class:`~charter.store.tables.CharterSuspension` row and binds it in the ``charter.suspended``
ledger entry; ``charter resume`` closes it (``resumed_at``) and binds it again. Every reader asks
:func:`active_suspension`, which refuses with :class:`~charter.errors.StateTamperedError` when a
row no longer matches its binding (a database edit that un-suspends) or when the ledger's latest
word is a suspension whose row is gone (a deleted row). Ingestion reads it once per run, like
the versions' statuses; the online server when it re-reads the registry.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from charter.audit import state
from charter.audit.hashing import is_intact
from charter.errors import StateTamperedError
from charter.store import Session
from charter.store import suspensions as store
from charter.store.tables import AuditEntry, CharterSuspension
from charter.workspace import Workspace

SUSPENDED = "charter.suspended"
RESUMED = "charter.resumed"


def active_suspension(session: Session, charter: str) -> CharterSuspension | None:
    """The charter's open suspension (None: it is not suspended), checked against the ledger."""
    rows = store.open_of(session, charter)
    state.check(session, state.CHARTER_SUSPENSION, rows)
    latest = store.latest_entry(session, charter, (SUSPENDED, RESUMED))
    if latest is not None:
        _check_latest(session, charter, latest, [r.id for r in rows])
    return rows[-1] if rows else None


def _check_latest(session: Session, charter: str, entry: AuditEntry, open_ids: list[int]) -> None:
    """The ledger's latest suspend/resume agrees with the open rows (none deleted or reopened)."""
    hint = (
        "Nothing was done with it. Run `charter audit verify`, and restore the row from a backup "
        "or the audit ledger."
    )
    if not is_intact(entry):
        raise StateTamperedError(
            f"the ledger entry {entry.seq} recording a suspension of {charter} was edited",
            hint=hint,
        )
    recorded = json.loads(entry.payload).get("suspension_id")
    if entry.action == SUSPENDED and recorded not in open_ids:
        row = store.get(session, recorded)
        if row is None:
            raise StateTamperedError(
                f"the suspension {recorded} of {charter} that the audit ledger recorded at entry "
                f"{entry.seq} is missing from the database: it was deleted outside charter",
                hint=hint,
            )
        state.check(session, state.CHARTER_SUSPENSION, [row])
    if entry.action == RESUMED and open_ids:
        raise StateTamperedError(
            f"{charter} has an open suspension ({open_ids[-1]}) that the audit ledger does not "
            f"know of: its latest word, entry {entry.seq}, resumed it",
            hint=hint,
        )


def current_suspension(ws: Workspace, charter: str) -> CharterSuspension | None:
    """:func:`active_suspension` in a read transaction of its own (detached, safe to read)."""
    with ws.db.read() as session:
        row = active_suspension(session, charter)
        if row is not None:
            store.detach(session, row)
        return row


def current_suspensions(ws: Workspace, names: Sequence[str]) -> dict[str, CharterSuspension | None]:
    """:func:`current_suspension` of every charter of ``names``, one query per kind (the
    overview). Raises as :func:`active_suspension` does when any of them does not match the
    ledger: the caller then reads them one by one, so each refusal is its charter's own."""
    wanted = list(names)
    out: dict[str, CharterSuspension | None] = {n: None for n in wanted}
    with ws.db.read() as session:
        rows = store.open_of_charters(session, wanted)
        state.check(session, state.CHARTER_SUSPENSION, rows)
        open_ids: dict[str, list[int]] = {n: [] for n in wanted}
        for row in rows:
            open_ids[row.charter].append(row.id)
            out[row.charter] = row
        for entry in store.latest_entries(session, wanted, (SUSPENDED, RESUMED)):
            _check_latest(session, str(entry.charter), entry, open_ids[str(entry.charter)])
        store.detach_all(session)
    return out
