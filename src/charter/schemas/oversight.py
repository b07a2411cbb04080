"""Human oversight results: ``charter suspend`` / ``charter resume``, and ``status``'s
``suspended`` key."""

from __future__ import annotations

from charter.schemas.base import Facts, Result, Timestamp


class Suspension(Result):
    """One human stop of a charter: who stopped the model deciding, when and why, and who
    lifted it (null while it holds); ``fallback`` is what is done instead, as the charter says."""

    id: int
    charter: str
    suspended: bool
    suspended_by: str
    suspended_at: Timestamp
    reason: str
    resumed_by: str | None
    resumed_at: Timestamp | None
    resume_note: str | None
    fallback: Facts | None
