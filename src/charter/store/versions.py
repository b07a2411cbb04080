"""Model versions (:mod:`charter.registry.versions`): the rows of ``model_versions``."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from charter.store.statuses import VersionStatus
from charter.store.tables import ModelVersion


def get(session: Session, charter: str, version: int) -> ModelVersion | None:
    return session.scalar(
        sa.select(ModelVersion).where(
            ModelVersion.charter == charter, ModelVersion.version == version
        )
    )


def by_sha256(session: Session, charter: str, sha256: str) -> ModelVersion | None:
    return session.scalar(
        sa.select(ModelVersion).where(
            ModelVersion.charter == charter, ModelVersion.sha256 == sha256
        )
    )


def latest_number(session: Session, charter: str) -> int | None:
    """The highest version number of ``charter`` (None: it has none)."""
    return session.scalar(
        sa.select(sa.func.max(ModelVersion.version)).where(ModelVersion.charter == charter)
    )


def of_charter(session: Session, charter: str) -> Sequence[ModelVersion]:
    """Every version of ``charter``, oldest first."""
    return session.scalars(
        sa.select(ModelVersion)
        .where(ModelVersion.charter == charter)
        .order_by(ModelVersion.version)
    ).all()


def of_charters(session: Session, charters: Sequence[str]) -> Sequence[ModelVersion]:
    """Every version of each of ``charters``, by charter then version."""
    return session.scalars(
        sa.select(ModelVersion)
        .where(ModelVersion.charter.in_(list(charters)))
        .order_by(ModelVersion.charter, ModelVersion.version)
    ).all()


def add(session: Session, row: ModelVersion) -> None:
    session.add(row)


def set_status(session: Session, row: ModelVersion, status: str, *, at: datetime) -> None:
    """Move ``row`` to ``status`` at ``at``; the first move to live also stamps ``went_live_at``."""
    row.status, row.status_changed_at = status, at
    if status == VersionStatus.LIVE and row.went_live_at is None:
        row.went_live_at = at


def has_live(session: Session, charter: str) -> bool:
    """Whether ``charter`` has a live version."""
    found = session.scalar(
        sa.select(ModelVersion.id).where(
            ModelVersion.charter == charter, ModelVersion.status == "live"
        )
    )
    return found is not None


def all_of(session: Session, charter: str) -> Sequence[ModelVersion]:
    """Every version of ``charter``, in the database's order (no ORDER BY)."""
    return session.scalars(sa.select(ModelVersion).where(ModelVersion.charter == charter)).all()


def went_live_at(session: Session, charter: str, version: int) -> datetime | None:
    """When ``version`` first went live (None: never, or no such version)."""
    return session.scalar(
        sa.select(ModelVersion.went_live_at).where(
            ModelVersion.charter == charter, ModelVersion.version == version
        )
    )
