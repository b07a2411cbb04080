"""The hash-chained audit ledger.

Each entry stores the hash of the one before it, so editing, deleting, inserting or reordering
rows breaks the chain. Because anyone with database access could recompute the whole chain, the
head is also *signed*: at the end of every transaction that appended entries, a checkpoint with an
HMAC of the new head (made with a key kept outside the database) is written in the same
transaction. Checkpoints chain to each other, so deleting one is caught too; and since every
committed append is signed, an entry after the last checkpoint can only have been forged.

Concurrent writers are serialised (``BEGIN IMMEDIATE`` on SQLite, an advisory lock on PostgreSQL),
and ``prev_hash`` is unique, so the chain can never fork.

Verifying is repeated on every view of an audit page, so a ledger remembers what it verified
(:class:`_Verified`): the entries up to the last signed checkpoint, with a SHA-256 over every
column of every one of them and of their checkpoints, as read. The next verification reads those
rows again and compares that digest: when one byte differs, anywhere, the whole chain is checked
again; when none does, only the entries after that checkpoint are. The checkpoints' signatures
are checked every time (the keys live outside the database). So remembering makes a view
cheaper, never a tampered ledger verified.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from charter.audit.hashing import canonical_json, entry_hash, is_intact
from charter.audit.keys import verifiers
from charter.audit.signing import AuditKey, checkpoint_message
from charter.schemas import audit as schemas
from charter.store import Session
from charter.store import ledger as store
from charter.store.database import Database
from charter.store.tables import AuditEntry

GENESIS = "0" * 64
_PENDING = "charter.ledger.pending_head"
_VERIFY_CHUNK = 5_000
_ENTRY_COLUMNS = store.ENTRY_COLUMNS


@dataclass(frozen=True)
class Event:
    """Something that happened, to be appended."""

    action: str
    payload: Mapping[str, Any]
    charter: str | None = None


@dataclass(frozen=True)
class BadEntry:
    seq: int
    reason: str


@dataclass(frozen=True)
class VerifyReport:
    """``ok`` only when the chain, the checkpoints and every bound state row are as written.

    ``state_problems`` holds one ``{binding, key, reason}`` per row (version, pre-authorisation)
    that no longer matches its binding in the ledger; ``state_rows`` is how many were checked.
    """

    ok: bool
    entries: int
    checkpoints: int
    first_bad: BadEntry | None
    state_rows: int = 0
    state_problems: tuple[Mapping[str, Any], ...] = ()

    def to_schema(self) -> schemas.AuditVerify:
        bad = self.first_bad
        return schemas.AuditVerify(
            ok=self.ok,
            entries=self.entries,
            checkpoints=self.checkpoints,
            first_bad=None if bad is None else schemas.BadEntry(seq=bad.seq, reason=bad.reason),
            state_rows=self.state_rows,
            state_problems=[dict(p) for p in self.state_problems],
        )

    def to_dict(self) -> dict[str, Any]:
        return self.to_schema().to_json_dict()


def _iter_entries(session: Session, after: int = 0) -> Iterator[Any]:
    """Every entry after seq ``after`` in seq order, as plain rows (no ORM objects: a ledger of
    a million entries is read at the speed of the database), in chunks inside ``session``'s
    transaction."""
    last = after
    while True:
        chunk = store.entry_rows(session, last, _VERIFY_CHUNK)
        if not chunk:
            return
        yield from chunk
        last = chunk[-1].seq


def _row_bytes(row: Any) -> bytes:
    """One row's columns, unambiguously (``repr`` quotes and escapes), for :class:`_Verified`."""
    return repr(tuple(row)).encode()


@dataclass(frozen=True)
class _Verified:
    """What a verification found intact: entries 1..``seq`` (``seq``: a signed checkpoint) whose
    last hash is ``head``; ``entries`` and ``checkpoints`` are SHA-256s over every column of
    those entries and of the checkpoints up to ``seq``, as they were read."""

    seq: int
    head: str
    entries: str
    checkpoints: str


def _checkpoints_digest(checkpoints: Sequence[Any], seq: int) -> str:
    digest = hashlib.sha256()
    for checkpoint in checkpoints:
        if checkpoint.seq <= seq:
            digest.update(_row_bytes(checkpoint))
    return digest.hexdigest()


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


