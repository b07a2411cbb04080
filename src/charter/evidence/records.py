"""The records of an evidence pack, read off the ledger excerpt: pure functions of its entries.

Every record that comes from a ledger entry carries ``ledger`` = ``{seq, action, recorded_at,
actor}``, so a reader (and ``charter evidence verify``) can find the entry it stands on. Built
from the ledger, the records reflect exactly the excerpt's head: ``--as-of`` needs nothing else.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from charter.audit.hashing import canonical_json

Record = dict[str, Any]


@dataclass(frozen=True)
class Entry:
    """One ledger entry of the excerpt, its payload parsed."""

    seq: int
    recorded_at: str
    actor: str
    action: str
    charter: str | None
    payload: Mapping[str, Any]

    def ref(self) -> Record:
        return {
            "seq": self.seq,
            "action": self.action,
            "recorded_at": self.recorded_at,
            "actor": self.actor,
        }


def _of(entries: Iterable[Entry], *actions: str, prefix: str | None = None) -> list[Entry]:
    return [
        e
        for e in entries
        if e.action in actions or (prefix is not None and e.action.startswith(prefix))
    ]


def seconds_between(start: str | None, end: str | None) -> float | None:
    if not start or not end:
        return None
    return round((datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds(), 3)


def digest(value: Any) -> str:
    """The SHA-256 of a value's canonical JSON (how a readiness checklist is named)."""
    return hashlib.sha256(canonical_json(value).encode()).hexdigest()


# -- the charter's history ----------------------------------------------------------------------
def charter_history(entries: Sequence[Entry]) -> Record:
    """Every text of the charter that was in force, and every change with its diff and decider."""
    terms: list[Record] = []
    changes: dict[int, Record] = {}
    for e in _of(entries, prefix="charter."):
        p = e.payload
        if e.action == "charter.created":
            terms.append(
                {
                    "sha256": p.get("sha256"),
                    "since": e.recorded_at,
                    "how": "created",
                    "accepted_by": p.get("owner"),
                    "change_id": None,
                    "ledger": e.ref(),
                }
            )
        elif e.action == "charter.terms_accepted":
            terms.append(
                {
                    "sha256": p.get("sha256"),
                    "since": e.recorded_at,
                    "how": p.get("how"),
                    "accepted_by": p.get("accepted_by"),
                    "change_id": p.get("change_id"),
                    "previous_sha256": p.get("previous_sha256"),
                    "ledger": e.ref(),
                }
            )
        elif e.action == "charter.change_detected":
            changes[int(p["change_id"])] = {
                "change_id": int(p["change_id"]),
                "detected_at": e.recorded_at,
                "detected_by": e.actor,
                "status": p.get("status"),
                "requires": p.get("requires"),
                "governed": p.get("governed", []),
                "diff": p.get("diff", []),
                "from_sha256": p.get("from_sha256"),
                "to_sha256": p.get("to_sha256"),
                "decided_by": None,
                "decided_at": None,
                "reason": None,
                "refusals": [],
                "ledger": e.ref(),
            }
        elif e.action.startswith("charter.change_") and "change_id" in p:
            change = changes.get(int(p["change_id"]))
            if change is None:
                continue
            if e.action == "charter.change_refused":
                change["refusals"].append(
                    {"by": p.get("by", e.actor), "why": p.get("refused"), "ledger": e.ref()}
                )
                continue
            change["status"] = e.action.removeprefix("charter.change_")
            change["decided_by"] = p.get("by", e.actor)
            change["decided_at"] = e.recorded_at
            change["reason"] = p.get("reason")
            change["decision_ledger"] = e.ref()
    # applied changes are accepted by their terms_accepted entry (how: no_live_version, ...)
    for item in terms:
        change = changes.get(item["change_id"]) if item["change_id"] is not None else None
        if change is not None and change["decided_by"] is None:
            change["decided_by"], change["decided_at"] = item["accepted_by"], item["since"]
    refused = [
        {"by": e.payload.get("by", e.actor), "why": e.payload.get("refused"), "ledger": e.ref()}
        for e in _of(entries, "charter.change_refused")
        if "change_id" not in e.payload
    ]
    return {
        "terms": terms,
        "changes": [changes[k] for k in sorted(changes)],
        "other_refusals": refused,
    }


def terms_sha_at_head(history: Record) -> str | None:
    terms = history["terms"]
    return str(terms[-1]["sha256"]) if terms else None


