"""The promotion gate: what must be true before a version may go live, each item with its evidence.

DESIGN.md names the conditions; this module checks the ones that are facts about the world, so
that the owner decides on evidence rather than on a slide. The owner's decision itself is not an
item: it is what :mod:`charter.lifecycle.decisions` records *after* reading this checklist.

Items, in order (the names are stable; scripts and the dashboard rely on them):

``owner``
    the charter names an accountable owner (and who may decide in the owner's place);
``shadow_batches``
    live batches that scored rows with the version in shadow, against
    ``promotion.shadow_min_batches`` (a batch that scored no row is shown, not counted);
``sufficiency``
    the owner's sufficiency contract on the version's latest window that has a verdict: ``pass``,
    or the shortfall (which rule, what value, against what threshold). Recent windows still
    waiting for labels (``insufficient_evidence``) neither help nor hurt while an older window
    has a verdict; with none, the evidence is missing and the item fails;
``champion_challenger``
    on the windows both were judged, the version is not worse than the live one beyond
    ``promotion.challenger_margin``, per sufficiency rule (:mod:`charter.lifecycle.challenger`);
``monitoring``
    monitoring has evaluated the version's windows (cadence, drift method and reference shown);
``alert_route``
    the charter has an alert route that was test-fired successfully (``charter alerts test``):
    an alert nobody receives is no alert;
``rollback_target``
    a live or standby version to fall back to, or, when no version is live yet, an explicit
    first-version waiver (given to ``promote`` or ``approve``, and kept on the decision).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from charter.alerts.raising import last_successful_test
from charter.audit import state
from charter.errors import CharterError
from charter.lifecycle.cause import Cause, rolled_back_for_cause
from charter.lifecycle.challenger import champion_challenger
from charter.monitoring.service import WindowResult, stored_windows
from charter.plumbing.scoring_failures import failure_note, failure_summary
from charter.registry.versions import VersionInfo, get_version, list_versions
from charter.schemas import lifecycle as schemas
from charter.spec.durations import format_duration
from charter.spec.model import Charter
from charter.store import batches, decisions
from charter.workspace import Workspace

ITEMS = (
    "owner",
    "shadow_batches",
    "sufficiency",
    "champion_challenger",
    "monitoring",
    "alert_route",
    "rollback_target",
)
DECISIVE = ("pass", "warn", "breach")


@dataclass(frozen=True)
class Item:
    """One checklist item: whether it holds, the evidence in a sentence, and the raw facts."""

    name: str
    ok: bool
    evidence: str
    facts: Mapping[str, Any] = field(default_factory=dict)

    def to_schema(self) -> schemas.ReadinessItem:
        return schemas.ReadinessItem(
            name=self.name, ok=self.ok, evidence=self.evidence, facts=dict(self.facts)
        )

    def to_dict(self) -> dict[str, Any]:
        return self.to_schema().to_json_dict()


@dataclass(frozen=True)
class Waiver:
    """An explicit acceptance that a first version goes live with nothing to roll back to."""

    reason: str
    by: str


@dataclass(frozen=True)
class Readiness:
    """The checklist of one version. ``to_dict`` is the ``readiness --json`` shape."""

    charter: str
    version: int
    status: str
    items: tuple[Item, ...]
    approval: ApprovalMode
    notes: tuple[str, ...] = ()  # not items: facts the owner should read (a version that failed)
    as_of: datetime | None = None  # ``readiness --as-of``: rebuilt from the ledger for then
    rebuilt_from: schemas.RebuiltFrom | None = None

    @property
    def ready(self) -> bool:
        return all(item.ok for item in self.items)

    @property
    def shortfall(self) -> list[Item]:
        return [item for item in self.items if not item.ok]

    def to_schema(self) -> schemas.Readiness:
        return schemas.Readiness(
            charter=self.charter,
            version=self.version,
            status=self.status,
            ready=self.ready,
            items=[item.to_schema() for item in self.items],
            approval=self.approval.to_schema(),
            notes=list(self.notes),
            as_of=self.as_of,
            rebuilt_from=self.rebuilt_from,
        )

    def to_dict(self) -> dict[str, Any]:
        return self.to_schema().to_json_dict()


def readiness(
    ws: Workspace, name: str, version: int | None = None, *, waiver: Waiver | None = None
) -> Readiness:
    """The gate's checklist for ``version`` (default: the newest version in shadow).

    ``waiver`` is a first-version waiver being given now; one already recorded on the version's
    open decision is taken into account without it.
    """
    charter = ws.load(name).charter
    name = charter.name
    versions = list_versions(ws, name)
    info = _candidate(ws, name, versions, version)
    items = checklist(
        charter,
        info,
        versions,
        stored_windows(ws, name),
        shadow=_shadow_batches_seen(ws, name, info.version),
        tested=last_successful_test(ws, name),
        waiver=waiver or recorded_waiver(ws, name, info.version),
    )
    failed = failure_summary(ws, name, str(info.version))
    notes = tuple(failure_note(name, entry) for entry in failed)
    with ws.db.read() as session:
        cause = rolled_back_for_cause(session, charter.name, info.version)
    approval = not_for_cause(approval_mode(ws, charter), charter, cause)
    return Readiness(name, info.version, info.status, items, approval, notes)


def checklist(
    charter: Charter,
    info: VersionInfo,
    versions: Sequence[VersionInfo],
    every: Sequence[WindowResult],
    *,
    shadow: tuple[int, int],
    tested: datetime | None,
    waiver: Waiver | None,
) -> tuple[Item, ...]:
    """The gate's items from the facts: the charter's versions and every version's windows,
    the (scored, unscored) shadow batches of the candidate, when its route was last test-fired,
    the first-version waiver. ``readiness --as-of`` hands in the facts the ledger had then."""
    windows = [w for w in every if w.version == str(info.version)]
    return (
        owner_item(charter),
        shadow_item(charter, *shadow),
        _sufficiency(charter, windows),
        Item("champion_challenger", *champion_challenger(charter, every, versions, info.version)),
        _monitoring(charter, windows),
        alert_route_item(charter, tested),
        _rollback_target(versions, info, waiver),
    )


def not_for_cause(mode: ApprovalMode, charter: Charter, cause: Cause | None) -> ApprovalMode:
    """The approval mode, but never the pre-authorisation for a version rolled back for cause."""
    if not mode.automatic or cause is None:
        return mode
    return ApprovalMode("owner", f"{cause.sentence(charter.name)}, not the pre-authorisation")


def _candidate(
    ws: Workspace, name: str, versions: Sequence[VersionInfo], version: int | None
) -> VersionInfo:
    if version is not None:
        return get_version(ws, name, version)
    in_shadow = [v for v in versions if v.status == "shadow"]
    if not in_shadow:
        statuses = ", ".join(f"{v.version} {v.status}" for v in versions) or "no versions yet"
        raise CharterError(
            f"{name} has no version in shadow to judge ({statuses})",
            hint=f"Name one: `charter readiness {name} VERSION`, or put one in shadow with "
            f"`charter shadow {name} VERSION`.",
        )
    return in_shadow[-1]


def owner_item(charter: Charter) -> Item:
    owner = charter.owner
    role = f", {owner.role}" if owner.role else ""
    delegates = ", ".join(d.email for d in charter.delegates) or "none"
    return Item(
        "owner",
        bool(owner.email),
        f"owner {owner.name} <{owner.email}>{role}; delegates: {delegates}",
        {"owner": owner.email, "delegates": [d.email for d in charter.delegates]},
    )


def shadow_batch_count(ws: Workspace, name: str, version: int) -> int:
    """Committed input batches that scored rows with this version while it was in shadow."""
    return _shadow_batches_seen(ws, name, version)[0]


def _shadow_batches_seen(ws: Workspace, name: str, version: int) -> tuple[int, int]:
    """(batches that scored rows, batches that scored none) with ``version`` in shadow.

    Ingestion records which versions scored a batch, with their status at the time, in the
    batch's ``scored_by``; that is the production path's own account, so it is counted here. A
    batch that scored no row (every row quarantined, a replay with nothing left) is no evidence.
    """
    wanted = {"version": str(version), "status": "shadow"}
    with ws.db.read() as session:
        rows = batches.scoring_of(session, name)
    mine = [
        max(rows_scored, int((details or {}).get("shadow_rows", 0)))  # online companions
        for details, rows_scored in rows
        if wanted in (details or {}).get("scored_by", [])
    ]
    scored = sum(1 for n in mine if n > 0)
    return scored, len(mine) - scored


def shadow_item(charter: Charter, done: int, empty: int) -> Item:
    """``done`` batches scored rows with the version in shadow, ``empty`` more scored none."""
    need = charter.operations.promotion.shadow_min_batches
    unscored = f" ({empty} more scored no row: not counted)" if empty else ""
    return Item(
        "shadow_batches",
        done >= need,
        f"{done} of {need} required live batches scored in shadow{unscored}",
        {"batches": done, "required": need, "unscored_batches": empty},
    )


def _sufficiency(charter: Charter, windows: Sequence[WindowResult]) -> Item:
    decided = [w for w in windows if w.verdict in DECISIVE]
    waiting = len(windows) - len(decided)
    if not decided:
        return Item(
            "sufficiency",
            False,
            f"no window with enough evidence yet: {len(windows)} window(s) evaluated, none with "
            f"at least {charter.sufficiency.min_labels} labels per rule",
            {"verdict": None, "windows": len(windows)},
        )
    latest = decided[-1]
    span = f"window {latest.start:%Y-%m-%d %H:%M} to {latest.end:%Y-%m-%d %H:%M} UTC"
    labels = (latest.data.get("labels") or {}).get("labelled")
    facts = {
        "verdict": latest.verdict,
        "window": {"start": latest.start.isoformat(), "end": latest.end.isoformat()},
        "labels": labels,
        "windows": len(windows),
        "awaiting_labels": waiting,
        "rules": [_rule_fact(r) for r in latest.data.get("rules", [])],
    }
    if latest.verdict == "pass":
        return Item("sufficiency", True, f"pass on {span} ({labels} labels)", facts)
    short = [r for r in latest.data.get("rules", []) if r.get("status") != "pass"]
    detail = "; ".join(_shortfall(r) for r in short) or "see the window's rules"
    return Item("sufficiency", False, f"{latest.verdict} on {span}: {detail}", facts)


def _rule_fact(rule: Mapping[str, Any]) -> dict[str, Any]:
    keys = ("metric", "segment", "at_least", "at_most", "warn_at", "status", "value", "labels")
    return {k: rule.get(k) for k in keys}


def _shortfall(rule: Mapping[str, Any]) -> str:
    where = f" [{rule['segment']}]" if rule.get("segment") else ""
    value = rule.get("value")
    shown = f"{value:.4g}" if isinstance(value, int | float) else "not computable"
    if rule.get("at_least") is not None:
        bound = f"at least {rule['at_least']}"
    else:
        bound = f"at most {rule.get('at_most')}"
    if rule.get("status") == "warn":
        bound += f", warn at {rule.get('warn_at')}"
    return f"{rule.get('metric')}{where} = {shown} ({rule.get('status')}; needs {bound})"


def _monitoring(charter: Charter, windows: Sequence[WindowResult]) -> Item:
    policy = charter.operations.monitor
    warn, breach = policy.drift.levels()
    significance = policy.drift.gate()
    gate = "" if significance is None else f", significance {significance}"
    setup = (
        f"every {format_duration(policy.every)}, drift {policy.drift.method} "
        f"(warn {warn}, breach {breach}{gate}), reference {policy.reference}"
    )
    facts = {"every": format_duration(policy.every), "windows": len(windows)}
    if not windows:
        return Item(
            "monitoring",
            False,
            f"configured ({setup}) but no window of this version evaluated yet; run "
            f"`charter monitor {charter.name}`",
            facts,
        )
    last = windows[-1]
    return Item(
        "monitoring",
        True,
        f"{setup}; {len(windows)} window(s) evaluated, latest ending {last.end:%Y-%m-%d %H:%M} UTC",
        facts,
    )


def alert_route_item(charter: Charter, tested: datetime | None) -> Item:
    """The charter's alert routes, and when one was last test-fired successfully (if ever)."""
    routes = charter.operations.alerts
    kinds = ", ".join(r.route for r in routes)
    if not routes:
        return Item(
            "alert_route",
            False,
            "no alert route: add one under operations.alerts, then `charter alerts test "
            f"{charter.name}`",
            {"routes": 0, "tested_at": None},
        )
    facts = {"routes": len(routes), "tested_at": tested.isoformat() if tested else None}
    if tested is None:
        return Item(
            "alert_route",
            False,
            f"{len(routes)} route(s) ({kinds}), never test-fired successfully; run "
            f"`charter alerts test {charter.name}`",
            facts,
        )
    return Item(
        "alert_route",
        True,
        f"{len(routes)} route(s) ({kinds}); last successful test fire {tested:%Y-%m-%d %H:%M} UTC",
        facts,
    )


