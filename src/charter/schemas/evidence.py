"""Evidence and retention results: ``charter evidence pack``, ``evidence verify`` and ``purge``."""

from __future__ import annotations

from charter.schemas.base import Facts, Result


class PackClause(Result):
    """One clause of the crosswalk: met, or a gap with what is missing."""

    framework: str
    clause: str
    status: str
    gaps: list[str]


class EvidencePack(Result):
    """``charter evidence pack NAME --json``: the pack written and what it stands on."""

    file: str
    charter: str
    as_of: str | None
    frameworks: list[str]
    head_seq: int
    head_hash: str
    signed_at: str | None
    entries: int
    files: int
    sha256: str
    signed: bool
    crosswalk: list[PackClause]


class PackProblem(Result):
    """Something in a pack that does not verify, and the file it is in."""

    file: str
    problem: str


class EvidenceVerify(Result):
    """``charter evidence verify PACK --json``: ``ok`` only when no problem was found.

    ``manifest_signature`` and ``checkpoint_signature`` are ``valid``, ``invalid`` or
    ``unchecked`` (no key to check with; ``key_note`` says why and what was checked instead).
    """

    ok: bool
    file: str
    charter: str | None
    as_of: str | None
    files_checked: int
    entries: int
    head_seq: int
    records_checked: int
    manifest_signature: str
    checkpoint_signature: str
    key_note: str
    problems: list[PackProblem]


class PurgeKind(Result):
    """What a purge removed (or, on a dry run, would remove) of one kind of log."""

    kind: str
    retention: str | None
    batches: int
    files: int
    rows: int
    oldest: str | None
    newest: str | None
    kept_because: str | None


class PurgeResult(Result):
    """``charter purge NAME --before DATE --json``."""

    charter: str
    before: str
    dry_run: bool
    removed: list[PurgeKind]
    ledger_seq: int | None
    facts: Facts
