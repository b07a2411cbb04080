"""The dashboard's trace page: a search box (a prediction id, or a key) and the trace found.

The trace itself is :func:`charter.services.trace.trace` (or ``trace_key``), the same result
``charter trace`` prints and ``GET /v1/predictions/{id}`` answers; this module only decides which
one the query names and turns a not-found into a sentence for the page.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from charter.errors import CharterError, PredictionNotFoundError
from charter.schemas.trace import Trace
from charter.server.errors import status_of
from charter.services.trace import trace, trace_key
from charter.workspace import Workspace

MAX_QUERY = 200


@dataclass
class TracePage:
    """What the page shows: the query as typed, the charters to pick from, the trace or why not."""

    query: str = ""
    charter: str = ""
    charters: list[str] = field(default_factory=list)
    trace: Trace | None = None
    error: str | None = None
    status: int = 200


def search(ws: Workspace, params: Mapping[str, str]) -> TracePage:
    """The trace the query names: a prediction id first, else a key (of the chosen charter, or of
    the first charter that logged it)."""
    query = params.get("q", "").strip()[:MAX_QUERY]
    chosen = params.get("charter", "").strip()
    page = TracePage(query=query, charter=chosen, charters=ws.charter_names())
    if not query:
        return page
    try:
        page.trace = _find(ws, query, chosen, page.charters)
    except CharterError as exc:
        page.error, page.status = exc.message, status_of(exc)
    return page


def _find(ws: Workspace, query: str, chosen: str, charters: list[str]) -> Trace:
    try:
        return trace(ws, query)
    except PredictionNotFoundError:
        pass  # not an id of a logged prediction: perhaps a key
    for name in [chosen] if chosen else charters:
        try:
            return trace_key(ws, name, query)
        except PredictionNotFoundError:
            continue
    where = f"in {chosen}" if chosen else "in any charter"
    raise PredictionNotFoundError(f"no prediction with id or key {query!r} {where}")
