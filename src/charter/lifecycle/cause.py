"""Rollback for cause: a version rolled back automatically, or by hand with a reason, goes live
again only by a new owner decision (DESIGN.md, "rollback").

The ledger is the record: the version's latest ``version.rolled_back`` entry says whether it was
for cause, and a ``decision.approved`` of the version after it is the owner's new decision.
A rollback by hand without ``--reason`` ("rolled back by hand") is not for cause: the version can
be restored with ``charter rollback --to``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from charter.store import Session, ledger

BY_HAND = "rolled back by hand"


@dataclass(frozen=True)
class Cause:
    """Why ``version`` was rolled back, and when (the ledger entry's time)."""

    version: int
    reason: str
    automatic: bool
    at: str
    by: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "reason": self.reason,
            "automatic": self.automatic,
            "at": self.at,
            "by": self.by,
        }

    def sentence(self, name: str) -> str:
        how = "automatically" if self.automatic else f"by {self.by}"
        return (
            f"{name} version {self.version} was rolled back for cause {how} on {self.at[:16]} "
            f"UTC ({self.reason}); it goes live again only by a new owner decision"
        )


def is_for_cause(payload: dict[str, Any]) -> bool:
    """Whether a ``version.rolled_back`` payload records a rollback for cause."""
    if "for_cause" in payload:
        return bool(payload["for_cause"])
    return bool(payload.get("automatic")) or payload.get("reason") != BY_HAND


def rolled_back_for_cause(session: Session, name: str, version: int) -> Cause | None:
    """The cause standing against ``version``, or None when it may be restored (never rolled
    back, rolled back without cause, or approved by a new owner decision since)."""
    rows = ledger.charter_entries_newest_first(
        session, name, ("version.rolled_back", "decision.approved")
    )
    return cause_in(
        ((r.action, json.loads(r.payload), r.recorded_at, r.actor) for r in rows), version
    )


def cause_in(entries: Iterable[tuple[str, dict[str, Any], str, str]], version: int) -> Cause | None:
    """:func:`rolled_back_for_cause` over ledger entries given newest first, as
    (action, payload, recorded_at, actor): ``readiness --as-of`` hands in those recorded by then."""
    for action, payload, recorded_at, actor in entries:
        if action == "decision.approved":
            if payload.get("version") == version:
                return None  # a new decision since the last rollback
            continue
        if action != "version.rolled_back" or payload.get("rolled_back") != version:
            continue
        if not is_for_cause(payload):
            return None
        return Cause(
            version, str(payload.get("reason")), bool(payload.get("automatic")), recorded_at, actor
        )
    return None
