"""Moving model versions between statuses: into shadow, live (with a standby), and back.

The transitions this module makes::

    registered | retired | rolled_back ──shadow──▶ shadow
    shadow | registered ──approved──▶ live   (old live ──▶ standby, old standby ──▶ retired)
    live ──rollback──▶ rolled_back           (the standby, or a version live before ──▶ live)
    shadow | standby ──retire──▶ retired      (by the owner, a delegate or a steward; never live)

Going live happens only through :mod:`charter.lifecycle.decisions`, which calls
:func:`go_live` inside its own transaction after the owner (or the owner's pre-authorisation)
decided. Every change takes the charter's lifecycle lock first (:func:`lock`), so two approvals
or an approval and a rollback can never interleave and leave two versions live, and each status
change is written with its ledger entries in one transaction.

A refused request (a version already live, nothing to roll back to, ...) is an answer to a person,
so it is recorded too: :func:`recording_refusal` appends ``<action>.refused`` in a transaction of
its own, because the one that was refused is rolled back.

The scheduler's pass over one charter (automatic rollback first, then the decision duties) is
:func:`charter.services.lifecycle.review`, which builds on this module and on
:mod:`charter.lifecycle.decisions`."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

from charter.alerts.raising import raise_alert
from charter.audit import state
from charter.errors import (
    LifecycleError,
    NoRollbackTargetError,
    NotAuthorizedError,
    VersionNotFoundError,
)
from charter.lifecycle.cause import BY_HAND, rolled_back_for_cause
from charter.monitoring.service import WindowResult, stored_windows
from charter.registry.charters import record_charter
from charter.registry.versions import VersionInfo, get_version, set_status
from charter.schemas import lifecycle as schemas
from charter.store import Session, versions
from charter.workspace import Workspace

SHADOW_FROM = ("registered", "retired", "rolled_back")


@dataclass(frozen=True)
class RollbackResult:
    """What a rollback did, and why; ``to_dict`` is the ``rollback --json`` shape."""

    charter: str
    rolled_back: int
    restored: int
    automatic: bool
    reason: str
    evidence: Sequence[Mapping[str, Any]] = field(default_factory=list)
    for_cause: bool = True

    def to_schema(self) -> schemas.Rollback:
        return schemas.Rollback(
            charter=self.charter,
            rolled_back=self.rolled_back,
            restored=self.restored,
            automatic=self.automatic,
            reason=self.reason,
            evidence=[dict(e) for e in self.evidence],
            for_cause=self.for_cause,
        )

    def to_dict(self) -> dict[str, Any]:
        return self.to_schema().to_json_dict()


# -- shared machinery --------------------------------------------------------------------------
def lock(ws: Workspace, session: Session, name: str) -> None:
    """Serialise every status change of ``name`` for the rest of ``session``'s transaction."""
    ws.db.serialize(session, f"lifecycle:{name}")


@contextlib.contextmanager
def recording_refusal(
    ws: Workspace, name: str, action: str, payload: Mapping[str, Any]
) -> Iterator[None]:
    """Record a refused request (``action`` with ``payload`` and the reason), then re-raise."""
    try:
        yield
    except (LifecycleError, VersionNotFoundError) as exc:
        with ws.db.session() as session:
            entry = {**payload, "refused": exc.message}
            ws.ledger.append(session, action, entry, actor=ws.context.who_for_record, charter=name)
        raise


def statuses(session: Session, name: str) -> dict[int, str]:
    """Every version of ``name`` and its status, read inside the caller's transaction and
    checked against the ledger."""
    rows = versions.all_of(session, name)
    state.check(session, state.MODEL_VERSION, rows)  # decisions never build on a forged status
    return {int(r.version): str(r.status) for r in rows}


def was_live(session: Session, name: str, version: int) -> bool:
    """Whether ``version`` ever went live (``went_live_at``): only such a version is restorable."""
    return versions.went_live_at(session, name, version) is not None


# -- shadow -------------------------------------------------------------------------------------
def shadow(ws: Workspace, name: str, version: int) -> VersionInfo:
    """Put ``version`` in shadow: every ingested batch scores it beside the live version."""
    loaded = ws.load(name)
    name = loaded.charter.name
    with recording_refusal(ws, name, "shadow.refused", {"version": version}):
        get_version(ws, name, version)
        with ws.db.session() as session:
            lock(ws, session, name)
            current = statuses(session, name).get(version)
            if current not in SHADOW_FROM:
                raise LifecycleError(_not_shadowable(name, version, current))
            record_charter(ws, session, loaded)
            reason = "put in shadow: scored on every live batch beside the live version"
            return set_status(ws, session, name, version, "shadow", reason=reason)


