"""The terms in force: which text of a charter every command judges and acts under.

:func:`terms_in_force` is what :meth:`charter.workspace.Workspace.load` returns. It compares the
file with the accepted text (table ``charter_terms``) and records every difference at once as a
change (table ``charter_changes``) with its field-level diff:

* no accepted text yet (first sight): the file becomes the terms in force (the ledger gets
  ``charter.created`` with its sha256 when a command first acts under it);
* the file equals the terms: they are in force; a change still pending is withdrawn;
* the file differs in a governed field (:data:`~charter.governance.diff.GOVERNED`) while a
  version is live: the change is **pending** and the accepted text stays in force, with a
  notice, until the owner (or a delegate, except for ``owner``) accepts it;
* any other difference is **applied** at once, and recorded all the same.

Ledger actions: ``charter.change_detected`` (diff, status), ``charter.terms_accepted``
(``sha256`` of the text now in force, how and by whom), ``charter.change_superseded`` and
``charter.change_withdrawn``. The text is stored as written, ``${ENV}`` references unexpanded, but
with every literal secret concealed (:mod:`charter.spec.secrets`); its ``sha256`` is over that
stored text, so ``charter audit verify`` checks it as it checks any other. When the accepted text
is in force, its secrets are revealed from the file as it is now.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from charter.audit import state
from charter.errors import CharterError
from charter.governance.diff import describe, governed_sections, text_diff
from charter.spec.loader import LoadedCharter, parse_charter
from charter.spec.secrets import reveal_with
from charter.store import Session, versions
from charter.store import terms as store
from charter.store.tables import CharterChange, CharterTerms

if TYPE_CHECKING:
    from charter.workspace import Workspace

#: A pending change needs ``owner`` (it changes the owner) or ``owner_or_delegate``.
OWNER, OWNER_OR_DELEGATE = "owner", "owner_or_delegate"


@dataclass(frozen=True)
class _Seen:
    """What the store says about a charter's file, read without writing."""

    terms: CharterTerms | None
    pending: list[CharterChange]
    match: CharterChange | None  # the recorded change from the terms to this very file text


def terms_in_force(ws: Workspace, loaded: LoadedCharter) -> LoadedCharter:
    """The charter every command must use, given its file as read now (see the module doc)."""
    name = loaded.charter.name
    with ws.db.read() as session:
        seen = _look(session, name, loaded.sha256)
    if not _needs_write(seen, loaded.sha256):
        return _result(ws, loaded, seen)
    with ws.db.session() as session:
        ws.db.serialize(session, f"charter-terms:{name}")
        _reconcile(ws, session, loaded)
        seen = _look(session, name, loaded.sha256)
    return _result(ws, loaded, seen)


def terms_in_force_of(
    ws: Workspace, files: Sequence[LoadedCharter]
) -> list[LoadedCharter | CharterError]:
    """:func:`terms_in_force` of many charters, read in one transaction with one query per kind
    (the overview). A charter whose stored terms do not match the ledger, or whose file needs a
    change recorded, goes through :func:`terms_in_force` alone: its error is its own answer."""
    names = [f.charter.name for f in files]
    with ws.db.read() as session:
        rows = store.of_charters(session, names)
        tampered = {
            str(p.key["charter"]) for p in state.problems(session, state.CHARTER_TERMS, rows)
        }
        terms = {t.charter: t for t in rows}
        pending: dict[str, list[CharterChange]] = {n: [] for n in names}
        for change in store.pending_of_charters(session, names):
            pending[change.charter].append(change)
        seen: dict[str, _Seen] = {}
        for f in files:
            name, held = f.charter.name, terms.get(f.charter.name)
            if name in tampered or (held is not None and held.sha256 != f.sha256):
                continue  # rare: read alone below
            seen[name] = _Seen(held, pending[name], None)
    out: list[LoadedCharter | CharterError] = []
    for f in files:
        found = seen.get(f.charter.name)
        try:
            if found is None or _needs_write(found, f.sha256):
                out.append(terms_in_force(ws, f))
            else:
                out.append(_result(ws, f, found))
        except CharterError as exc:
            out.append(exc)
    return out


def accepted_terms(ws: Workspace, session: Session, name: str) -> LoadedCharter | None:
    """The accepted text of ``name`` parsed, read in the caller's transaction (None: never seen)."""
    terms = store.get(session, name)
    if terms is None:
        return None
    state.check(session, state.CHARTER_TERMS, [terms])
    return _parse(terms, source=f"accepted terms of {name}")


def accept_terms(
    ws: Workspace,
    session: Session,
    name: str,
    text: str,
    sha256: str,
    *,
    by: str,
    how: str,
    change_id: int | None,
) -> None:
    """Make ``text`` the terms in force and append ``charter.terms_accepted`` with its sha256."""
    terms = store.get(session, name)
    previous = terms.sha256 if terms is not None else None
    now = datetime.now(UTC)
    if terms is None:
        terms = CharterTerms(charter=name, sha256=sha256, content=text, accepted_by=by)
        store.add(session, terms)
    store.set_accepted(session, terms, sha256=sha256, text=text, by=by, at=now, change_id=change_id)
    entry = {
        "sha256": sha256,
        "previous_sha256": previous,
        "accepted_by": by,
        "how": how,
        "change_id": change_id,
    }
    ws.ledger.append(
        session, "charter.terms_accepted", entry, actor=ws.context.who_for_record, charter=name
    )


def has_live_version(session: Session, name: str) -> bool:
    return versions.has_live(session, name)


