"""Registry results: ``charter register``, ``charter versions``, and the transitions that print a
version (``shadow``, ``retire``)."""

from __future__ import annotations

from pydantic import Field

from charter.schemas.base import Facts, Result, Timestamp


class Version(Result):
    """One registered model version; ``version``, ``sha256``, ``flavor`` and ``status`` are the
    keys scripts rely on most."""

    charter: str
    version: int
    sha256: str
    flavor: str
    status: str
    artifact_uri: str
    created_at: Timestamp
    created_by: str
    status_changed_at: Timestamp
    lineage: Facts
    as_of: Timestamp | None = Field(
        default=None,
        exclude_if=lambda v: v is None,
        description="`versions --as-of` only: the moment this row was reconstructed for, from "
        "the ledger (`status` and `status_changed_at` as they were then).",
    )