# -- monitoring -----------------------------------------------------------------------------------
def verdict_history(entries: Sequence[Entry]) -> list[Record]:
    """Every judged window, as the ledger recorded it (a re-judged window appears again)."""
    out = []
    for e in _of(entries, "window.evaluated"):
        p = e.payload
        out.append(
            {
                "version": p.get("version"),
                "start": p.get("start"),
                "end": p.get("end"),
                "verdict": p.get("verdict"),
                "previous": p.get("previous"),
                "labels": p.get("labels"),
                "rules": p.get("rules", []),
                "drifted": p.get("drifted", []),
                "ledger": e.ref(),
            }
        )
    return out


def verdict_counts(history: Sequence[Record]) -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    for item in history:
        counts[str(item["verdict"])] += 1
    return dict(sorted(counts.items()))


# -- the data contract ----------------------------------------------------------------------------
def data_contract(entries: Sequence[Entry]) -> Record:
    """Violations and quarantine per batch, their totals, and files that could not be read."""
    batches: list[Record] = []
    by_rule: dict[str, int] = defaultdict(int)
    totals = {"batches": 0, "rows_in": 0, "rows_scored": 0, "rows_quarantined": 0, "rows_late": 0}
    for e in _of(entries, "batch.ingested"):
        p = e.payload
        totals["batches"] += 1
        for k in ("rows_in", "rows_scored", "rows_quarantined", "rows_late"):
            totals[k] += int(p.get(k) or 0)
        for rule, count in (p.get("violations") or {}).items():
            by_rule[rule] += int(count) if isinstance(count, int | float) else 1
        batches.append(
            {
                "batch_id": p.get("batch_id"),
                "source": p.get("source"),
                "rows_in": p.get("rows_in"),
                "rows_scored": p.get("rows_scored"),
                "rows_quarantined": p.get("rows_quarantined"),
                "rows_late": p.get("rows_late"),
                "violations": p.get("violations", {}),
                "failed_batch_rules": p.get("failed_batch_rules", []),
                "schema_changes": p.get("schema_changes", []),
                "ledger": e.ref(),
            }
        )
    failed = [
        {
            "file": e.payload.get("file") or e.payload.get("source"),
            "error": e.payload.get("error"),
            "ledger": e.ref(),
        }
        for e in _of(entries, "ingest.file_failed", "ingest.source_failed")
    ]
    replayed = [{**dict(e.payload), "ledger": e.ref()} for e in _of(entries, "quarantine.replayed")]
    return {
        "totals": totals,
        "violations_by_rule": dict(sorted(by_rule.items())),
        "batches": batches,
        "failed_sources": failed,
        "replays": replayed,
    }


# -- shadow and champion-challenger ----------------------------------------------------------------
def shadow_and_challenger(entries: Sequence[Entry]) -> Record:
    """Per version, the batches it was scored on in shadow (rows or none), and each checklist's
    shadow and champion–challenger items as the decision saw them."""
    per_version: dict[str, dict[str, int]] = defaultdict(
        lambda: {"batches_with_rows": 0, "batches_without_rows": 0, "rows": 0}
    )
    for e in _of(entries, "batch.ingested"):
        rows = int(e.payload.get("rows_scored") or 0)
        for scored in e.payload.get("scored_by") or []:
            if scored.get("status") != "shadow":
                continue
            item = per_version[str(scored.get("version"))]
            item["batches_with_rows" if rows else "batches_without_rows"] += 1
            item["rows"] += rows
    for e in _of(entries, "batch.shadow_scored"):  # online traffic scored off the response path
        rows = int(e.payload.get("rows") or 0)
        for scored in e.payload.get("scored_by") or []:
            item = per_version[str(scored.get("version"))]
            item["batches_with_rows" if rows else "batches_without_rows"] += 1
            item["rows"] += rows
    checks = []
    for e in _of(entries, "decision.opened", "decision.approved", "decision.rejected"):
        items = {i.get("name"): i for i in (e.payload.get("readiness") or {}).get("items", [])}
        checks.append(
            {
                "decision_id": e.payload.get("decision_id"),
                "version": e.payload.get("version"),
                "shadow_batches": items.get("shadow_batches"),
                "champion_challenger": items.get("champion_challenger"),
                "ledger": e.ref(),
            }
        )
    return {
        "shadow": {k: per_version[k] for k in sorted(per_version, key=_version_order)},
        "gate_items": checks,
    }


