"""Human oversight (EU AI Act Art. 14(4)(e)): stop a model deciding, and let it decide again.

- :func:`suspend`: the charter's versions keep scoring and every prediction is still logged,
  but nothing is acted on: ingestion logs the live version's rows with ``acted_on`` false, the
  server answers ``acted_on: false`` with the charter's ``operations.fallback``. Monitoring,
  alerts and the scheduler go on, so the evidence for resuming keeps arriving. The owner, a
  delegate or a steward named in the charter may suspend: stopping is always the safe
  direction, and whoever operates the model must be able to pull the brake without waiting for
  the owner.
- :func:`resume`: only the owner or a delegate, because resuming puts the model back in charge
  of decisions, which is accepting its risk again: the owner's call.

Both are recorded in the audit ledger in the same transaction as the row, and the row is bound
to its entry (:data:`charter.audit.state.CHARTER_SUSPENSION`), so a database edit that
un-suspends is refused at use (:mod:`charter.registry.suspension`). A refusal (not allowed,
already suspended, not suspended) is recorded as ``oversight.refused`` and changes nothing.
"""

from __future__ import annotations

from charter.audit import state
from charter.errors import LifecycleError, NotAuthorizedError
from charter.identity import canonical, check_decider
from charter.lifecycle.decisions import check_decider as check_owner_or_delegate
from charter.lifecycle.decisions import recordable
from charter.lifecycle.transitions import lock, recording_refusal
from charter.registry.charters import record_charter
from charter.registry.suspension import RESUMED, SUSPENDED, active_suspension, current_suspension
from charter.schemas.oversight import Suspension
from charter.spec.model import Charter
from charter.store import suspensions
from charter.store.tables import CharterSuspension
from charter.workspace import Workspace

REFUSED = "oversight.refused"
__all__ = ["may_resume", "may_suspend", "resume", "suspend", "suspension", "suspension_under"]


def suspend(ws: Workspace, name: str, *, by: str, reason: str) -> Suspension:
    """Stop the charter's model deciding (scoring and logging go on), as ``by``, for ``reason``."""
    loaded = ws.load(name)
    charter = loaded.charter
    name = charter.name
    payload = {"action": "suspend", "by": recordable(by), "reason": reason}
    with recording_refusal(ws, name, REFUSED, payload):
        who = _check_stopper(charter, by)
        if not reason.strip():
            raise LifecycleError(
                f"a suspension of {name} needs a reason", hint='Pass --reason "why".'
            )
        with ws.db.session() as session:
            lock(ws, session, name)
            held = active_suspension(session, name)
            if held is not None:
                raise LifecycleError(
                    f"{name} is already suspended (by {held.suspended_by} at "
                    f"{held.suspended_at.isoformat()}: {held.reason})",
                    hint=f"`charter resume {name} --as OWNER` lifts it.",
                )
            record_charter(ws, session, loaded)
            row = CharterSuspension(
                charter=name, suspended_by=who, suspended_at=ws.context.clock(), reason=reason
            )
            suspensions.add(session, row)
            entry = {"suspension_id": row.id, "by": who, "reason": reason}
            entry = state.bound(entry, state.seal(state.CHARTER_SUSPENSION, row))
            ws.ledger.append(session, SUSPENDED, entry, actor=ws.context.who, charter=name)
            return as_schema(row, charter)


def resume(ws: Workspace, name: str, *, by: str, note: str | None = None) -> Suspension:
    """Let the charter's model decide again; the owner or a delegate only."""
    loaded = ws.load(name)
    charter = loaded.charter
    name = charter.name
    with recording_refusal(ws, name, REFUSED, {"action": "resume", "by": recordable(by)}):
        who = check_owner_or_delegate(charter, by, "resume the model deciding")
        with ws.db.session() as session:
            lock(ws, session, name)
            row = active_suspension(session, name)
            if row is None:
                raise LifecycleError(
                    f"{name} is not suspended: its model is already deciding",
                    hint=f'`charter suspend {name} --as EMAIL --reason "…"` stops it.',
                )
            suspensions.close(session, row, by=who, at=ws.context.clock(), note=note)
            entry = {"suspension_id": row.id, "by": who, "note": note}
            entry = state.bound(entry, state.seal(state.CHARTER_SUSPENSION, row))
            ws.ledger.append(session, RESUMED, entry, actor=ws.context.who, charter=name)
            return as_schema(row, charter)


def suspension(ws: Workspace, name: str) -> Suspension | None:
    """The charter's suspension in force (None: its model decides), checked against the ledger."""
    return suspension_under(ws, ws.load(name).charter)


def suspension_under(ws: Workspace, charter: Charter) -> Suspension | None:
    """:func:`suspension` for a charter already loaded (the dashboard's overview)."""
    row = current_suspension(ws, charter.name)
    return as_schema(row, charter) if row is not None else None


def as_schema(row: CharterSuspension, charter: Charter) -> Suspension:
    fallback = charter.operations.fallback
    return Suspension(
        id=row.id,
        charter=row.charter,
        suspended=row.resumed_at is None,
        suspended_by=row.suspended_by,
        suspended_at=row.suspended_at,
        reason=row.reason,
        resumed_by=row.resumed_by,
        resumed_at=row.resumed_at,
        resume_note=row.resume_note,
        fallback=fallback.model_dump(mode="json") if fallback is not None else None,
    )


def may_suspend(charter: Charter, identity: str) -> bool:
    """Whether :func:`suspend` would accept ``identity`` (owner, delegate or steward): what a
    page asks before it offers the form (the service still decides)."""
    return canonical(identity) in {canonical(s) for s in _stoppers(charter)}


def may_resume(charter: Charter, identity: str) -> bool:
    """Whether :func:`resume` would accept ``identity`` (owner or delegate)."""
    return canonical(identity) in {canonical(d) for d in charter.deciders()}


def _stoppers(charter: Charter) -> list[str]:
    return [*charter.deciders(), *(s.email for s in charter.stewards)]


def _check_stopper(charter: Charter, by: str) -> str:
    """``by``'s canonical identity if the charter names them owner, delegate or steward."""
    who = check_decider(by, _stoppers(charter), what="--as")
    if who is not None:
        return who
    raise NotAuthorizedError(
        f"{canonical(by) or '(nobody)'} may not suspend {charter.name}: only its owner "
        f"{charter.owner.email}, a delegate or a steward named in the charter can",
        hint="The refusal was recorded in the audit ledger.",
    )
