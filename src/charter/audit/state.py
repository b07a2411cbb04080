"""State bound to the signed ledger: rows a decision depends on, checked against it at use.

A row of the metadata database can be changed by anyone with database access; the ledger cannot
be changed without breaking its signed chain. So every write of state that a decision depends on
(a version's status and artifact hash, an owner's pre-authorisation, a suspension) puts a *binding* in the
ledger entry that records the write: the row's key and the SHA-256 of its bound columns. At use
the row is hashed again and compared with its latest binding; a row changed behind charter's back
is refused with :class:`~charter.errors.StateTamperedError`, and ``charter audit verify`` checks
every bound row the same way.

A :class:`Binding` names the table, its key columns, the columns it binds and the ledger actions
whose entries carry it. Binding more state is one more entry in :data:`BINDINGS` plus a
:func:`seal` in the payload of the entry that records each write and a :func:`check` where the
row is used. The first key column is the charter, recorded as the entry's ``charter``, so the
latest binding of a row is found among that charter's entries.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from charter.audit import state_legacy
from charter.audit.hashing import canonical_json, is_intact
from charter.errors import StateTamperedError
from charter.store import Session
from charter.store import ledger as store
from charter.store.tables import (
    Base,
    CharterSuspension,
    CharterTerms,
    ModelVersion,
    PromotionAuthorization,
)

STATE_KEY = "state"  # the payload field of a ledger entry that carries its bindings


@dataclass(frozen=True)
class Binding:
    """State of ``table`` bound to the ledger: ``columns`` of the row with key ``keys``."""

    name: str
    table: type[Base]
    keys: tuple[str, ...]  # the first is the charter
    columns: tuple[str, ...]
    actions: tuple[str, ...]  # the ledger actions whose entries carry this binding
    noun: str  # how a message names one row, formatted with its key columns
    # Rows older than bindings: their expected view derived from the ledger, and a row's view.
    legacy: Callable[[state_legacy.Entries], dict[str, dict[str, Any]]] | None = None
    legacy_view: Callable[[Any], dict[str, Any]] | None = None
    # A row the ledger knows nothing of yet is not refused (it vouches for nothing until the
    # ledger records it: the accepted terms of a charter no version was registered under).
    unrecorded_ok: bool = False
    # Other values of bound columns that the ledger may have bound for the same state (an
    # artifact's absolute URI, which migration 0015 turned into its key in the store).
    recorded_forms: Callable[[Session, Any], list[dict[str, Any]]] | None = None

    def key_of(self, row: Any) -> dict[str, Any]:
        return {name: getattr(row, name) for name in self.keys}

    def describe(self, key: Mapping[str, Any]) -> str:
        return self.noun.format(**key)


def _artifact_as_registered(session: Session, row: Any) -> list[dict[str, Any]]:
    """The absolute URI a version's registration recorded, when the row now holds its key."""
    key = str(row.artifact_uri)
    if "://" in key or key.startswith("/"):
        return []
    entries = store.charter_entries_of(session, row.charter, "version.registered")
    for entry in entries:
        payload = json.loads(entry.payload)
        uri = payload.get("artifact_uri")
        if payload.get("version") == row.version and isinstance(uri, str) and is_intact(entry):
            return [{"artifact_uri": uri}] if uri.endswith("/" + key) else []
    return []


MODEL_VERSION = Binding(
    name="model_version",
    table=ModelVersion,
    keys=("charter", "version"),
    columns=("status", "sha256", "flavor", "artifact_uri"),
    actions=("version.registered", "version.status_changed"),
    noun="{charter} version {version}",
    legacy=state_legacy.versions,
    legacy_view=state_legacy.version_view,
    recorded_forms=_artifact_as_registered,
)
PROMOTION_AUTHORIZATION = Binding(
    name="promotion_authorization",
    table=PromotionAuthorization,
    keys=("charter", "id"),
    columns=("granted_by", "terms_sha256", "charter_sha256", "revoked_at"),
    actions=("promotion.authorized", "promotion.authorization_revoked"),
    noun="the pre-authorisation {id} of {charter}",
    legacy=state_legacy.authorizations,
    legacy_view=state_legacy.authorization_view,
)
CHARTER_TERMS = Binding(
    name="charter_terms",
    table=CharterTerms,
    keys=("charter",),
    columns=("sha256", "content"),
    actions=("charter.terms_accepted", "charter.created", "charter.changed"),
    noun="the accepted terms of {charter}",
    legacy=state_legacy.terms,
    legacy_view=state_legacy.terms_view,
    unrecorded_ok=True,
)
CHARTER_SUSPENSION = Binding(
    name="charter_suspension",
    table=CharterSuspension,
    keys=("charter", "id"),
    columns=("suspended_by", "suspended_at", "reason", "resumed_by", "resumed_at"),
    actions=("charter.suspended", "charter.resumed"),
    noun="the suspension {id} of {charter}",
)
BINDINGS: tuple[Binding, ...] = (
    MODEL_VERSION,
    PROMOTION_AUTHORIZATION,
    CHARTER_TERMS,
    CHARTER_SUSPENSION,
)