def _rollback_target(
    versions: Sequence[VersionInfo], info: VersionInfo, waiver: Waiver | None
) -> Item:
    live = [v.version for v in versions if v.status == "live" and v.version != info.version]
    standby = [v.version for v in versions if v.status == "standby" and v.version != info.version]
    facts: dict[str, Any] = {"live": live, "standby": standby, "waiver": None}
    if live:
        return Item(
            "rollback_target",
            True,
            f"version {live[0]} is live and becomes the standby on approval",
            facts,
        )
    if standby:
        return Item("rollback_target", True, f"version {standby[-1]} is the standby", facts)
    if waiver is not None:
        facts["waiver"] = {"reason": waiver.reason, "by": waiver.by}
        return Item(
            "rollback_target",
            True,
            f"no version to fall back to; first-version waiver by {waiver.by}: {waiver.reason!r}",
            facts,
        )
    return Item(
        "rollback_target",
        False,
        "no live or standby version to fall back to; if this is the first version to go live, "
        'give an explicit waiver: --first-version-waiver "why it may go live without one"',
        facts,
    )


def recorded_waiver(ws: Workspace, name: str, version: int) -> Waiver | None:
    """The first-version waiver recorded on the version's open decision, if any."""
    with ws.db.read() as session:
        row = decisions.open_waiver(session, name, version)
    if row is None or row[0] is None:
        return None
    return Waiver(row[0], row[1] or "unknown")