class Ledger:
    """Append to, verify and read the audit ledger of one database."""

    def __init__(self, db: Database, key: AuditKey) -> None:
        self.db = db
        self.key = key
        self._verified: _Verified | None = None  # see the module doc
        db.before_commit(self._seal)

    # -- writing --------------------------------------------------------------------------
    def append(
        self,
        session: Session,
        action: str,
        payload: Mapping[str, Any] | None = None,
        *,
        actor: str,
        charter: str | None = None,
    ) -> AuditEntry:
        """Append one entry in ``session``'s transaction; it is signed when that transaction commits."""
        return self.append_many(session, [Event(action, payload or {}, charter)], actor=actor)[-1]

    def append_many(
        self, session: Session, events: Iterable[Event], *, actor: str
    ) -> list[AuditEntry]:
        self.db.serialize(session, "audit")
        seq, prev = store.head(session) or (0, GENESIS)
        entries = []
        for item in events:
            seq += 1
            payload = canonical_json(dict(item.payload))
            recorded_at = _now()
            digest = entry_hash(prev, seq, recorded_at, actor, item.action, item.charter, payload)
            entries.append(
                AuditEntry(
                    seq=seq,
                    recorded_at=recorded_at,
                    actor=actor,
                    action=item.action,
                    charter=item.charter,
                    payload=payload,
                    prev_hash=prev,
                    hash=digest,
                )
            )
            prev = digest
        if not entries:
            return []
        store.insert_entries(
            session, [{column: getattr(e, column) for column in _ENTRY_COLUMNS} for e in entries]
        )
        session.info[_PENDING] = (seq, prev)
        return entries

    def _seal(self, session: Session) -> None:
        pending = session.info.pop(_PENDING, None)
        if pending is None:
            return
        seq, head_hash = pending
        previous = store.last_signature(session)
        signed_at = _now()
        # A key is created only for the very first checkpoint: once there are checkpoints, a
        # missing key is an error, never silently replaced (every old checkpoint would fail).
        create = previous is None
        message = checkpoint_message(seq, head_hash, signed_at, previous or "")
        signature = self.key.sign(message, create=create)
        store.insert_checkpoint(  # pending ORM changes of the caller are flushed first
            session,
            seq=seq,
            head_hash=head_hash,
            key_id=self.key.key_id(create=create),
            signed_at=signed_at,
            signature=signature,
        )

    # -- reading --------------------------------------------------------------------------
    def entries(
        self, *, charter: str | None = None, since_seq: int = 0, limit: int | None = None
    ) -> list[AuditEntry]:
        with self.db.read() as session:
            return store.entries(session, charter=charter, since_seq=since_seq, limit=limit)

    def iter_all(self) -> Iterator[AuditEntry]:
        last = 0
        while True:
            chunk = self.entries(since_seq=last, limit=_VERIFY_CHUNK)
            if not chunk:
                return
            yield from chunk
            last = chunk[-1].seq

    # -- verifying ------------------------------------------------------------------------
    @contextlib.contextmanager
    def snapshot(self) -> Iterator[Session]:
        """One consistent read of the whole store: REPEATABLE READ on PostgreSQL, one read
        transaction on SQLite (WAL readers see the database as of their first read). Writers that
        commit meanwhile are invisible, so a verification never sees an entry without its
        checkpoint."""
        with self.db.snapshot() as session:
            yield session

    def verify(self) -> VerifyReport:
        """Walk the chain and the checkpoints, and check every bound state row against its
        latest binding, all in one snapshot; report the first entry that is not as written."""
        from charter.audit.state import audit_state  # state rows are bound through the ledger

        with self.snapshot() as session:
            chain = self.verify_in(session)
            rows, found = audit_state(session)
        return dataclasses.replace(
            chain,
            ok=chain.ok and not found,
            state_rows=rows,
            state_problems=tuple(p.to_dict() for p in found),
        )

    def verify_in(self, session: Session) -> VerifyReport:
        """:meth:`verify` inside the caller's (snapshot) transaction.

        The entries up to the checkpoint a previous verification found intact are checked again
        only when their bytes (or their checkpoints') are no longer those it read.
        """
        checkpoints = store.checkpoint_rows(session)
        bad = self._check_checkpoints(session, checkpoints)
        signed = {c.seq: c.head_hash for c in checkpoints}
        last_signed = checkpoints[-1].seq if checkpoints else 0
        known, self._verified = self._verified, None
        read, after = self._unchanged(session, known, checkpoints) if bad is None else (None, 0)
        if read is None or known is None:
            read, after, expected_seq, prev = hashlib.sha256(), 0, 1, GENESIS
        else:
            expected_seq, prev = known.seq + 1, known.head
        count = after
        for entry in _iter_entries(session, after):
            count += 1
            if bad is not None:
                continue
            bad = self._check_entry(entry, expected_seq, prev, signed)
            expected_seq, prev = entry.seq + 1, entry.hash
            if entry.seq <= last_signed:
                read.update(_row_bytes(entry))
        if bad is None:
            bad = self._check_tail(expected_seq - 1, checkpoints)
        if bad is None and checkpoints:
            kept = _checkpoints_digest(checkpoints, last_signed)
            self._verified = _Verified(last_signed, prev, read.hexdigest(), kept)
        return VerifyReport(
            ok=bad is None, entries=count, checkpoints=len(checkpoints), first_bad=bad
        )

    def _unchanged(
        self, session: Session, known: _Verified | None, checkpoints: Sequence[Any]
    ) -> tuple[Any, int]:
        """(the digest of entries 1..``known.seq`` read now, ``known.seq``) when those entries
        and their checkpoints are byte for byte what ``known`` verified; else (None, 0)."""
        if known is None or not any(
            c.seq == known.seq and c.head_hash == known.head for c in checkpoints
        ):
            return None, 0
        read, seen = hashlib.sha256(), 0
        for entry in _iter_entries(session):
            if entry.seq > known.seq:
                break
            seen = entry.seq
            read.update(_row_bytes(entry))
        same = (
            seen == known.seq
            and read.hexdigest() == known.entries
            and _checkpoints_digest(checkpoints, known.seq) == known.checkpoints
        )
        return (read, known.seq) if same else (None, 0)

    def _check_entry(
        self, entry: Any, expected_seq: int, prev: str, signed: Mapping[int, str]
    ) -> BadEntry | None:
        if entry.seq != expected_seq:
            if entry.seq > expected_seq:
                return BadEntry(
                    expected_seq, f"entry {expected_seq} is missing (the next entry is {entry.seq})"
                )
            return BadEntry(entry.seq, "entry is out of sequence")
        if entry.prev_hash != prev:
            return BadEntry(
                entry.seq,
                f"entry {entry.seq} does not follow entry {entry.seq - 1}: rows were inserted, "
                "deleted or reordered",
            )
        if not is_intact(entry):
            return BadEntry(
                entry.seq, f"entry {entry.seq} was altered: its content no longer matches its hash"
            )
        if entry.seq in signed and signed[entry.seq] != entry.hash:
            return BadEntry(
                entry.seq,
                f"the chain up to entry {entry.seq} was rewritten: its head no longer matches the "
                "checkpoint signed with the audit key",
            )
        return None

    def _check_checkpoints(self, session: Session, checkpoints: Sequence[Any]) -> BadEntry | None:
        lookup = verifiers(self.key, session)
        previous = ""
        for checkpoint in checkpoints:
            message = checkpoint_message(
                checkpoint.seq, checkpoint.head_hash, checkpoint.signed_at, previous
            )
            check = lookup(checkpoint.key_id, checkpoint.seq)
            if check is None:
                return BadEntry(
                    checkpoint.seq,
                    f"the checkpoint signed at entry {checkpoint.seq} names key "
                    f"{checkpoint.key_id}, which is neither the audit key nor a retired one",
                )
            if not check(message, checkpoint.signature):
                return BadEntry(
                    checkpoint.seq,
                    f"the checkpoint signed at entry {checkpoint.seq} is not valid: it was forged, "
                    "edited, or a checkpoint before it was deleted",
                )
            previous = checkpoint.signature
        return None

    def _check_tail(self, head_seq: int, checkpoints: Sequence[Any]) -> BadEntry | None:
        last_signed = checkpoints[-1].seq if checkpoints else 0
        if head_seq > last_signed:
            return BadEntry(
                last_signed + 1,
                f"entries {last_signed + 1}..{head_seq} were never signed: they were added outside charter",
            )
        if last_signed > head_seq:
            return BadEntry(
                head_seq + 1,
                f"entries {head_seq + 1}..{last_signed} were signed but are missing: the ledger was truncated",
            )
        return None