@dataclass(frozen=True)
class StateProblem:
    """One bound row that does not match the ledger."""

    binding: str
    key: dict[str, Any]
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"binding": self.binding, "key": self.key, "reason": self.reason}


def _value(value: Any) -> Any:
    """A column value as bound: datetimes as UTC ISO text (the column type hands them back in UTC)."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(timespec="microseconds")
    return value


def digest(binding: Binding, row: Any, **override: Any) -> str:
    """The SHA-256 of the row's bound columns (with ``override`` in place of some of them)."""
    values = {name: override.get(name, getattr(row, name)) for name in binding.columns}
    state = {name: _value(value) for name, value in values.items()}
    return hashlib.sha256(canonical_json([binding.name, state]).encode()).hexdigest()


def _forms(session: Session, binding: Binding, row: Any) -> list[dict[str, Any]]:
    return binding.recorded_forms(session, row) if binding.recorded_forms else []


def seal(binding: Binding, row: Any) -> dict[str, Any]:
    """The binding of ``row`` as it is now, to put in the payload of the entry recording it."""
    return {"binding": binding.name, "key": binding.key_of(row), "digest": digest(binding, row)}


def bound(payload: Mapping[str, Any], *seals: Mapping[str, Any]) -> dict[str, Any]:
    """``payload`` carrying ``seals`` under ``state``."""
    return {**payload, STATE_KEY: [dict(s) for s in seals]}


# -- checking -----------------------------------------------------------------------------------
def latest_bindings(
    session: Session, binding: Binding, charter: str
) -> dict[str, tuple[int, str | None]]:
    """The latest bound digest of every row of ``charter``: canonical key -> (seq, digest).

    The digest is None when the entry carrying it no longer matches its own hash (it was edited).
    """
    return latest_bindings_of(session, binding, [charter])[charter]


def latest_bindings_of(
    session: Session, binding: Binding, charters: Sequence[str]
) -> dict[str, dict[str, tuple[int, str | None]]]:
    """:func:`latest_bindings` of every charter of ``charters``, in one query."""
    found: dict[str, dict[str, tuple[int, str | None]]] = {c: {} for c in charters}
    if not charters:
        return found
    rows = store.charters_entries(
        session, list(found), binding.actions, f'"binding":"{binding.name}"'
    )
    for entry in rows:
        intact = is_intact(entry)
        try:
            seals = json.loads(entry.payload).get(STATE_KEY) or []
        except (ValueError, AttributeError):
            continue
        mine = found[str(entry.charter)]
        for item in seals:
            if isinstance(item, dict) and item.get("binding") == binding.name:
                key = canonical_json(item.get("key"))
                mine[key] = (entry.seq, str(item.get("digest")) if intact else None)
    return found


def legacy_views(session: Session, binding: Binding, charter: str) -> dict[str, dict[str, Any]]:
    """What the ledger recorded of rows written before bindings existed (see state_legacy)."""
    return legacy_views_of(session, binding, [charter])[charter]


def legacy_views_of(
    session: Session, binding: Binding, charters: Sequence[str]
) -> dict[str, dict[str, dict[str, Any]]]:
    """:func:`legacy_views` of every charter of ``charters``, in one query."""
    if binding.legacy is None or not charters:
        return {c: {} for c in charters}
    rows = store.charters_entries(session, list(charters), binding.actions, None)
    entries: dict[str, list[tuple[str, dict[str, Any]]]] = {c: [] for c in charters}
    for entry in rows:
        if not is_intact(entry):
            continue  # an edited entry vouches for nothing
        payload = json.loads(entry.payload)
        entries[str(entry.charter)].append(
            (entry.action, {**payload, "__charter__": entry.charter})
        )
    return {c: binding.legacy(found) for c, found in entries.items()}


