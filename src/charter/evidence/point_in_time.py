"""``--as-of T`` on ``versions``, ``decisions`` and ``status``: what was true at ``T``, from the ledger.

The stored rows (a version's status, a decision's state, the windows) say what is true now; the
ledger says what happened and when. Cut where an evidence pack is cut (the last head signed at
or before ``T``: what the store had committed then), the charter's entries are replayed:

- a version is in the list when its ``version.registered`` entry is; its status is the ``to`` of
  its last ``version.status_changed`` by then (promotion, rollback, retirement all write one);
- a decision is in the list when its ``decision.opened`` entry is; its state follows
  ``decision.approved`` / ``rejected`` / ``withdrawn`` / ``stalled`` / ``escalated``;
- the terms in force are those of the last ``charter.created`` / ``charter.terms_accepted``,
  rebuilt as a pack rebuilds them (:mod:`charter.evidence.terms`); alerts follow ``alert.*``,
  suspension ``charter.suspended`` / ``resumed``, verdicts ``window.evaluated``.

What the ledger does not hold is said, never guessed: the evidence of a window (metrics, drift,
quality) is kept only in its stored row, which a later ``charter monitor`` may re-judge.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from charter.audit.excerpt import Excerpt, head_at, payload_of, read_excerpt
from charter.errors import EvidenceError
from charter.evidence import records
from charter.evidence.records import Entry
from charter.evidence.terms import terms_at
from charter.identity import check_charter_name
from charter.registry.versions import list_versions
from charter.schemas import lifecycle as lifecycle_schemas
from charter.schemas import point_in_time as schemas
from charter.schemas.versions import Version
from charter.store import Session, ledger
from charter.store import terms as store_terms
from charter.workspace import Workspace

FLAG = "--as-of"
LIVE = "live"


@dataclass(frozen=True)
class LedgerAt:
    """The charter's ledger entries up to the head signed last at or before ``as_of``, and the
    charter texts the store keeps (to rebuild the terms in force)."""

    as_of: datetime
    head_seq: int
    signed_at: str
    entries: tuple[Entry, ...]
    texts: Mapping[str, str]
    changes: Sequence[Mapping[str, Any]]


def entries_of(excerpt: Excerpt, name: str) -> list[Entry]:
    """The excerpt's entries about charter ``name``, payloads parsed."""
    return [
        Entry(
            int(e["seq"]),
            str(e["recorded_at"]),
            str(e["actor"]),
            str(e["action"]),
            e["charter"],
            payload_of(e),
        )
        for e in excerpt.entries
        if e["charter"] == name
    ]


def stored_texts(session: Session, name: str) -> tuple[dict[str, str], list[dict[str, Any]]]:
    """The charter texts the store keeps (by SHA-256) and every change's diff, oldest first."""
    texts: dict[str, str] = {}
    changes = []
    for row in store_terms.changes(session, name, None):
        texts[row.to_sha256] = row.content
        changes.append(
            {"from_sha256": row.from_sha256, "to_sha256": row.to_sha256, "diff": row.diff}
        )
    held = store_terms.get(session, name)
    if held is not None:
        texts[held.sha256] = held.content
    return texts, changes


def ledger_at(ws: Workspace, name: str, as_of: datetime) -> LedgerAt:
    """The ledger as committed at ``as_of``; refused (naming ``--as-of``) for a moment in the
    future or before the ledger's first entry."""
    check_charter_name(name)
    ws.charter_path(name)
    moment = as_of.replace(tzinfo=UTC) if as_of.tzinfo is None else as_of.astimezone(UTC)
    now = ws.context.clock()
    if moment > now:
        raise EvidenceError(
            f"{FLAG} {moment.isoformat()} is in the future (now is {now.isoformat()})",
            hint="Name a moment that has passed; without --as-of the command shows what is true now.",
        )
    with ws.ledger.snapshot() as session:
        first = ledger.first_recorded_at(session)
        if first is None or moment < datetime.fromisoformat(first):
            since = "the ledger is empty" if first is None else f"its first entry is from {first}"
            raise EvidenceError(
                f"{FLAG} {moment.isoformat()} is before the ledger's first entry ({since})",
                hint="Nothing was recorded then; name a later moment.",
            )
        head = head_at(session, moment)
        if head is None:
            raise EvidenceError(
                f"{FLAG} {moment.isoformat()}: the ledger had committed nothing by then "
                f"(its first entry, recorded {first}, was signed later)",
                hint="Name a moment a little later.",
            )
        excerpt = read_excerpt(session, head)
        texts, changes = stored_texts(session, name)
    return LedgerAt(
        moment, int(head.seq), str(head.signed_at), tuple(entries_of(excerpt, name)), texts, changes
    )