def _version_order(value: str) -> tuple[int, str]:
    return (int(value), "") if value.isdigit() else (1 << 30, value)


# -- decisions --------------------------------------------------------------------------------------
def decisions(entries: Sequence[Entry]) -> Record:
    """Every promotion decision: opened, decided (who, accepted risk, the evidence's digest),
    refusals, stalls and escalations; and the owner's pre-authorisations."""
    found: dict[int, Record] = {}
    for e in _of(entries, prefix="decision."):
        p = e.payload
        if "decision_id" not in p:
            continue
        d = found.setdefault(
            int(p["decision_id"]),
            {
                "decision_id": int(p["decision_id"]),
                "version": p.get("version"),
                "status": "open",
                "opened_at": None,
                "opened_by": None,
                "decided_at": None,
                "decided_by": None,
                "automatic": None,
                "accepted_risk": None,
                "reason": None,
                "waiver": None,
                "shortfall": [],
                "evidence_sha256": None,
                "readiness_sha256": None,
                "authorization_id": None,
                "events": [],
            },
        )
        d["events"].append({"ledger": e.ref()})
        if e.action == "decision.opened":
            d["opened_at"], d["opened_by"] = e.recorded_at, e.actor
            d["readiness_sha256"] = digest(p.get("readiness"))
        elif e.action in ("decision.approved", "decision.rejected"):
            d["status"] = e.action.removeprefix("decision.")
            d["decided_at"], d["decided_by"] = e.recorded_at, p.get("by", e.actor)
            d["automatic"] = bool(p.get("automatic", False))
            d["accepted_risk"], d["reason"] = p.get("accepted_risk"), p.get("reason")
            d["waiver"], d["shortfall"] = p.get("waiver"), p.get("shortfall", [])
            d["evidence_sha256"] = p.get("evidence_sha256")
            d["authorization_id"] = p.get("authorization_id")
            if p.get("readiness") is not None:
                d["readiness_sha256"] = digest(p.get("readiness"))
        elif e.action == "decision.withdrawn":
            d["status"] = "withdrawn"
    refused = [
        {
            "by": e.payload.get("by", e.actor),
            "action": e.payload.get("action"),
            "version": e.payload.get("version"),
            "why": e.payload.get("refused"),
            "ledger": e.ref(),
        }
        for e in _of(entries, "decision.refused")
    ]
    authorizations = [
        {**_without(e.payload, "state"), "ledger": e.ref()}
        for e in _of(entries, "promotion.authorized", "promotion.authorization_revoked")
    ]
    return {
        "decisions": [found[k] for k in sorted(found)],
        "refusals": refused,
        "authorizations": authorizations,
    }


def _without(payload: Mapping[str, Any], *keys: str) -> Record:
    return {k: v for k, v in payload.items() if k not in keys}


# -- oversight ---------------------------------------------------------------------------------------
OVERSIGHT_ACTIONS = (
    "version.rolled_back",
    "rollback.refused",
    "version.retired",
    "retire.refused",
    "shadow.refused",
    "charter.suspended",
    "charter.resumed",
    "decision.waiver_recorded",
)


def oversight(entries: Sequence[Entry]) -> Record:
    """Human and automatic interventions: rollbacks, suspensions, retirements, waivers, and
    approvals that overrode a gate shortfall (the owner accepting the risk in writing)."""
    actions = [
        {"action": e.action, **_without(e.payload, "state", "readiness"), "ledger": e.ref()}
        for e in _of(entries, *OVERSIGHT_ACTIONS)
    ]
    overrides = [
        {
            "decision_id": e.payload.get("decision_id"),
            "version": e.payload.get("version"),
            "by": e.payload.get("by", e.actor),
            "shortfall": e.payload.get("shortfall"),
            "accepted_risk": e.payload.get("accepted_risk"),
            "ledger": e.ref(),
        }
        for e in _of(entries, "decision.approved")
        if e.payload.get("shortfall")
    ]
    transitions = [
        {
            "version": e.payload.get("version"),
            "from": e.payload.get("from"),
            "to": e.payload.get("to"),
            "reason": e.payload.get("reason"),
            "ledger": e.ref(),
        }
        for e in _of(entries, "version.status_changed")
    ]
    counts: dict[str, int] = defaultdict(int)
    for item in actions:
        counts[item["action"]] += 1
    return {
        "actions": actions,
        "overrides": overrides,
        "status_changes": transitions,
        "counts": dict(sorted(counts.items())),
    }


