"""Reading ``scoring_failures``: which versions failed to score rows, for ``status`` and the gate.

The rows are written by :mod:`.isolation`, in each batch's own transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from charter.store.tables import ScoringFailure
from charter.workspace import Workspace


def failure_summary(
    ws: Workspace, charter: str, version: str | None = None
) -> list[dict[str, Any]]:
    """Per version (or one ``version``): batches and rows it failed on, and its latest failure."""
    query = sa.select(ScoringFailure).where(ScoringFailure.charter == charter)
    if version is not None:
        query = query.where(ScoringFailure.version == version)
    with ws.db.read() as session:
        rows = session.scalars(query.order_by(ScoringFailure.id)).all()
        found: dict[str, dict[str, Any]] = {}
        for row in rows:
            entry = found.setdefault(row.version, {"version": row.version, "batches": 0, "rows": 0})
            entry["batches"] += 1
            entry["rows"] += int(row.rows)
            entry["last"] = {
                "batch_id": row.batch_id,
                "file": row.file,
                "status": row.status,
                "error": row.error,
                "rows": int(row.rows),
                "at": row.at.isoformat(),
            }
    return sorted(found.values(), key=lambda e: (not e["version"].isdigit(), e["version"]))


def failure_note(charter: str, entry: Mapping[str, Any]) -> str:
    """One sentence for people: ``charter status`` and ``charter readiness`` print it."""
    last = entry["last"]
    return (
        f"version {entry['version']} failed to score {entry['rows']} row(s) in "
        f"{entry['batches']} batch(es); latest: {last['file']} ({last['status']}): {last['error']}"
    )