# -- versions ------------------------------------------------------------------------------------
def versions_at(ws: Workspace, name: str, as_of: datetime) -> list[Version]:
    """Each version registered by ``as_of``, oldest first, with its status then.

    ``artifact_uri`` is where the artifact is now (the ledger records its key, not its place).
    """
    return versions_in(ws, ledger_at(ws, name, as_of), name)


def versions_in(ws: Workspace, at: LedgerAt, name: str) -> list[Version]:
    """The versions registered by the cut of ``at``, with their status then."""
    now = {v.version: v for v in list_versions(ws, name)}
    found: dict[int, dict[str, Any]] = {}
    for e in at.entries:
        p = e.payload
        if e.action == "version.registered":
            number = int(p["version"])
            stored = now.get(number)
            found[number] = {
                "charter": name,
                "version": number,
                "sha256": p.get("sha256"),
                "flavor": p.get("flavor"),
                "status": p.get("status"),
                "artifact_uri": stored.artifact_uri if stored else str(p.get("artifact_uri")),
                "created_at": datetime.fromisoformat(e.recorded_at),
                "created_by": e.actor,
                "status_changed_at": datetime.fromisoformat(e.recorded_at),
                "lineage": dict(p.get("lineage") or {}),
                "as_of": at.as_of,
            }
        elif e.action == "version.status_changed" and int(p["version"]) in found:
            row = found[int(p["version"])]
            row["status"] = p.get("to")
            row["status_changed_at"] = datetime.fromisoformat(e.recorded_at)
    return [Version(**found[k]) for k in sorted(found)]


# -- decisions -----------------------------------------------------------------------------------
def decisions_at(
    ws: Workspace, name: str, as_of: datetime, *, status: str | None = "open"
) -> list[lifecycle_schemas.Decision]:
    """The decisions opened by ``as_of`` (those in ``status`` then; None: all), oldest first."""
    at = ledger_at(ws, name, as_of)
    extra: dict[int, dict[str, Any]] = {}
    for e in at.entries:
        p = e.payload
        if "decision_id" not in p:
            continue
        item = extra.setdefault(int(p["decision_id"]), {"stalled_at": None, "escalations": 0})
        if e.action in ("decision.opened", "decision.approved", "decision.rejected"):
            if p.get("readiness") is not None:
                item["readiness"] = dict(p["readiness"])
        elif e.action == "decision.stalled":
            item["stalled_at"] = datetime.fromisoformat(e.recorded_at)
        elif e.action == "decision.escalated":
            item["escalations"] = int(p.get("step") or item["escalations"] + 1)
    out = []
    for d in records.decisions(at.entries)["decisions"]:
        if d["opened_at"] is None or (status is not None and d["status"] != status):
            continue  # an entry about a decision opened before the cut but not with it
        more = extra[d["decision_id"]]
        out.append(
            lifecycle_schemas.Decision(
                id=d["decision_id"],
                charter=name,
                version=int(d["version"]),
                status=d["status"],
                opened_at=datetime.fromisoformat(d["opened_at"]),
                opened_by=d["opened_by"],
                waiver=d["waiver"],
                decided_at=_moment(d["decided_at"]),
                decided_by=d["decided_by"],
                accepted_risk=d["accepted_risk"],
                reason=d["reason"],
                automatic=bool(d["automatic"]),
                stalled_at=more["stalled_at"],
                escalations=more["escalations"],
                readiness=more.get("readiness", {}),
                as_of=at.as_of,
            )
        )
    return out