# -- alerts ------------------------------------------------------------------------------------------
def alerts(entries: Sequence[Entry]) -> Record:
    """Each alert from raised to acknowledged to resolved, with the time each step took."""
    found: dict[int, Record] = {}
    for e in _of(entries, prefix="alert."):
        alert_id = e.payload.get("alert_id")
        if alert_id is None:
            continue
        a = found.setdefault(
            int(alert_id),
            {
                "alert_id": int(alert_id),
                "rule": e.payload.get("rule"),
                "event": None,
                "severity": None,
                "window": e.payload.get("window"),
                "message": None,
                "raised_at": None,
                "acknowledged_at": None,
                "acknowledged_by": None,
                "resolved_at": None,
                "resolved_by": None,
                "repeats": 0,
                "deliveries_ok": 0,
                "deliveries_failed": 0,
                "seconds_to_acknowledge": None,
                "seconds_to_resolve": None,
                "events": [],
            },
        )
        a["events"].append({"ledger": e.ref()})
        p = e.payload
        if e.action == "alert.raised":
            a.update(
                rule=p.get("rule"),
                event=p.get("event"),
                severity=p.get("severity"),
                window=p.get("window"),
                message=p.get("message"),
                raised_at=e.recorded_at,
            )
        elif e.action == "alert.acked":
            a["acknowledged_at"], a["acknowledged_by"] = e.recorded_at, p.get("by", e.actor)
        elif e.action == "alert.resolved":
            a["resolved_at"], a["resolved_by"] = e.recorded_at, p.get("by", e.actor)
        elif e.action == "alert.repeated":
            a["repeats"] += 1
        elif e.action == "alert.delivered":
            a["deliveries_ok" if p.get("ok", True) else "deliveries_failed"] += 1
        elif e.action == "alert.delivery_failed":
            a["deliveries_failed"] += 1
    for a in found.values():
        a["seconds_to_acknowledge"] = seconds_between(a["raised_at"], a["acknowledged_at"])
        a["seconds_to_resolve"] = seconds_between(a["raised_at"], a["resolved_at"])
    items = [found[k] for k in sorted(found)]
    return {"alerts": items, "summary": _alert_summary(items)}


def _alert_summary(items: Sequence[Record]) -> Record:
    def median(values: list[float]) -> float | None:
        if not values:
            return None
        ordered = sorted(values)
        middle = len(ordered) // 2
        if len(ordered) % 2:
            return ordered[middle]
        return round((ordered[middle - 1] + ordered[middle]) / 2, 3)

    acks = [a["seconds_to_acknowledge"] for a in items if a["seconds_to_acknowledge"] is not None]
    fixes = [a["seconds_to_resolve"] for a in items if a["seconds_to_resolve"] is not None]
    return {
        "raised": len(items),
        "acknowledged": len(acks),
        "resolved": len(fixes),
        "open": sum(1 for a in items if a["resolved_at"] is None),
        "median_seconds_to_acknowledge": median(acks),
        "median_seconds_to_resolve": median(fixes),
    }


# -- retraining ---------------------------------------------------------------------------------------
def retraining(entries: Sequence[Entry]) -> Record:
    """Every version with its lineage, and each retraining run with the window it learnt from."""
    versions = []
    for e in _of(entries, "version.registered"):
        p = e.payload
        lineage = p.get("lineage") or {}
        versions.append(
            {
                "version": p.get("version"),
                "sha256": p.get("sha256"),
                "flavor": p.get("flavor"),
                "status": p.get("status"),
                "training_data": lineage.get("training_data"),
                "code": lineage.get("code"),
                "parameters": lineage.get("parameters"),
                "metadata": lineage.get("metadata"),
                "ledger": e.ref(),
            }
        )
    runs = [
        {**dict(e.payload), "outcome": e.action.removeprefix("retrain."), "ledger": e.ref()}
        for e in _of(entries, "retrain.completed", "retrain.failed")
    ]
    references = [
        {
            "version": e.payload.get("version"),
            "origin": e.payload.get("origin"),
            "fingerprint": e.payload.get("fingerprint"),
            "rows": e.payload.get("rows"),
            "labelled": e.payload.get("labelled"),
            "ledger": e.ref(),
        }
        for e in _of(entries, "reference.set")
    ]
    return {"versions": versions, "runs": runs, "references": references}