# -- approval -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class ApprovalMode:
    """Who approves now: the owner each time, or the owner's recorded pre-authorisation."""

    mode: str  # "owner" or "auto_if_sufficient"
    explanation: str
    authorization_id: int | None = None
    granted_by: str | None = None

    @property
    def automatic(self) -> bool:
        return self.mode == "auto_if_sufficient"

    def to_schema(self) -> schemas.ApprovalMode:
        return schemas.ApprovalMode(
            mode=self.mode,
            explanation=self.explanation,
            authorization_id=self.authorization_id,
            granted_by=self.granted_by,
        )

    def to_dict(self) -> dict[str, Any]:
        return self.to_schema().to_json_dict()


def promotion_terms(charter: Charter) -> dict[str, Any]:
    """What an owner's pre-authorisation is bound to: owner, sufficiency, promotion policy."""
    promotion = charter.operations.promotion.model_dump(mode="json")
    if not promotion.get("challenger_margin"):
        promotion.pop("challenger_margin", None)  # grants made before the field existed hold
    return {
        "owner": charter.owner.email,
        "sufficiency": charter.sufficiency.model_dump(mode="json"),
        "promotion": promotion,
    }


def terms_sha256(charter: Charter) -> str:
    return digest_terms(promotion_terms(charter))


def digest_terms(terms: Mapping[str, Any]) -> str:
    """The SHA-256 a pre-authorisation binds its :func:`promotion_terms` by."""
    text = json.dumps(terms, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class Grant:
    """The owner's standing pre-authorisation in force: who gave it, when, on which terms."""

    id: int
    granted_by: str
    granted_at: datetime
    terms_sha256: str


def approval_mode(ws: Workspace, charter: Charter) -> ApprovalMode:
    """``auto_if_sufficient`` only when the charter asks for it AND its owner authorised it on
    the charter's current terms; otherwise the owner decides, and the explanation says why."""
    if charter.operations.promotion.approval != "auto_if_sufficient":
        return mode_for(charter, None)
    with ws.db.read() as session:
        row = decisions.latest_active_authorization(session, charter.name)
        if row is None:
            return mode_for(charter, None)
        state.check(session, state.PROMOTION_AUTHORIZATION, [row])  # forged grants: refused
        return mode_for(charter, Grant(row.id, row.granted_by, row.granted_at, row.terms_sha256))


def mode_for(charter: Charter, grant: Grant | None) -> ApprovalMode:
    """The approval mode the charter's terms and the pre-authorisation in force (if any) give."""
    name = charter.name
    if charter.operations.promotion.approval != "auto_if_sufficient":
        return ApprovalMode("owner", "the owner (or a delegate) approves each promotion")
    if grant is None:
        return ApprovalMode(
            "owner",
            "the charter asks for auto_if_sufficient, but the owner has not authorised it: "
            f"`charter authorize {name} --as {charter.owner.email} --auto-if-sufficient`",
        )
    when = f"{grant.granted_at:%Y-%m-%d %H:%M} UTC"
    if grant.granted_by != charter.owner.email:
        return ApprovalMode(
            "owner",
            f"authorised by {grant.granted_by} on {when}, who is no longer the owner; "
            f"{charter.owner.email} must authorise it again",
        )
    if grant.terms_sha256 != terms_sha256(charter):
        return ApprovalMode(
            "owner",
            f"authorised by {grant.granted_by} on {when}, but the owner, sufficiency contract or "
            "promotion policy changed since; the owner must authorise the new terms",
        )
    return ApprovalMode(
        "auto_if_sufficient",
        f"authorised by {grant.granted_by} on {when}: a version passing the gate goes live",
        grant.id,
        grant.granted_by,
    )