def _moment(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


# -- status --------------------------------------------------------------------------------------
NOT_IN_THE_LEDGER = [
    "window evidence (metrics, drift, data quality, rule values): the ledger records each "
    "verdict (windows_judged), the evidence only its stored row, which a later monitor may "
    "re-judge; `windows` is therefore empty",
    "scoring failures: they are not ledger entries",
    "pending changes' diffs: only their ids (charter.change_* entries); `charter changes` shows "
    "the stored rows as they are now",
    "an entry recorded before as_of whose transaction was signed after it (not yet committed then)",
]


def point_in_time(ws: Workspace, name: str, as_of: datetime) -> schemas.PointInTime:
    """The live version, the terms in force (owner), suspension, open alerts, judged windows and
    pending changes at ``as_of``."""
    at = ledger_at(ws, name, as_of)
    live = [v.version for v in versions_in(ws, at, name) if v.status == LIVE]
    history = records.charter_history(at.entries)
    sha = records.terms_sha_at_head(history)
    found = terms_at(sha, at.texts, at.changes)
    owner = None
    if found.charter is not None:
        owner = f"{found.charter.owner.name} <{found.charter.owner.email}>"
    stop = [e for e in at.entries if e.action in ("charter.suspended", "charter.resumed")]
    held = stop[-1] if stop and stop[-1].action == "charter.suspended" else None
    missing = list(NOT_IN_THE_LEDGER)
    if found.how == "reconstructed":
        missing.append(
            "the charter file's comments and layout (its fields were rebuilt from diffs)"
        )
    elif found.how == "unknown":
        missing.append(
            "the terms in force: the store no longer keeps a text they can be rebuilt from"
        )
    return schemas.PointInTime(
        as_of=at.as_of,
        head_seq=at.head_seq,
        signed_at=at.signed_at,
        live_version=live[-1] if live else None,
        owner=owner,
        terms_sha256=sha,
        terms_found=found.how,
        suspended=held is not None,
        suspended_by=None if held is None else str(held.payload.get("by", held.actor)),
        suspension_reason=None if held is None else held.payload.get("reason"),
        open_alerts=[
            schemas.OpenAlert(**{k: a[k] for k in schemas.OpenAlert.model_fields})
            for a in records.alerts(at.entries)["alerts"]
            if a["raised_at"] is not None and a["resolved_at"] is None
        ],
        windows_judged=_last_verdicts(at.entries),
        pending_change_ids=[c["change_id"] for c in history["changes"] if c["status"] == "pending"],
        reconstructed_from={
            "live_version": ["version.registered", "version.status_changed"],
            "owner": ["charter.created", "charter.terms_accepted", "charter texts by SHA-256"],
            "suspended": ["charter.suspended", "charter.resumed"],
            "open_alerts": ["alert.raised", "alert.acked", "alert.resolved"],
            "windows_judged": ["window.evaluated"],
            "pending_change_ids": ["charter.change_detected", "charter.change_*"],
        },
        not_reconstructed=missing,
    )


def _last_verdicts(entries: Sequence[Entry]) -> list[schemas.JudgedWindow]:
    """Per version and window, the verdict recorded last (a re-judged window once)."""
    last: dict[tuple[str, str], dict[str, Any]] = {}
    for item in records.verdict_history(entries):
        last[(str(item["version"]), str(item["start"]))] = item
    return [
        schemas.JudgedWindow(
            version=None if v["version"] is None else str(v["version"]),
            start=v["start"],
            end=v["end"],
            verdict=v["verdict"],
            previous=v["previous"],
            ledger=schemas.LedgerRef(**v["ledger"]),
        )
        for v in last.values()
    ]