def _legacy_problem(
    session: Session,
    binding: Binding,
    row: Any,
    cache: dict[str, dict[str, dict[str, Any]]],
    charters: Sequence[str],
) -> StateProblem | bool | None:
    """For a row without a binding: None when it matches what the ledger recorded of it,
    a problem when it does not, False when the ledger recorded nothing of it."""
    if binding.legacy_view is None:
        return False
    key = binding.key_of(row)
    charter = str(key[binding.keys[0]])
    if charter not in cache:
        cache.update(legacy_views_of(session, binding, charters))  # all, once
    expected = cache[charter].get(canonical_json(key))
    if expected is None:
        return False
    view = binding.legacy_view(row)
    if expected == view or any(expected == view | f for f in _forms(session, binding, row)):
        return None
    return StateProblem(
        binding.name,
        key,
        f"{binding.describe(key)} was changed outside charter: it no longer matches what the "
        "audit ledger recorded of it",
    )


def problems(session: Session, binding: Binding, rows: Iterable[Any]) -> list[StateProblem]:
    """Every row of ``rows`` that does not match its latest binding in the ledger."""
    rows = list(rows)
    # One query for the bindings of every charter the rows belong to (the overview checks all).
    charters = sorted({str(binding.key_of(row)[binding.keys[0]]) for row in rows})
    cache = latest_bindings_of(session, binding, charters)
    legacy: dict[str, dict[str, dict[str, Any]]] = {}
    found: list[StateProblem] = []
    for row in rows:
        key = binding.key_of(row)
        charter = str(key[binding.keys[0]])
        latest = cache[charter].get(canonical_json(key))
        what = binding.describe(key)
        if latest is None:
            older = _legacy_problem(session, binding, row, legacy, charters)
            if older is None:
                continue
            if isinstance(older, StateProblem):
                found.append(older)
                continue
            if binding.unrecorded_ok:
                continue
            reason = (
                f"{what} has no binding in the audit ledger: the row was written outside charter"
            )
        elif latest[1] is None:
            reason = f"the ledger entry {latest[0]} binding {what} was edited"
        elif latest[1] != digest(binding, row) and all(
            latest[1] != digest(binding, row, **form) for form in _forms(session, binding, row)
        ):
            changed = ", ".join(binding.columns)
            reason = (
                f"{what} was changed outside charter: its {changed} no longer match what the "
                f"audit ledger recorded at entry {latest[0]}"
            )
        else:
            continue
        found.append(StateProblem(binding.name, key, reason))
    return found


def check(session: Session, binding: Binding, rows: Sequence[Any]) -> None:
    """Refuse with :class:`StateTamperedError` when any of ``rows`` does not match the ledger."""
    found = problems(session, binding, rows)
    if found:
        raise StateTamperedError(
            found[0].reason + (f" (and {len(found) - 1} more)" if len(found) > 1 else ""),
            hint="Nothing was done with it. Run `charter audit verify` for every mismatch, and "
            "restore the row from a backup or the audit ledger.",
        )


def missing(session: Session, binding: Binding, rows: Iterable[Any]) -> list[StateProblem]:
    """Every row the ledger bound that is not among ``rows`` (deleted behind charter's back:
    no command deletes a bound row)."""
    present = {canonical_json(binding.key_of(row)) for row in rows}
    entries = store.seq_payloads_containing(session, binding.actions, f'"binding":"{binding.name}"')
    last: dict[str, tuple[int, dict[str, Any]]] = {}
    for seq, payload in entries:
        try:
            seals = json.loads(payload).get(STATE_KEY) or []
        except (ValueError, AttributeError):
            continue  # an unreadable entry is the chain check's to report
        for item in seals:
            if isinstance(item, dict) and item.get("binding") == binding.name:
                key = item.get("key")
                if isinstance(key, dict):
                    last[canonical_json(key)] = (int(seq), key)
    return [
        StateProblem(
            binding.name,
            key,
            f"{binding.describe(key)} that the audit ledger bound at entry {seq} is missing "
            "from the database: it was deleted outside charter",
        )
        for canonical, (seq, key) in last.items()
        if canonical not in present
    ]


def audit_state(session: Session) -> tuple[int, list[StateProblem]]:
    """Check every row of every binding, and that no bound row is gone: (rows checked,
    problems), for ``charter audit verify``."""
    checked, found = 0, []
    for binding in BINDINGS:
        rows = store.every_row(session, binding.table)
        checked += len(rows)
        found.extend(problems(session, binding, rows))
        found.extend(missing(session, binding, rows))
    return checked, found
