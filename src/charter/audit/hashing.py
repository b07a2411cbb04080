"""How a ledger entry is hashed: canonical JSON and the chained SHA-256 (shared by the ledger and
the state bindings, which both stand on it)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from charter.store.tables import AuditEntry

__all__ = ["canonical_json", "entry_hash", "is_intact"]


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def entry_hash(
    prev_hash: str,
    seq: int,
    recorded_at: str,
    actor: str,
    action: str,
    charter: str | None,
    payload: str,
) -> str:
    body = canonical_json([seq, recorded_at, actor, action, charter, payload])
    return hashlib.sha256((prev_hash + body).encode()).hexdigest()


def is_intact(entry: AuditEntry) -> bool:
    """Whether a stored entry still matches its own hash (it was not edited in place)."""
    return entry.hash == entry_hash(
        entry.prev_hash,
        entry.seq,
        entry.recorded_at,
        entry.actor,
        entry.action,
        entry.charter,
        entry.payload,
    )