def close_change(
    ws: Workspace, session: Session, row: CharterChange, status: str, by: str, reason: str | None
) -> None:
    """Close ``row`` as ``status`` and append ``charter.change_<status>``."""
    store.close_change(session, row, status, by=by, at=datetime.now(UTC), reason=reason)
    entry = {"change_id": row.id, "sha256": row.to_sha256, "by": by, "reason": reason}
    ws.ledger.append(
        session,
        f"charter.change_{status}",
        entry,
        actor=ws.context.who_for_record,
        charter=row.charter,
    )


# -- reading ------------------------------------------------------------------------------------
def _look(session: Session, name: str, file_sha: str) -> _Seen:
    terms = store.get(session, name)
    if terms is not None:  # the terms a decision is judged by must be the ones the ledger vouches
        state.check(session, state.CHARTER_TERMS, [terms])
    pending = store.changes(session, name, "pending")
    match = None
    if terms is not None and terms.sha256 != file_sha:
        match = store.latest_open_change(session, name, terms.sha256, file_sha)
    return _Seen(terms, pending, match)


def _needs_write(seen: _Seen, file_sha: str) -> bool:
    if seen.terms is None:
        return True
    if seen.terms.sha256 == file_sha:
        return bool(seen.pending)  # the file went back: withdraw what it no longer asks for
    if seen.match is None:
        return True
    return any(p.id != seen.match.id for p in seen.pending)


# -- writing ------------------------------------------------------------------------------------
def _reconcile(ws: Workspace, session: Session, loaded: LoadedCharter) -> None:
    name, file_sha = loaded.charter.name, loaded.sha256
    seen = _look(session, name, file_sha)
    if seen.terms is None:
        # No ledger entry of its own: the first command acting under the charter appends
        # ``charter.created`` with this sha256, and every later change names it as its origin.
        store.add(
            session,
            CharterTerms(
                charter=name,
                sha256=file_sha,
                content=loaded.text,
                accepted_by=f"first sight ({ws.context.who_for_record})",
                accepted_at=datetime.now(UTC),
                change_id=None,
            ),
        )
        return
    keep = seen.match.id if seen.match is not None else None
    for row in seen.pending:
        if row.id != keep:
            status = "withdrawn" if seen.terms.sha256 == file_sha else "superseded"
            why = (
                "the file is back to the terms in force"
                if status == "withdrawn"
                else "the file changed again"
            )
            close_change(ws, session, row, status, ws.context.who_for_record, why)
    if seen.terms.sha256 == file_sha or seen.match is not None:
        return
    _detect(ws, session, loaded, seen.terms)


def _detect(ws: Workspace, session: Session, loaded: LoadedCharter, terms: CharterTerms) -> None:
    name = loaded.charter.name
    diff = text_diff(terms.content, loaded.text)
    governed = governed_sections(diff)
    waits = bool(governed) and has_live_version(session, name)
    requires = (OWNER if "owner" in governed else OWNER_OR_DELEGATE) if waits else "none"
    row = CharterChange(
        charter=name,
        status="pending" if waits else "applied",
        from_sha256=terms.sha256,
        to_sha256=loaded.sha256,
        content=loaded.text,
        diff=[c.to_dict() for c in diff],
        governed=governed,
        requires=requires,
        detected_at=datetime.now(UTC),
        detected_by=ws.context.who_for_record,
    )
    store.add_change(session, row)
    entry = {
        "change_id": row.id,
        "status": row.status,
        "from_sha256": row.from_sha256,
        "to_sha256": row.to_sha256,
        "file": loaded.source,
        "diff": row.diff,
        "governed": governed,
        "requires": requires,
    }
    ws.ledger.append(
        session, "charter.change_detected", entry, actor=ws.context.who_for_record, charter=name
    )
    if waits:
        return
    how = "no_live_version" if governed else "ungoverned_fields"
    store.mark_decided(session, row, by=ws.context.who_for_record, at=row.detected_at)
    accept_terms(
        ws,
        session,
        name,
        loaded.text,
        loaded.sha256,
        by=ws.context.who_for_record,
        how=how,
        change_id=row.id,
    )


# -- the answer ---------------------------------------------------------------------------------
def _result(ws: Workspace, loaded: LoadedCharter, seen: _Seen) -> LoadedCharter:
    terms = seen.terms
    if terms is None or terms.sha256 == loaded.sha256:
        return loaded
    name = loaded.charter.name
    match = seen.match
    if match is not None:
        ws.notify(_notice(name, loaded.source, match, terms))
    return _parse(terms, source=loaded.source, secrets=loaded.secrets)


def _notice(name: str, source: str, change: CharterChange, terms: CharterTerms) -> str:
    diff = describe(text_diff(terms.content, change.content))
    kept = f"charter keeps judging and acting on the accepted terms (sha256 {terms.sha256[:12]})"
    if change.status == "rejected":
        return (
            f"notice: {source} differs from the terms in force of {name}: change {change.id} "
            f"({diff}) was rejected by {change.decided_by}; {kept}. Revert the file, or edit it "
            "again to propose a new change."
        )
    who = "the owner" if change.requires == OWNER else "the owner or a delegate"
    return (
        f"notice: {source} has a change to {name} waiting for {who}: change {change.id} "
        f"({diff}); {kept}. Decide: charter accept-change {name} {change.id} --as EMAIL | "
        f"charter reject-change {name} {change.id} --as EMAIL"
    )


def _parse(
    terms: CharterTerms, *, source: str, secrets: Mapping[str, str] | None = None
) -> LoadedCharter:
    """The stored terms parsed; ``secrets`` (the file's literals) revealed where the file holds
    them. A secret the file no longer holds stays a reference: it fails where it is used."""
    text = reveal_with(terms.content, secrets or {}, charter=terms.charter, strict=False)
    parsed = parse_charter(text, source=source)
    return parsed.model_copy(update={"sha256": terms.sha256})