def _not_shadowable(name: str, version: int, status: str | None) -> str:
    if status == "shadow":
        return f"{name} version {version} is already in shadow"
    if status == "live":
        return f"{name} version {version} is live; a live version is not put back in shadow"
    return (
        f"{name} version {version} is {status}; only a registered, retired or rolled-back "
        "version can be put in shadow (the standby is kept ready for a rollback)"
    )


# -- retire -------------------------------------------------------------------------------------
RETIRE_FROM = ("shadow", "standby")


def retire(
    ws: Workspace, name: str, version: int, *, by: str, reason: str | None = None
) -> VersionInfo:
    """Take a shadow or standby version out of scoring (status ``retired``), as ``by``.

    ``by`` must be the owner, a delegate or a steward (who operates the model); the live version
    is refused: roll back or promote another one first. Recorded in the ledger, refusals too.
    """
    loaded = ws.load(name)
    charter, name = loaded.charter, loaded.charter.name
    why = reason or "retired by hand"
    with recording_refusal(ws, name, "retire.refused", {"version": version, "by": by}):
        operators = [*charter.deciders(), *(s.email for s in charter.stewards)]
        if by not in operators:
            raise NotAuthorizedError(
                f"{by or '(nobody)'} may not retire a version of {name}: only the owner "
                f"{charter.owner.email}, a delegate or a steward named in the charter does",
                hint="The refusal was recorded in the audit ledger.",
            )
        get_version(ws, name, version)
        with ws.db.session() as session:
            lock(ws, session, name)
            current = statuses(session, name).get(version)
            if current not in RETIRE_FROM:
                raise LifecycleError(_not_retirable(name, version, current))
            record_charter(ws, session, loaded)
            info = set_status(ws, session, name, version, "retired", reason=f"{why} ({by})")
            entry = {"version": version, "from": current, "by": by, "reason": why}
            ws.ledger.append(session, "version.retired", entry, actor=ws.context.who, charter=name)
            return info


def _not_retirable(name: str, version: int, status: str | None) -> str:
    if status == "live":
        return (
            f"{name} version {version} is the live version and cannot be retired; roll back "
            f"(`charter rollback {name}`) or promote another version first"
        )
    return (
        f"{name} version {version} is {status}; only a shadow or standby version is retired "
        "(it is not being scored)"
    )


# -- live ---------------------------------------------------------------------------------------
def go_live(
    ws: Workspace, session: Session, name: str, version: int, *, reason: str
) -> dict[str, Any]:
    """Make ``version`` live in the caller's locked transaction; the old live becomes standby.

    The old standby, no longer the fallback, is retired. Returns what moved, for the ledger.
    """
    current = statuses(session, name)
    live = [v for v, s in current.items() if s == "live" and v != version]
    standby = [v for v, s in current.items() if s == "standby" and v != version]
    retired = standby if live else []
    for old in retired:
        set_status(ws, session, name, old, "retired", reason=f"replaced as standby: {reason}")
    for old in live:
        set_status(ws, session, name, old, "standby", reason=f"kept as rollback target: {reason}")
    set_status(ws, session, name, version, "live", reason=reason)
    return {"version": version, "previous_live": live[0] if live else None, "retired": retired}


# -- rollback -----------------------------------------------------------------------------------
def rollback(
    ws: Workspace, name: str, *, to: int | None = None, reason: str | None = None
) -> RollbackResult:
    """Restore the standby (or ``to``, a version that was live before) at once; the live version
    becomes ``rolled_back``. Refused, and recorded, when there is nothing to restore, or when
    ``to`` was rolled back for cause (:mod:`charter.lifecycle.cause`).

    A ``reason`` makes the rollback one for cause: the version rolled back now then goes live
    again only by a new owner decision."""
    loaded = ws.load(name)
    name = loaded.charter.name
    given = reason.strip() if reason else ""
    why = given or BY_HAND
    with recording_refusal(ws, name, "rollback.refused", {"to": to, "reason": why}):
        if to is not None:
            get_version(ws, name, to)
        with ws.db.session() as session:
            lock(ws, session, name)
            record_charter(ws, session, loaded)
            current = statuses(session, name)
            live = _the_live_version(name, current)
            target = _target(session, name, current, live, to)
            return _restore(
                ws,
                session,
                name,
                live,
                target,
                why,
                automatic=False,
                evidence=[],
                for_cause=bool(given),
            )


def _the_live_version(name: str, current: Mapping[int, str]) -> int:
    live = [v for v, s in current.items() if s == "live"]
    if not live:
        raise NoRollbackTargetError(f"{name} has no live version: there is nothing to roll back")
    return live[0]


