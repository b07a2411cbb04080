"""The owner's pre-authorisation: a standing decision that a version passing the gate may go live.

Normally the owner (or a delegate) decides each promotion in :mod:`charter.lifecycle.decisions`.
A pre-authorisation is the owner deciding once, in advance, that any version which passes the
gate goes live unattended (``approval: auto_if_sufficient``). It is recorded, with the terms it
was given on, as a :class:`~charter.store.tables.PromotionAuthorization`, and it holds only while
the charter says ``approval: auto_if_sufficient``, still names that owner, and its sufficiency
contract and promotion policy are unchanged since (:func:`~charter.lifecycle.gate.approval_mode`
judges this each time): an edit of the charter file can narrow it, never grant or widen it.

- :func:`authorize` records it. Only the owner may, and only when the charter file asks for
  ``auto_if_sufficient`` too, so that the file and the owner's recorded decision agree; a new
  authorisation supersedes the earlier one;
- :func:`revoke_authorization` withdraws it. The owner or a delegate may, since narrowing what
  happens unattended is always safe.

Both refusals are recorded in the audit ledger. Acting on it (putting a passing version live) is
:func:`charter.lifecycle.decisions.promote` and the scheduler's
:func:`~charter.lifecycle.decisions.auto_promote`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from charter.audit import state
from charter.errors import DecisionError, NotAuthorizedError
from charter.identity import canonical
from charter.identity import check_decider as check_decider_identity
from charter.lifecycle.decisions import check_decider, recordable
from charter.lifecycle.gate import ApprovalMode, approval_mode, promotion_terms, terms_sha256
from charter.lifecycle.transitions import lock, recording_refusal
from charter.registry.charters import record_charter
from charter.store import Session, decisions
from charter.store.tables import PromotionAuthorization
from charter.workspace import Workspace


def authorize(ws: Workspace, name: str, *, by: str, note: str | None = None) -> ApprovalMode:
    """Record the owner's pre-authorisation of ``auto_if_sufficient`` on the charter's current
    terms. Only the owner may grant it, and only when the charter file asks for it too."""
    loaded = ws.load(name)
    charter = loaded.charter
    name = charter.name
    with recording_refusal(
        ws, name, "decision.refused", {"action": "authorize", "by": recordable(by)}
    ):
        found = check_decider_identity(by, [charter.owner.email], what="--as")
        if found is None:
            raise NotAuthorizedError(
                f"{canonical(by) or '(nobody)'} may not pre-authorise promotions of {name}: only its "
                f"owner {charter.owner.email} can",
                hint="The refusal was recorded in the audit ledger.",
            )
        who = found
        if charter.operations.promotion.approval != "auto_if_sufficient":
            raise DecisionError(
                f"the charter of {name} says promotion approval: owner; set "
                "operations.promotion.approval: auto_if_sufficient first, so that the charter "
                "file and the owner's recorded decision agree"
            )
        with ws.db.session() as session:
            lock(ws, session, name)
            record_charter(ws, session, loaded)
            now = datetime.now(UTC)
            superseded = _active_grants(session, name)
            for earlier in superseded:
                earlier.revoked_at, earlier.revoked_by = now, who
                earlier.revoke_note = "superseded by a new authorisation"
            grant = PromotionAuthorization(
                charter=name,
                granted_by=who,
                granted_at=now,
                terms_sha256=terms_sha256(charter),
                terms=promotion_terms(charter),
                charter_sha256=loaded.sha256,
                note=note,
            )
            decisions.add_authorization(session, grant)
            entry = {"authorization_id": grant.id, "by": who, "note": note, "terms": grant.terms}
            entry["terms_sha256"] = grant.terms_sha256
            seals = [state.seal(state.PROMOTION_AUTHORIZATION, g) for g in (*superseded, grant)]
            entry = state.bound(entry, *seals)
            ws.ledger.append(
                session, "promotion.authorized", entry, actor=ws.context.who, charter=name
            )
    return approval_mode(ws, charter)


def revoke_authorization(
    ws: Workspace, name: str, *, by: str, note: str | None = None
) -> ApprovalMode:
    """Withdraw the pre-authorisation: the owner decides each promotion again. The owner or a
    delegate may do so, since narrowing what happens unattended is always safe."""
    loaded = ws.load(name)
    charter = loaded.charter
    name = charter.name
    with recording_refusal(
        ws, name, "decision.refused", {"action": "revoke", "by": recordable(by)}
    ):
        who = check_decider(charter, by, "revoke the pre-authorisation")
        with ws.db.session() as session:
            lock(ws, session, name)
            grants = _active_grants(session, name)
            if not grants:
                raise DecisionError(f"{name} has no pre-authorisation to revoke")
            for grant in grants:
                grant.revoked_at, grant.revoked_by = datetime.now(UTC), who
                grant.revoke_note = note
            entry = {"authorization_ids": [g.id for g in grants], "by": who, "note": note}
            entry = state.bound(
                entry, *(state.seal(state.PROMOTION_AUTHORIZATION, g) for g in grants)
            )
            ws.ledger.append(
                session,
                "promotion.authorization_revoked",
                entry,
                actor=ws.context.who,
                charter=name,
            )
    return approval_mode(ws, charter)


def _active_grants(session: Session, name: str) -> Sequence[PromotionAuthorization]:
    """The charter's unrevoked grants, each checked against its binding in the ledger."""
    grants = decisions.active_authorizations(session, name)
    state.check(session, state.PROMOTION_AUTHORIZATION, grants)
    return grants
