"""The closed sets of values that status-like columns hold, each checked by the database.

Each enum is a :class:`~enum.StrEnum`, so a member compares equal to its text and code that
reads ``row.status == "live"`` keeps working. :data:`CHECKED` names, per table and column, the
enum whose values a CHECK constraint allows (added by migration ``0015``); a row with any other
value is refused by the database itself, whichever code wrote it.
"""

from __future__ import annotations

from enum import StrEnum

import sqlalchemy as sa


class VersionStatus(StrEnum):
    """Where a model version stands in its life (``model_versions.status``)."""

    REGISTERED = "registered"
    SHADOW = "shadow"
    LIVE = "live"
    STANDBY = "standby"
    RETIRED = "retired"
    ROLLED_BACK = "rolled_back"


class AlertStatus(StrEnum):
    OPEN = "open"
    ACKED = "acked"
    RESOLVED = "resolved"


class AlertSeverity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


class DecisionStatus(StrEnum):
    OPEN = "open"
    APPROVED = "approved"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


class ChangeStatus(StrEnum):
    """What became of a change a charter file asked for (``charter_changes.status``)."""

    PENDING = "pending"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    APPLIED = "applied"
    SUPERSEDED = "superseded"
    WITHDRAWN = "withdrawn"


class ChangeRequires(StrEnum):
    """Who must accept a change (``none`` when it took effect at once)."""

    OWNER = "owner"
    OWNER_OR_DELEGATE = "owner_or_delegate"
    NONE = "none"


class IngestFileStatus(StrEnum):
    INGESTED = "ingested"
    FAILED = "failed"


class TokenRole(StrEnum):
    """An API token's role, weakest first."""

    VIEWER = "viewer"
    OPERATOR = "operator"
    OWNER = "owner"


class OutboxState(StrEnum):
    """Where a pending alert delivery stands (``alert_outbox.state``, migration ``0016``)."""

    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


# (table, column) -> the enum its CHECK constraint allows.
CHECKED: dict[tuple[str, str], type[StrEnum]] = {
    ("model_versions", "status"): VersionStatus,
    ("scoring_failures", "status"): VersionStatus,
    ("alerts", "status"): AlertStatus,
    ("alerts", "severity"): AlertSeverity,
    ("decisions", "status"): DecisionStatus,
    ("charter_changes", "status"): ChangeStatus,
    ("charter_changes", "requires"): ChangeRequires,
    ("ingest_files", "status"): IngestFileStatus,
    ("api_tokens", "role"): TokenRole,
    ("alert_outbox", "state"): OutboxState,
}


def check_name(table: str, column: str) -> str:
    return f"ck_{table}_{column}"


def check_sql(column: str, allowed: type[StrEnum]) -> str:
    """The CHECK condition: ``column`` holds one of ``allowed``'s values."""
    values = ", ".join(f"'{member.value}'" for member in allowed)
    return f"{column} IN ({values})"


def check_constraint(table: str, column: str) -> sa.CheckConstraint:
    """The CHECK constraint of ``table.column`` as declared in the metadata (tables.py)."""
    return sa.CheckConstraint(
        check_sql(column, CHECKED[(table, column)]), name=check_name(table, column)
    )
