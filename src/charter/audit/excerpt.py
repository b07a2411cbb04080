"""A ledger excerpt: the chain up to one signed head, to be checked without the database.

An evidence pack carries the ledger from its first entry up to a head that a checkpoint signed,
and the checkpoints up to that head. :func:`read_excerpt` takes them from the store;
:func:`verify_excerpt` checks them from the rows alone (every entry against its own hash, each
link to the one before, the head against its checkpoint, and the checkpoint's signature when a
key to check it is given).

Why the whole chain and not only one charter's entries: a hash chain can be checked only link by
link, so an excerpt with holes proves nothing about what was left out. The head chosen for
``as_of`` is the last checkpoint signed at or before that moment: what the store had committed
then (an entry recorded before ``as_of`` whose transaction committed after it was not yet true).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from charter.audit.hashing import entry_hash
from charter.audit.signing import checkpoint_message
from charter.store import Session
from charter.store import ledger as store
from charter.store.tables import AuditCheckpoint

GENESIS = "0" * 64
ENTRY_FIELDS = ("seq", "recorded_at", "actor", "action", "charter", "payload", "prev_hash", "hash")
CHECKPOINT_FIELDS = ("seq", "head_hash", "key_id", "signed_at", "signature")
Check = Callable[[str, str], bool]


@dataclass(frozen=True)
class Excerpt:
    """The entries ``1..head`` (``payload`` as the exact canonical text that was hashed) and the
    checkpoints up to the head, as plain rows."""

    entries: tuple[dict[str, Any], ...]
    checkpoints: tuple[dict[str, Any], ...]

    @property
    def head(self) -> dict[str, Any] | None:
        return self.checkpoints[-1] if self.checkpoints else None


def head_at(session: Session, as_of: datetime | None) -> AuditCheckpoint | None:
    """The last checkpoint signed at or before ``as_of`` (None: the latest; or none at all)."""
    signed_by = None if as_of is None else as_of.isoformat(timespec="microseconds")
    return store.checkpoint_at(session, signed_by)


def read_excerpt(session: Session, head: AuditCheckpoint | None) -> Excerpt:
    """The chain and the checkpoints up to ``head`` (empty when there is none)."""
    if head is None:
        return Excerpt((), ())
    entries = store.entries_through(session, head.seq)
    checkpoints = store.checkpoints_through(session, head.seq)
    return Excerpt(
        tuple({f: getattr(e, f) for f in ENTRY_FIELDS} for e in entries),
        tuple({f: getattr(c, f) for f in CHECKPOINT_FIELDS} for c in checkpoints),
    )


@dataclass(frozen=True)
class ExcerptReport:
    """What :func:`verify_excerpt` found: ``problem`` is None when the excerpt is intact.

    ``signature`` is ``valid``, ``invalid``, or ``unchecked`` (no key to check it with);
    ``signature_note`` says with which key, or why not.
    """

    entries: int
    checkpoints: int
    head_seq: int
    head_hash: str
    problem: str | None
    signature: str
    signature_note: str


def verify_excerpt(
    entries: Sequence[Mapping[str, Any]],
    checkpoints: Sequence[Mapping[str, Any]],
    check: Check | None,
    *,
    key_note: str,
) -> ExcerptReport:
    """Check an excerpt from its rows alone; ``check(message, signature)`` checks the head's
    signature (None: it cannot be checked here, and the report says so)."""
    head = checkpoints[-1] if checkpoints else None
    head_seq, head_hash = (int(head["seq"]), str(head["head_hash"])) if head else (0, GENESIS)
    problem = _chain_problem(entries, checkpoints, head_seq, head_hash)
    signature, note = "unchecked", key_note
    if problem is None and head is not None and check is not None:
        previous = str(checkpoints[-2]["signature"]) if len(checkpoints) > 1 else ""
        message = checkpoint_message(head_seq, head_hash, str(head["signed_at"]), previous)
        signature = "valid" if check(message, str(head["signature"])) else "invalid"
        if signature == "invalid":
            problem = (
                f"the checkpoint at entry {head_seq} does not verify with {key_note}: the head or "
                "its signature was altered, or the pack was made with another key"
            )
    return ExcerptReport(
        entries=len(entries),
        checkpoints=len(checkpoints),
        head_seq=head_seq,
        head_hash=head_hash,
        problem=problem,
        signature=signature,
        signature_note=note,
    )


def _chain_problem(
    entries: Sequence[Mapping[str, Any]],
    checkpoints: Sequence[Mapping[str, Any]],
    head_seq: int,
    head_hash: str,
) -> str | None:
    prev = GENESIS
    by_seq: dict[int, str] = {}
    for expected, entry in enumerate(entries, start=1):
        seq = int(entry["seq"])
        if seq != expected:
            return f"entry {expected} is missing from the excerpt (found entry {seq} in its place)"
        if entry["prev_hash"] != prev:
            return f"entry {seq} does not follow entry {seq - 1}: entries were removed or reordered"
        digest = entry_hash(
            str(entry["prev_hash"]),
            seq,
            str(entry["recorded_at"]),
            str(entry["actor"]),
            str(entry["action"]),
            None if entry["charter"] is None else str(entry["charter"]),
            str(entry["payload"]),
        )
        if digest != entry["hash"]:
            return f"entry {seq} ({entry['action']}) was altered: its content no longer matches its hash"
        prev = digest
        by_seq[seq] = digest
    if len(entries) != head_seq:
        return f"the excerpt ends at entry {len(entries)} but its signed head is entry {head_seq}"
    if head_seq and prev != head_hash:
        return f"the chain's head (entry {head_seq}) is not the head its checkpoint signed"
    for checkpoint in checkpoints:
        seq = int(checkpoint["seq"])
        if by_seq.get(seq) != checkpoint["head_hash"]:
            return f"the checkpoint at entry {seq} names a head the chain does not have"
    return None


def payload_of(entry: Mapping[str, Any]) -> dict[str, Any]:
    """An excerpt row's payload as JSON."""
    value = json.loads(str(entry["payload"]))
    return value if isinstance(value, dict) else {"value": value}
