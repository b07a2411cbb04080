"""Audit results: ``charter audit verify`` and ``charter audit export``."""

from __future__ import annotations

from charter.schemas.base import Facts, Result


class BadEntry(Result):
    """The first ledger entry that does not verify."""

    seq: int
    reason: str


class AuditVerify(Result):
    """``charter audit verify --json``: the chain, the signed checkpoints, the bound state rows."""

    ok: bool
    entries: int
    checkpoints: int
    first_bad: BadEntry | None
    state_rows: int
    state_problems: list[Facts]


class AuditExport(Result):
    """``charter audit export --json``."""

    file: str
    format: str
    entries: int
