"""Promotion decisions: opened with their evidence, decided by the owner, never left to stall.

The second wall of DESIGN.md is ownership: a version goes live because its accountable owner
decided so on evidence, not because an engineer ran a command. So:

- :func:`promote` (anyone) opens a decision for a version, with the gate's checklist as evidence;
- :func:`approve` and :func:`reject` are refused, and the refusal recorded, unless the identity is
  the charter's owner or a delegate it names. Approving a version that falls short of the gate
  needs an ``accept_risk`` statement, kept verbatim beside the list of failing items;
- under the owner's pre-authorisation (recorded by :mod:`charter.lifecycle.authorization`, judged
  by :func:`~charter.lifecycle.gate.approval_mode`), :func:`promote` puts a version that passes
  the gate live at once, its decision recorded as approved automatically;
- the scheduler's pass (:func:`charter.services.lifecycle.review`) calls :func:`auto_promote`,
  :func:`withdraw_moot` and :func:`charter.lifecycle.stalled.check_stalled`: a decision open
  longer than ``decision_deadline`` becomes one ``stalled_decision`` alert, then each escalation
  step, once each, so that no decision loops forever in "one more validation round".
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from typing import Any

from charter.alerts.raising import resolve_alert
from charter.errors import (
    AlertStateError,
    DecisionError,
    DecisionNotFoundError,
    EvidenceChangedError,
    InvalidIdentityError,
    LifecycleError,
    NotAuthorizedError,
)
from charter.identity import canonical, check_actor, label
from charter.identity import check_decider as identity_check_decider
from charter.lifecycle.evidence import decision_evidence
from charter.lifecycle.gate import Readiness, Waiver, approval_mode, readiness
from charter.lifecycle.transitions import (
    go_live,
    lock,
    recording_refusal,
    statuses,
)
from charter.registry.charters import record_charter
from charter.registry.versions import get_version, list_versions
from charter.schemas import lifecycle as schemas
from charter.spec.loader import LoadedCharter
from charter.spec.model import Charter
from charter.store import Session
from charter.store import decisions as store
from charter.store.tables import Decision
from charter.workspace import Workspace

DECIDABLE = ("shadow", "registered")


@dataclass(frozen=True)
class DecisionInfo:
    """One promotion decision as stored; ``to_dict`` is the JSON scripts rely on."""

    id: int
    charter: str
    version: int
    status: str
    opened_at: datetime
    opened_by: str
    waiver: str | None
    decided_at: datetime | None
    decided_by: str | None
    accepted_risk: str | None
    reason: str | None
    automatic: bool
    stalled_at: datetime | None
    escalations: int
    readiness: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_row(cls, row: Decision) -> DecisionInfo:
        stored = {f.name: getattr(row, f.name) for f in fields(cls) if f.name in _STORED}
        readiness = dict(row.decided_readiness or row.readiness)
        return cls(**stored, automatic=row.authorization_id is not None, readiness=readiness)

    def to_schema(self) -> schemas.Decision:
        return schemas.Decision(**{f.name: getattr(self, f.name) for f in fields(self)})

    def to_dict(self) -> dict[str, Any]:
        return self.to_schema().to_json_dict()


_STORED = {f for f in DecisionInfo.__dataclass_fields__ if f not in ("automatic", "readiness")}


@dataclass(frozen=True)
class PromotionResult:
    """What ``promote`` did: ``opened``, ``already_open``, or ``live`` (pre-authorised)."""

    outcome: str
    decision: DecisionInfo
    readiness: Readiness
    approval: str

    def to_schema(self) -> schemas.Promotion:
        return schemas.Promotion(
            outcome=self.outcome,
            approval=self.approval,
            decision=self.decision.to_schema(),
            readiness=self.readiness.to_schema(),
        )

    def to_dict(self) -> dict[str, Any]:
        return self.to_schema().to_json_dict()


# -- opening ------------------------------------------------------------------------------------
def promote(
    ws: Workspace, name: str, version: int, *, waiver: str | None = None
) -> PromotionResult:
    """Open a decision for ``version`` with its evidence (or return the open one).

    ``waiver`` records a first-version waiver (by the workspace's actor) when no version is live.
    When the owner pre-authorised ``auto_if_sufficient`` and the version passes the gate, it goes
    live at once.
    """
    loaded = ws.load(name)
    name = loaded.charter.name
    request = {"version": version, "action": "promote", "by": ws.context.who}
    with recording_refusal(ws, name, "decision.refused", request):
        given = _waiver(ws, name, waiver, ws.context.who)
        _check_decidable(name, version, get_version(ws, name, version).status)
        return _promote(ws, loaded, version, readiness(ws, name, version, waiver=given), given)


def _promote(
    ws: Workspace, loaded: LoadedCharter, version: int, ready: Readiness, given: Waiver | None
) -> PromotionResult:
    name, mode = loaded.charter.name, ready.approval
    with ws.db.session() as session:
        lock(ws, session, name)
        _check_decidable(name, version, statuses(session, name).get(version))
        record_charter(ws, session, loaded)
        row, outcome = _open_decision(session, name, version), "already_open"
        if row is None:
            row, outcome = _new_decision(ws, session, name, version, ready, given), "opened"
        elif given is not None and row.waiver is None:
            row.waiver, row.waiver_by = given.reason, given.by
            entry = {"decision_id": row.id, "version": version, "waiver": given.reason}
            ws.ledger.append(
                session, "decision.waiver_recorded", entry, actor=ws.context.who, charter=name
            )
        if mode.automatic and ready.ready:
            _close(row, "approved", f"auto_if_sufficient, authorised by {mode.granted_by}", ready)
            row.authorization_id = mode.authorization_id
            moved = go_live(
                ws, session, name, version, reason=f"pre-authorised (decision {row.id})"
            )
            _approved_entry(ws, session, row, ready, moved)
            outcome = "live"
        info = DecisionInfo.from_row(row)
    return PromotionResult(outcome, info, ready, mode.mode)


def _new_decision(
    ws: Workspace, session: Session, name: str, version: int, ready: Readiness, given: Waiver | None
) -> Decision:
    row = Decision(
        charter=name,
        version=version,
        status="open",
        open_key=f"{name}:{version}",
        opened_at=datetime.now(UTC),
        opened_by=ws.context.who,
        readiness=ready.to_dict(),
        waiver=given.reason if given else None,
        waiver_by=given.by if given else None,
        escalations=0,
        alert_ids=[],
    )
    store.add(session, row)
    entry = {"decision_id": row.id, "version": version, "readiness": ready.to_dict()}
    ws.ledger.append(session, "decision.opened", entry, actor=ws.context.who, charter=name)
    return row


def _open_decision(session: Session, name: str, version: int) -> Decision | None:
    return store.by_open_key(session, f"{name}:{version}")


def _check_decidable(name: str, version: int, status: str | None) -> None:
    if status in DECIDABLE:
        return
    hints = {
        "live": "it is already live",
        "standby": f"it is the standby; restore it with `charter rollback {name} --to {version}`",
        "retired": f"it is retired; put it back in shadow first: `charter shadow {name} {version}`",
        "rolled_back": f"it was rolled back; put it in shadow first: `charter shadow {name} "
        f"{version}`",
    }
    raise DecisionError(
        f"{name} version {version} cannot be promoted: {hints.get(status or '', status)}"
    )


def _waiver(ws: Workspace, name: str, reason: str | None, by: str) -> Waiver | None:
    """A first-version waiver, refused when a live version exists (there is a target then)."""
    if reason is None:
        return None
    if not reason.strip():
        raise DecisionError("a first-version waiver needs a reason: why may it go live alone?")
    live = [v.version for v in list_versions(ws, name) if v.status == "live"]
    if live:
        raise DecisionError(
            f"{name} version {live[0]} is live and will be the standby: this is not a first "
            "version, so no waiver is needed or recorded"
        )
    return Waiver(reason.strip(), by)


# -- deciding -----------------------------------------------------------------------------------
def approve(
    ws: Workspace,
    name: str,
    version: int,
    *,
    by: str,
    accept_risk: str | None = None,
    waiver: str | None = None,
    evidence_sha256: str | None = None,
) -> DecisionInfo:
    """The owner (or a delegate) puts ``version`` live; the live version becomes the standby.

    A version short of the gate needs ``accept_risk``: the shortfall accepted, in the decider's
    words, recorded verbatim with the failing items. Opens the decision if ``promote`` did not.
    ``evidence_sha256`` binds the approval to the evidence shown (the digest of
    :func:`charter.lifecycle.evidence.decision_evidence`): when the evidence is no longer that,
    the approval is refused with :class:`EvidenceChangedError`; else the digest is recorded.
    """
    loaded = ws.load(name)
    charter = loaded.charter
    name = charter.name
    with recording_refusal(ws, name, "decision.refused", _request(version, "approve", by)):
        who = check_decider(charter, by, "approve")
        given = _waiver(ws, name, waiver, who)
        _check_decidable(name, version, get_version(ws, name, version).status)
        if evidence_sha256 is not None:
            _check_evidence(ws, name, version, evidence_sha256)
        ready = readiness(ws, name, version, waiver=given)
        risk = (accept_risk or "").strip() or None
        if not ready.ready and risk is None:
            short = "".join(f"\n  {i.name}: {i.evidence}" for i in ready.shortfall)
            raise DecisionError(
                f"{name} version {version} falls short of the gate on:{short}",
                hint='Approve only by stating the shortfall you accept: --accept-risk "…".',
            )
        with ws.db.session() as session:
            lock(ws, session, name)
            _check_decidable(name, version, statuses(session, name).get(version))
            record_charter(ws, session, loaded)
            row = _open_decision(session, name, version)
            if row is None:
                row = _new_decision(ws, session, name, version, ready, given)
            _close(row, "approved", who, ready, accepted_risk=accept_risk)
            moved = go_live(ws, session, name, version, reason=f"approved by {who} ({row.id})")
            _approved_entry(ws, session, row, ready, moved, evidence_sha256)
            info = DecisionInfo.from_row(row)
    resolve_decision_alerts(ws, info, who)
    return info


def reject(ws: Workspace, name: str, version: int, *, by: str, reason: str) -> DecisionInfo:
    """The owner (or a delegate) refuses the open decision on ``version``, saying why."""
    loaded = ws.load(name)
    charter = loaded.charter
    name = charter.name
    with recording_refusal(ws, name, "decision.refused", _request(version, "reject", by)):
        who = check_decider(charter, by, "reject")
        get_version(ws, name, version)
        if not reason.strip():
            raise DecisionError("a rejection needs a reason, for the record and the team")
        with ws.db.session() as session:
            lock(ws, session, name)
            row = _open_decision(session, name, version)
            if row is None:
                raise DecisionError(
                    f"{name} version {version} has no open decision to reject",
                    hint=f"Decisions are opened by `charter promote {name} {version}`.",
                )
            record_charter(ws, session, loaded)
            _close(row, "rejected", who, None, reason=reason)
            entry = {"decision_id": row.id, "version": version, "by": who, "reason": reason}
            ws.ledger.append(
                session, "decision.rejected", entry, actor=ws.context.who, charter=name
            )
            info = DecisionInfo.from_row(row)
    resolve_decision_alerts(ws, info, who)
    return info


def _request(version: int, action: str, by: str) -> dict[str, Any]:
    return {"version": version, "action": action, "by": recordable(by)}


def recordable(by: str) -> str:
    """``by`` as a refusal records it: canonical when it is a valid identity, else a label."""
    try:
        check_actor(by)
    except InvalidIdentityError:
        return label(by)
    return canonical(by)


def check_decider(charter: Charter, by: str, action: str) -> str:
    """The canonical identity of ``by`` if it is the charter's owner or a delegate it names.

    Otherwise refuse ``action``: :class:`InvalidIdentityError` for an identity that cannot be
    recorded or looks like a decider's (see :mod:`charter.identity`), else
    :class:`NotAuthorizedError`.
    """
    who = identity_check_decider(by, charter.deciders(), what="--as")
    if who is not None:
        return who
    delegates = ", ".join(d.email for d in charter.delegates) or "none named"
    raise NotAuthorizedError(
        f"{canonical(by) or '(nobody)'} may not {action} for {charter.name}: only the owner "
        f"{charter.owner.email} or a delegate named in the charter ({delegates}) decides",
        hint="The refusal was recorded in the audit ledger.",
    )


def _close(
    row: Decision,
    status: str,
    by: str,
    ready: Readiness | None,
    *,
    accepted_risk: str | None = None,
    reason: str | None = None,
) -> None:
    row.status, row.open_key, row.decided_at, row.decided_by = status, None, datetime.now(UTC), by
    row.accepted_risk, row.reason = accepted_risk, reason
    row.decided_readiness = ready.to_dict() if ready is not None else None


def _check_evidence(ws: Workspace, name: str, version: int, shown: str) -> None:
    now = decision_evidence(ws, name, version).digest
    if now != shown.strip().lower():
        raise EvidenceChangedError(
            f"the evidence for {name} version {version} changed since it was shown (a new "
            "window, a status or a gate item): review it again; nothing was approved",
            hint=f"The evidence digest is now {now}.",
        )


def _approved_entry(
    ws: Workspace,
    session: Session,
    row: Decision,
    ready: Readiness,
    moved: dict[str, Any],
    evidence_sha256: str | None = None,
) -> None:
    entry = {
        "decision_id": row.id,
        "version": row.version,
        "by": row.decided_by,
        "automatic": row.authorization_id is not None,
        "authorization_id": row.authorization_id,
        "accepted_risk": row.accepted_risk,
        "shortfall": [{"name": i.name, "evidence": i.evidence} for i in ready.shortfall],
        "waiver": row.waiver,
        "readiness": ready.to_dict(),
        **moved,
    }
    if evidence_sha256 is not None:
        entry["evidence_sha256"] = evidence_sha256.strip().lower()
    ws.ledger.append(session, "decision.approved", entry, actor=ws.context.who, charter=row.charter)


# -- reading ------------------------------------------------------------------------------------
def list_decisions(ws: Workspace, name: str, *, status: str | None = "open") -> list[DecisionInfo]:
    """The charter's decisions, oldest first; ``status=None`` for all of them."""
    ws.charter_path(name)
    with ws.db.read() as session:
        return [DecisionInfo.from_row(row) for row in store.of_charter(session, name, status)]


def open_decisions_of(ws: Workspace, names: Sequence[str]) -> dict[str, list[DecisionInfo]]:
    """:func:`list_decisions` (the open ones) of every charter of ``names``, in one query."""
    out: dict[str, list[DecisionInfo]] = {n: [] for n in names}
    with ws.db.read() as session:
        for row in store.open_of_charters(session, names):
            out[row.charter].append(DecisionInfo.from_row(row))
    return out


def get_decision(ws: Workspace, name: str, decision_id: int) -> DecisionInfo:
    """The charter's decision ``decision_id`` (open or closed)."""
    ws.charter_path(name)
    with ws.db.read() as session:
        row = store.get(session, decision_id)
        if row is None or row.charter != name:
            raise DecisionNotFoundError(f"{name} has no decision {decision_id}")
        return DecisionInfo.from_row(row)


# -- the scheduler's pass -----------------------------------------------------------------------
def auto_promote(ws: Workspace, name: str) -> PromotionResult | None:
    """Under the owner's pre-authorisation, put live the newest shadow version newer than the
    live one that passes the gate and that no decider rejected. None when nothing qualifies."""
    loaded = ws.load(name)
    charter = loaded.charter
    if not approval_mode(ws, charter).automatic:
        return None
    versions = list_versions(ws, charter.name)
    live = max((v.version for v in versions if v.status == "live"), default=0)
    rejected = {d.version for d in list_decisions(ws, charter.name, status="rejected")}
    for info in reversed(versions):
        if info.status != "shadow" or info.version <= live or info.version in rejected:
            continue
        ready = readiness(ws, charter.name, info.version)
        if ready.ready and ready.approval.automatic:
            try:
                result = _promote(ws, loaded, info.version, ready, None)
            except LifecycleError:
                return None  # its status changed meanwhile: judged again on the next pass
            return result if result.outcome == "live" else None
    return None


def withdraw_moot(ws: Workspace, name: str) -> list[DecisionInfo]:
    """Close open decisions whose version left shadow some other way: nothing is left to decide."""
    withdrawn = []
    with ws.db.session() as session:
        lock(ws, session, name)
        current = statuses(session, name)
        for row in store.open_of(session, name):
            if current.get(row.version) in DECIDABLE:
                continue
            why = f"version {row.version} is {current.get(row.version)}"
            _close(row, "withdrawn", ws.context.who, None, reason=why)
            entry = {"decision_id": row.id, "version": row.version, "reason": why}
            ws.ledger.append(
                session, "decision.withdrawn", entry, actor=ws.context.who, charter=name
            )
            withdrawn.append(DecisionInfo.from_row(row))
    for info in withdrawn:
        resolve_decision_alerts(ws, info, ws.context.who)
    return withdrawn


def resolve_decision_alerts(ws: Workspace, info: DecisionInfo, by: str) -> None:
    """A decided (or withdrawn) decision no longer stalls: resolve the alerts it raised."""
    with ws.db.read() as session:
        row = store.get(session, info.id)
        ids = list(row.alert_ids) if row is not None else []
    for alert_id in ids:
        with contextlib.suppress(AlertStateError):  # someone resolved it already
            resolve_alert(ws, info.charter, alert_id, by=by, note=f"decision {info.status}")