def _target(
    session: Session, name: str, current: Mapping[int, str], live: int, to: int | None
) -> int:
    if to is None:
        standby = [v for v, s in current.items() if s == "standby"]
        if not standby:
            raise NoRollbackTargetError(
                f"{name} has no standby version to roll back to; version {live} stays live",
                hint="Name a version that was live before: "
                f"`charter rollback {name} --to VERSION`.",
            )
        return standby[-1]
    if to == live:
        raise LifecycleError(f"{name} version {to} is the live version; roll back to another one")
    if current[to] != "standby" and not was_live(session, name, to):
        raise LifecycleError(
            f"{name} version {to} ({current[to]}) was never live, so it cannot be restored by a "
            f"rollback; version {live} stays live",
            hint=f"A version that never went live goes through the gate: `charter promote {name} "
            f"{to}`.",
        )
    cause = rolled_back_for_cause(session, name, to) if current[to] != "standby" else None
    if cause is not None:
        raise LifecycleError(
            f"{cause.sentence(name)}; version {live} stays live",
            hint=f"Open a promotion decision for it: `charter shadow {name} {to}`, then "
            f"`charter promote {name} {to}`; the owner approves with `charter approve {name} {to} "
            "--as EMAIL`.",
        )
    return to


def _restore(
    ws: Workspace,
    session: Session,
    name: str,
    live: int,
    target: int,
    reason: str,
    *,
    automatic: bool,
    evidence: Sequence[Mapping[str, Any]],
    for_cause: bool = True,
) -> RollbackResult:
    set_status(ws, session, name, live, "rolled_back", reason=reason)
    set_status(ws, session, name, target, "live", reason=f"restored by rollback: {reason}")
    result = RollbackResult(name, live, target, automatic, reason, list(evidence), for_cause)
    ws.ledger.append(
        session, "version.rolled_back", result.to_dict(), actor=ws.context.who, charter=name
    )
    return result


# -- automatic rollback -------------------------------------------------------------------------
def automatic_rollback(ws: Workspace, name: str) -> RollbackResult | None:
    """Roll back when the charter allows it and the evidence says so; raise a ``rollback`` alert.

    The evidence: the live version's latest ``after_breaches`` windows with a verdict are
    consecutive breaches, and the standby passed every one of the same windows (a standby that
    was not judged there proves nothing, so nothing happens).
    """
    charter = ws.load(name).charter
    name, policy = charter.name, charter.operations.rollback
    if not policy.automatic:
        return None
    with ws.db.read() as session:
        current = statuses(session, name)
    live = [v for v, s in current.items() if s == "live"]
    standby = [v for v, s in current.items() if s == "standby"]
    if not live or not standby:
        return None
    evidence = breach_evidence(
        stored_windows(ws, name), live[0], standby[-1], policy.after_breaches
    )
    if evidence is None:
        return None
    reason = (
        f"automatic: version {live[0]} breached the sufficiency contract on "
        f"{len(evidence)} consecutive windows where standby version {standby[-1]} passed"
    )
    with ws.db.session() as session:
        lock(ws, session, name)
        now = statuses(session, name)
        if now.get(live[0]) != "live" or now.get(standby[-1]) != "standby":
            return None  # someone else changed the versions since: judge again next pass
        result = _restore(
            ws, session, name, live[0], standby[-1], reason, automatic=True, evidence=evidence
        )
    raise_alert(
        ws,
        name,
        event="rollback",
        rule="rollback.automatic",
        window=f"version {live[0]}",
        severity="critical",
        message=f"{name}: rolled back from version {live[0]} to {standby[-1]}. {reason}.",
        details=result.to_dict(),
    )
    return result


def breach_evidence(
    windows: Sequence[WindowResult], live: int, standby: int, after: int
) -> list[dict[str, Any]] | None:
    """The windows that justify an automatic rollback, or None when they do not.

    Trailing windows of the live version still waiting for labels are skipped: missing evidence
    is not a verdict. The ``after`` windows before them must follow one another without a gap.
    """
    mine = sorted((w for w in windows if w.version == str(live)), key=lambda w: w.start)
    while mine and mine[-1].verdict == "insufficient_evidence":
        mine.pop()
    last = mine[-after:]
    if len(last) < after or any(w.verdict != "breach" for w in last):
        return None
    if any(a.end != b.start for a, b in pairwise(last)):
        return None
    theirs = {(w.start, w.end): w.verdict for w in windows if w.version == str(standby)}
    if any(theirs.get((w.start, w.end)) != "pass" for w in last):
        return None
    return [
        {
            "start": w.start.isoformat(),
            "end": w.end.isoformat(),
            "live": w.verdict,
            "standby": "pass",
        }
        for w in last
    ]


# -- the scheduler's pass -----------------------------------------------------------------------
