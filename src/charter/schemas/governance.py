"""Governance results: ``charter changes`` and ``accept-change`` / ``reject-change``."""

from __future__ import annotations

from charter.schemas.base import Facts, Result, Timestamp


class Change(Result):
    """A detected change of a charter's governed terms, with its field-level diff."""

    id: int
    charter: str
    status: str
    requires: str
    governed: list[str]
    diff: list[Facts]
    summary: str
    from_sha256: str
    to_sha256: str
    detected_at: Timestamp
    detected_by: str
    decided_at: Timestamp | None
    decided_by: str | None
    reason: str | None


class TermsInForce(Result):
    """The charter terms the owner accepted last."""

    charter: str
    sha256: str
    accepted_by: str
    accepted_at: Timestamp
    change_id: int | None


class ChangesResult(Result):
    """``charter changes NAME --json``."""

    charter: str
    terms_in_force: TermsInForce
    changes: list[Change]
