"""Deciding the changes a charter file asks for: list, accept, reject.

Who may decide is read from the **accepted** terms, in the deciding transaction: the owner for a
change of ``owner`` (the outgoing owner: the one the accepted terms name), the owner or a
delegate for any other pending change. An edit nobody accepted never grants anyone a say. A
refusal is recorded in the ledger (``charter.change_refused``) like every other refused decision.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from charter.errors import DecisionError, NotAuthorizedError
from charter.governance.diff import FieldChange, describe
from charter.governance.terms import OWNER, accept_terms, accepted_terms, close_change
from charter.identity import check_decider as identity_check_decider
from charter.registry.charters import record_charter
from charter.schemas import governance as schemas
from charter.spec.loader import parse_charter
from charter.spec.model import Charter
from charter.store import Session
from charter.store import terms as store
from charter.store.statuses import ChangeStatus
from charter.store.tables import CharterChange

if TYPE_CHECKING:
    from charter.workspace import Workspace

STATUSES = tuple(status.value for status in ChangeStatus)


@dataclass(frozen=True)
class ChangeInfo:
    """One recorded change; ``to_dict`` is its ``charter changes --json`` shape."""

    id: int
    charter: str
    status: str
    requires: str
    governed: list[str]
    diff: list[dict[str, Any]]
    from_sha256: str
    to_sha256: str
    detected_at: datetime
    detected_by: str
    decided_at: datetime | None = None
    decided_by: str | None = None
    reason: str | None = None
    summary: str = field(default="")

    @classmethod
    def from_row(cls, row: CharterChange) -> ChangeInfo:
        diff = list(row.diff)
        return cls(
            id=row.id,
            charter=row.charter,
            status=row.status,
            requires=row.requires,
            governed=list(row.governed),
            diff=diff,
            from_sha256=row.from_sha256,
            to_sha256=row.to_sha256,
            detected_at=row.detected_at,
            detected_by=row.detected_by,
            decided_at=row.decided_at,
            decided_by=row.decided_by,
            reason=row.reason,
            summary=_summary(diff),
        )

    def to_schema(self) -> schemas.Change:
        return schemas.Change(
            id=self.id,
            charter=self.charter,
            status=self.status,
            requires=self.requires,
            governed=self.governed,
            diff=self.diff,
            summary=self.summary,
            from_sha256=self.from_sha256,
            to_sha256=self.to_sha256,
            detected_at=self.detected_at,
            detected_by=self.detected_by,
            decided_at=self.decided_at,
            decided_by=self.decided_by,
            reason=self.reason,
        )

    def to_dict(self) -> dict[str, Any]:
        return self.to_schema().to_json_dict()


@dataclass(frozen=True)
class TermsInfo:
    """The terms in force of a charter: which text, accepted by whom and when."""

    charter: str
    sha256: str
    accepted_by: str
    accepted_at: datetime
    change_id: int | None

    def to_schema(self) -> schemas.TermsInForce:
        return schemas.TermsInForce(
            charter=self.charter,
            sha256=self.sha256,
            accepted_by=self.accepted_by,
            accepted_at=self.accepted_at,
            change_id=self.change_id,
        )

    def to_dict(self) -> dict[str, Any]:
        return self.to_schema().to_json_dict()


# -- reading ------------------------------------------------------------------------------------
def list_changes(ws: Workspace, name: str, *, status: str | None = "pending") -> list[ChangeInfo]:
    """The recorded changes of ``name`` (default: the pending ones), oldest first."""
    name = ws.load(name).charter.name  # detects a change made since the last command
    with ws.db.read() as session:
        return [ChangeInfo.from_row(r) for r in store.changes(session, name, status)]


def terms_info(ws: Workspace, name: str) -> TermsInfo:
    """Which text of ``name`` is in force now."""
    name = ws.load(name).charter.name
    with ws.db.read() as session:
        row = store.get(session, name)
        assert row is not None  # loading recorded it
        return TermsInfo(name, row.sha256, row.accepted_by, row.accepted_at, row.change_id)


# -- deciding -----------------------------------------------------------------------------------
def accept_change(ws: Workspace, name: str, change_id: int | None, *, by: str) -> ChangeInfo:
    """Accept a pending change as the owner (or a delegate): its text becomes the terms in force."""
    return _decide(ws, name, change_id, by=by, accept=True, reason=None)


def reject_change(
    ws: Workspace, name: str, change_id: int | None, *, by: str, reason: str | None = None
) -> ChangeInfo:
    """Refuse a pending change: the accepted terms stay in force (the file keeps differing)."""
    return _decide(ws, name, change_id, by=by, accept=False, reason=reason)


def _decide(
    ws: Workspace, name: str, change_id: int | None, *, by: str, accept: bool, reason: str | None
) -> ChangeInfo:
    from charter.lifecycle.transitions import recording_refusal  # operations stand above us

    name = ws.load(name).charter.name
    action = "accept" if accept else "reject"
    request = {"change_id": change_id, "action": action, "by": by}
    with (
        recording_refusal(ws, name, "charter.change_refused", request),
        ws.db.session() as session,
    ):
        ws.db.serialize(session, f"charter-terms:{name}")
        row = _pending(session, name, change_id)
        terms = accepted_terms(ws, session, name)
        assert terms is not None  # a change is always recorded against accepted terms
        if terms.sha256 != row.from_sha256:
            raise DecisionError(
                f"change {row.id} of {name} was made to terms no longer in force",
                hint=f"See the changes pending now: `charter changes {name}`.",
            )
        check_change_decider(terms.charter, row, by, action)
        close_change(ws, session, row, "accepted" if accept else "rejected", by, reason)
        if accept:
            accept_terms(
                ws,
                session,
                name,
                row.content,
                row.to_sha256,
                by=by,
                how="accepted",
                change_id=row.id,
            )
            record_charter(ws, session, parse_charter(row.content, source=f"change {row.id}"))
        return ChangeInfo.from_row(row)


def check_change_decider(charter: Charter, row: CharterChange, who: str, action: str) -> None:
    """Refuse unless ``who`` may decide ``row`` under the accepted ``charter``."""
    if row.requires == OWNER:
        if identity_check_decider(who, [charter.owner.email], what="--as") is not None:
            return
        raise NotAuthorizedError(
            f"{who or '(nobody)'} may not {action} change {row.id} of {charter.name}: it changes "
            f"the owner, so only the current owner {charter.owner.email} decides",
            hint="The refusal was recorded in the audit ledger.",
        )
    if identity_check_decider(who, charter.deciders(), what="--as") is not None:
        return
    delegates = ", ".join(d.email for d in charter.delegates) or "none named"
    raise NotAuthorizedError(
        f"{who or '(nobody)'} may not {action} change {row.id} of {charter.name}: only the owner "
        f"{charter.owner.email} or a delegate named in the accepted charter ({delegates}) decides",
        hint="The refusal was recorded in the audit ledger.",
    )


def _pending(session: Session, name: str, change_id: int | None) -> CharterChange:
    rows = store.changes(session, name, "pending")
    if change_id is None:
        if not rows:
            raise DecisionError(f"{name} has no pending change: its file is the terms in force")
        return rows[-1]
    for row in rows:
        if row.id == change_id:
            return row
    other = store.get_change(session, change_id)
    if other is None or other.charter != name:
        pending = ", ".join(str(r.id) for r in rows) or "none"
        raise DecisionError(
            f"{name} has no change {change_id}", hint=f"Pending changes of {name}: {pending}."
        )
    raise DecisionError(
        f"change {change_id} of {name} is {other.status}, not pending: there is nothing to decide",
        hint=f"See them all: `charter changes {name} --all`.",
    )


def _summary(diff: list[dict[str, Any]]) -> str:
    return describe([FieldChange(d["path"], d.get("old"), d.get("new")) for d in diff])
