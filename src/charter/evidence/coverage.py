"""Prediction-log coverage: what the log holds per day, where it has gaps, and how long it is kept.

The batches counted are the ones the ledger excerpt records (``batch.ingested`` and the server's
``batch.shadow_scored``), each file re-hashed against the SHA-256 its ledger entry gave: a file
that was altered or removed is named, and one removed by ``charter purge`` is counted as purged.
A day is a UTC calendar day of the rows' event time (of the ingestion time when a charter declares
no event time); a gap is a day between the first and the last logged day without a prediction.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence, Set
from datetime import date, timedelta
from typing import Any

import polars as pl

from charter.evidence.records import Entry, Record
from charter.plumbing.lake import Lake
from charter.spec.durations import format_duration
from charter.spec.model import Charter

LOGGED = ("batch.ingested", "batch.shadow_scored")


def coverage(
    lake: Lake,
    entries: Sequence[Entry],
    charter: Charter | None,
    *,
    purged_later: Set[str] = frozenset(),
) -> Record:
    """Counts per day, gaps, the files' integrity and the retention, for the excerpt's batches;
    ``purged_later``: files a purge after the excerpt's head removed (not missing, purged)."""
    purged = _purged_paths(entries) | set(purged_later)
    files: list[Record] = []
    frames: list[pl.DataFrame] = []
    for e in entries:
        if e.action not in LOGGED:
            continue
        for item in e.payload.get("predictions") or []:
            path, expected = str(item.get("path")), str(item.get("sha256"))
            state = _file_state(lake, path, expected, path in purged)
            files.append(
                {"path": path, "batch_id": e.payload.get("batch_id"), "state": state, "seq": e.seq}
            )
            if state == "intact":
                frames.append(_days_of(lake, path))
    per_day = _per_day(frames)
    days = sorted(per_day)
    gaps = _gaps(days)
    states: dict[str, int] = defaultdict(int)
    for f in files:
        states[f["state"]] += 1
    return {
        "days": [{"day": d.isoformat(), **per_day[d]} for d in days],
        "first_day": days[0].isoformat() if days else None,
        "last_day": days[-1].isoformat() if days else None,
        "gaps": [d.isoformat() for d in gaps],
        "files": files,
        "file_states": dict(sorted(states.items())),
        "purges": [
            {**dict(e.payload), "ledger": e.ref()}
            for e in entries
            if e.action == "retention.purged"
        ],
        "retention": retention_of(charter),
    }


def retention_of(charter: Charter | None) -> Record:
    """The retention of the terms in force, as words and durations (None: kept for ever)."""
    if charter is None:
        return {"known": False, "statement": "the terms in force at the head are not in the store"}
    policy = charter.operations.retention
    kinds = {}
    for kind in ("predictions", "quarantine", "labels"):
        value = getattr(policy, kind)
        kinds[kind] = None if value is None else format_duration(value)
    parts = [f"{k}: " + (v if v is not None else "kept for ever") for k, v in kinds.items()]
    return {
        "known": True,
        **kinds,
        "ledger": "kept for ever (never purged)",
        "statement": "operations.retention: " + "; ".join(parts) + "; the ledger: kept for ever",
    }


def _purged_paths(entries: Sequence[Entry]) -> set[str]:
    found: set[str] = set()
    for e in entries:
        if e.action == "retention.purged":
            found.update(str(p) for p in e.payload.get("files") or [])
    return found


def _file_state(lake: Lake, key: str, expected: str, purged: bool) -> str:
    found = lake.sha256(key)
    if found is None:
        return "purged" if purged else "missing"
    return "intact" if found == expected else "altered"


def _days_of(lake: Lake, key: str) -> pl.DataFrame:
    frame = lake.read(key, columns=["prediction_id", "event_time", "ingested_at", "model_status"])
    when = pl.coalesce(pl.col("event_time"), pl.col("ingested_at")).dt.date().alias("day")
    return frame.select(when, "prediction_id", (pl.col("model_status") == "live").alias("live"))


def _per_day(frames: Sequence[pl.DataFrame]) -> dict[date, dict[str, int]]:
    if not frames:
        return {}
    rows = (
        pl.concat(frames)
        .group_by("day")
        .agg(
            pl.col("prediction_id").n_unique().alias("predictions"),
            pl.len().alias("log_rows"),
            pl.col("prediction_id").filter(pl.col("live")).n_unique().alias("acted_on"),
        )
        .sort("day")
    )
    return {
        r["day"]: {
            "predictions": int(r["predictions"]),
            "log_rows": int(r["log_rows"]),
            "by_live_version": int(r["acted_on"]),
        }
        for r in rows.iter_rows(named=True)
    }


def _gaps(days: Sequence[date]) -> list[date]:
    if not days:
        return []
    have, out, day = set(days), [], days[0]
    while day < days[-1]:
        day += timedelta(days=1)
        if day not in have:
            out.append(day)
    return out


def coverage_summary(section: Mapping[str, Any]) -> str:
    days, gaps = section["days"], section["gaps"]
    if not days:
        return "no prediction logged"
    total = sum(d["predictions"] for d in days)
    text = (
        f"{total} predictions on {len(days)} days, {section['first_day']} to {section['last_day']}"
    )
    return text + (f"; {len(gaps)} day(s) without a prediction" if gaps else "; no gap")
