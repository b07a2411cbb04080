"""``charter readiness NAME [VERSION] --as-of T``: the promotion gate's checklist as it stood at ``T``.

The checklist is rebuilt from the ledger cut where ``status --as-of`` cuts it (the head signed last
at or before ``T``), item by item from the entries that record its facts, and judged by the same
code as today's checklist (:func:`charter.lifecycle.gate.checklist`) on the terms in force then:

- ``owner``: the terms accepted by then (``charter.created`` / ``charter.terms_accepted``);
- ``shadow_batches``: ``batch.ingested`` / ``batch.shadow_scored`` entries naming the version
  in shadow among their ``scored_by``;
- ``sufficiency``, ``champion_challenger``, ``monitoring``: the verdicts and rule values of each
  window as ``window.evaluated`` last recorded them by then (thresholds from the terms then);
- ``alert_route``: the last successful ``alert.route_tested``;
- ``rollback_target``: version statuses (``version.status_changed``) and the first-version
  waiver recorded on the version's open decision;
- approval: the pre-authorisation in force (``promotion.authorized`` / ``_revoked``) and any
  rollback for cause (``version.rolled_back``, ``decision.approved``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from charter.errors import CharterError, EvidenceError
from charter.evidence import records
from charter.evidence.point_in_time import LedgerAt, ledger_at, versions_in
from charter.evidence.records import Entry
from charter.evidence.terms import terms_at
from charter.lifecycle.cause import cause_in
from charter.lifecycle.gate import (
    Grant,
    Readiness,
    Waiver,
    checklist,
    digest_terms,
    mode_for,
    not_for_cause,
)
from charter.monitoring.results import WindowResult
from charter.registry.versions import VersionInfo
from charter.schemas.lifecycle import RebuiltFrom
from charter.schemas.versions import Version
from charter.spec.model import Charter
from charter.workspace import Workspace

NOT_IN_THE_LEDGER = [
    "the notes on scoring failures: they are not ledger entries",
    "a window's rule values as of a later monitor run that did not change its verdict: the "
    "ledger records a window when its verdict changes (the values are those it was judged on)",
]


def readiness_at(ws: Workspace, name: str, version: int | None, as_of: datetime) -> Readiness:
    """The checklist of ``version`` (default: the newest version in shadow then) at ``as_of``."""
    at = ledger_at(ws, name, as_of)
    history = records.charter_history(at.entries)
    sha = records.terms_sha_at_head(history)
    charter = terms_at(sha, at.texts, at.changes).charter
    if charter is None:
        raise EvidenceError(
            f"the terms of {name} in force at {at.as_of.isoformat()} cannot be rebuilt: the "
            "store no longer keeps a text they can be rebuilt from",
            hint="Without the terms there are no thresholds to judge by; `charter status "
            f"{name} --as-of ...` shows what the ledger does give back.",
        )
    versions = [_info(v) for v in versions_in(ws, at, name)]
    info = _candidate(name, versions, version, at)
    items = checklist(
        charter,
        info,
        versions,
        _windows(charter, at.entries),
        shadow=_shadow(at.entries, info.version),
        tested=_tested(at.entries),
        waiver=_waiver(at.entries, info.version),
    )
    newest_first = [(e.action, dict(e.payload), e.recorded_at, e.actor) for e in at.entries[::-1]]
    approval = not_for_cause(
        mode_for(charter, _grant(at.entries)), charter, cause_in(newest_first, info.version)
    )
    return replace(
        Readiness(charter.name, info.version, info.status, items, approval),
        as_of=at.as_of,
        rebuilt_from=RebuiltFrom(
            head_seq=at.head_seq,
            signed_at=at.signed_at,
            terms_sha256=sha,
            not_reconstructed=list(NOT_IN_THE_LEDGER),
        ),
    )


def _info(v: Version) -> VersionInfo:
    return VersionInfo(
        charter=v.charter,
        version=v.version,
        sha256=v.sha256,
        flavor=v.flavor,
        status=v.status,
        artifact_uri=v.artifact_uri,
        lineage=v.lineage,
        created_at=v.created_at,
        created_by=v.created_by,
        status_changed_at=v.status_changed_at,
        artifact_key=v.artifact_uri,
    )


def _candidate(
    name: str, versions: Sequence[VersionInfo], version: int | None, at: LedgerAt
) -> VersionInfo:
    when = at.as_of.isoformat()
    if version is not None:
        for v in versions:
            if v.version == version:
                return v
        raise CharterError(
            f"{name} version {version} was not registered by {when}",
            hint="Name a moment after its registration, or a version registered by then.",
        )
    in_shadow = [v for v in versions if v.status == "shadow"]
    if not in_shadow:
        statuses = ", ".join(f"{v.version} {v.status}" for v in versions) or "no versions yet"
        raise CharterError(
            f"{name} had no version in shadow at {when} ({statuses})",
            hint=f"Name one: `charter readiness {name} VERSION --as-of {when}`.",
        )
    return in_shadow[-1]


def _windows(charter: Charter, entries: Sequence[Entry]) -> list[WindowResult]:
    """Each window as last judged by then, oldest first, its rules with the thresholds then."""
    last: dict[tuple[str, str, str], dict[str, Any]] = {}
    for item in records.verdict_history(entries):
        last[(str(item["version"]), str(item["start"]), str(item["end"]))] = item
    bounds: dict[tuple[Any, Any], dict[str, Any]] = {
        (r.metric, r.segment): {"at_least": r.at_least, "at_most": r.at_most, "warn_at": r.warn_at}
        for r in charter.sufficiency.metrics
    }
    out = []
    for item in last.values():
        rules = [
            {**bounds.get((r.get("metric"), r.get("segment")), {}), **r}
            for r in item["rules"]
            if isinstance(r, dict)
        ]
        data = {
            "start": item["start"],
            "end": item["end"],
            "labels": {"labelled": item["labels"]},
            "rules": rules,
        }
        start, end = datetime.fromisoformat(item["start"]), datetime.fromisoformat(item["end"])
        out.append(WindowResult(str(item["version"]), start, end, str(item["verdict"]), data))
    return sorted(out, key=lambda w: (w.start, w.end))


def _shadow(entries: Sequence[Entry], version: int) -> tuple[int, int]:
    """(batches that scored rows, batches that scored none) with ``version`` in shadow."""
    wanted = {"version": str(version), "status": "shadow"}
    scored = empty = 0
    for e in entries:
        if e.action == "batch.ingested":
            rows = int(e.payload.get("rows_scored") or 0)
        elif e.action == "batch.shadow_scored":  # online traffic scored off the response path
            rows = int(e.payload.get("rows") or 0)
        else:
            continue
        by = [dict(s) for s in e.payload.get("scored_by") or [] if isinstance(s, dict)]
        if wanted in [{"version": str(s.get("version")), "status": s.get("status")} for s in by]:
            scored, empty = (scored + 1, empty) if rows else (scored, empty + 1)
    return scored, empty


def _tested(entries: Sequence[Entry]) -> datetime | None:
    """When a route last delivered a test alert successfully by then."""
    fired = [e for e in entries if e.action == "alert.route_tested" and e.payload.get("ok")]
    if not fired:
        return None
    last = fired[-1]
    return datetime.fromisoformat(str(last.payload.get("finished_at") or last.recorded_at))


def _waiver(entries: Sequence[Entry], version: int) -> Waiver | None:
    """The first-version waiver recorded on the version's decision open then, if any: given to
    ``promote`` (in the opening checklist's ``rollback_target``) or recorded on it later."""
    open_ids = {
        d["decision_id"]
        for d in records.decisions(entries)["decisions"]
        if d["version"] == version and d["status"] == "open"
    }
    found: Waiver | None = None
    for e in entries:
        p = e.payload
        if p.get("decision_id") not in open_ids:
            continue
        if e.action == "decision.waiver_recorded" and p.get("waiver"):
            found = Waiver(str(p["waiver"]), e.actor)
        elif e.action == "decision.opened":
            for item in (p.get("readiness") or {}).get("items") or []:
                given = (item.get("facts") or {}).get("waiver")
                if item.get("name") == "rollback_target" and isinstance(given, dict):
                    found = Waiver(str(given.get("reason")), str(given.get("by")))
    return found


def _grant(entries: Sequence[Entry]) -> Grant | None:
    """The pre-authorisation in force then: the last one given and not revoked since."""
    grant: Grant | None = None
    for e in entries:
        p = e.payload
        if e.action == "promotion.authorized":
            grant = Grant(
                int(p["authorization_id"]),
                str(p.get("by") or e.actor),
                datetime.fromisoformat(e.recorded_at),
                str(p.get("terms_sha256") or digest_terms(p.get("terms") or {})),
            )
        elif e.action == "promotion.authorization_revoked":
            revoked = p.get("authorization_ids") or []
            grant = None if grant is not None and grant.id in revoked else grant
    return grant
