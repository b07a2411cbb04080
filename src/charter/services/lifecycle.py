"""The lifecycle's own pass over one charter, for the scheduler (or cron) to call."""

from __future__ import annotations

from datetime import datetime

from charter.lifecycle import decisions, stalled
from charter.lifecycle.review import ReviewReport
from charter.lifecycle.transitions import automatic_rollback
from charter.workspace import Workspace

__all__ = ["ReviewReport", "review"]


def review(ws: Workspace, name: str, *, now: datetime | None = None) -> ReviewReport:
    """One pass of the lifecycle's own duties, for the scheduler (or cron) to call.

    In order: automatic rollback (safety first); then, unless it rolled back, promotion of a
    pre-authorised version that passes the gate; closing decisions that became moot; and the
    stalled-decision alerts and escalations due at ``now`` (default: the workspace's clock,
    ``ws.context.clock()``).
    """
    name = ws.load(name).charter.name
    rolled = automatic_rollback(ws, name)
    promoted = decisions.auto_promote(ws, name) if rolled is None else None
    withdrawn = decisions.withdraw_moot(ws, name)
    alerts = stalled.check_stalled(ws, name, now=now if now is not None else ws.context.clock())
    return ReviewReport(
        name,
        rolled,
        promoted.decision.version if promoted is not None else None,
        [d.id for d in withdrawn],
        [a.id for a in alerts],
    )
