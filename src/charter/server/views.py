"""What the management API shows: compositions of the reads the CLI uses, no rule of their own."""

from __future__ import annotations

import re
from typing import Any

from charter.alerts.raising import list_alerts
from charter.errors import CharterError, CharterNotFoundError
from charter.lifecycle.decisions import list_decisions
from charter.monitoring.service import latest_windows
from charter.registry.versions import list_versions
from charter.spec.loader import LoadedCharter
from charter.spec.model import NAME_PATTERN
from charter.workspace import Workspace


def load(ws: Workspace, name: str) -> LoadedCharter:
    """The charter called ``name`` (a name, never a path: the API reads no other file)."""
    if not re.fullmatch(NAME_PATTERN, name):
        raise CharterNotFoundError(f"no charter named {name!r}", hint="See GET /v1/charters.")
    return ws.load(name)


def page(items: list[Any], limit: int, offset: int) -> dict[str, Any]:
    """One page of ``items``, with where the next one starts (None: this is the last)."""
    chunk = items[offset : offset + limit]
    after = offset + len(chunk)
    return {
        "items": chunk,
        "total": len(items),
        "limit": limit,
        "offset": offset,
        "next_offset": after if after < len(items) else None,
    }


def charter_summary(ws: Workspace, name: str) -> dict[str, Any]:
    """Owner, live and shadow versions, the latest verdict, open alerts and decisions."""
    try:
        charter = load(ws, name).charter
    except CharterError as exc:  # one unreadable charter file never hides the others
        return {"name": name, "error": {"hint": None, **exc.to_dict()}}
    versions = list_versions(ws, charter.name)
    live = next((v.version for v in versions if v.status == "live"), None)
    windows = latest_windows(ws, charter.name)
    preferred = [w for w in windows if w.version == str(live)] or windows
    latest = preferred[0] if preferred else None
    return {
        "name": charter.name,
        "decision": charter.decision,
        "owner": {"name": charter.owner.name, "email": charter.owner.email},
        "delegates": [d.email for d in charter.delegates],
        "live_version": live,
        "shadow_versions": [v.version for v in versions if v.status == "shadow"],
        "standby_versions": [v.version for v in versions if v.status == "standby"],
        "latest_verdict": None
        if latest is None
        else {
            "version": latest.version,
            "verdict": latest.verdict,
            "start": latest.start.isoformat(),
            "end": latest.end.isoformat(),
        },
        "open_alerts": len(list_alerts(ws, charter.name, "open")),
        "open_decisions": len(list_decisions(ws, charter.name)),
    }


def charter_detail(ws: Workspace, name: str) -> dict[str, Any]:
    loaded = load(ws, name)
    body = charter_summary(ws, loaded.charter.name)
    body["sha256"] = loaded.sha256
    body["charter"] = loaded.charter.model_dump(mode="json")
    return body
