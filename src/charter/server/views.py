"""What the management API shows: compositions of the reads the CLI uses, no rule of their own."""

from __future__ import annotations

import re
from typing import Any

import polars as pl
import sqlalchemy as sa

from charter.alerts.raising import list_alerts
from charter.errors import CharterError, CharterNotFoundError, RequestError
from charter.lifecycle.decisions import list_decisions
from charter.monitoring.service import latest_windows
from charter.plumbing.lake import lake_for
from charter.registry.versions import list_versions
from charter.server.shadow import COMPANION
from charter.spec.loader import LoadedCharter
from charter.spec.model import NAME_PATTERN
from charter.store.tables import IngestBatch
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


def prediction(ws: Workspace, prediction_id: str) -> dict[str, Any]:
    """One logged prediction with every version's score, its batch and its source."""
    batch_id, _, row = prediction_id.rpartition("-")
    if not batch_id or not row.isdigit():
        raise RequestError(
            f"{prediction_id!r} is not a prediction id (<batch id>-<row>)", status=404
        )
    with ws.db.read() as session:
        batch = session.scalar(sa.select(IngestBatch).where(IngestBatch.batch_id == batch_id))
        companion = session.scalar(  # the off-path shadow scores of an online batch
            sa.select(IngestBatch.predictions_path).where(
                IngestBatch.batch_id == f"{batch_id}{COMPANION}"
            )
        )
    if batch is None or not batch.predictions_path:
        raise RequestError(f"no prediction {prediction_id!r} in the log", status=404)
    paths = [*batch.predictions_path.split("\n"), *(companion.split("\n") if companion else [])]
    rows = lake_for(ws).scan_all(paths).filter(pl.col("prediction_id") == prediction_id).collect()
    if rows.height == 0:
        raise RequestError(f"no prediction {prediction_id!r} in the log", status=404)
    first = rows.row(0, named=True)
    inputs = first.get("inputs")
    return {
        "prediction_id": prediction_id,
        "charter": batch.charter,
        "batch_id": batch_id,
        "source": {"kind": batch.source_kind, "source": batch.source},
        "key": first["key"],
        "event_time": first["event_time"].isoformat() if first["event_time"] else None,
        "ingested_at": first["ingested_at"].isoformat() if first["ingested_at"] else None,
        "late": first["late"],
        "inputs": inputs,
        "scores": [
            {"version": r["model_version"], "status": r["model_status"], "score": r["score"]}
            for r in rows.iter_rows(named=True)
        ],
    }
