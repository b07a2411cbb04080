"""What the lake holds that counts (the committed keys), and removing what does not.

A file of the lake counts only when a committed batch names it: an ingest batch (its
prediction and quarantine files, and a replay's map of the rows it took) or a label delivery
(its label and quarantine files), and the runs of the key index (:mod:`.key_index`). Anything else in a charter's folders was left by an attempt
that never committed (killed, or beaten to the commit by another machine). :func:`clean`
removes those, but only once they are older than the grace period: an upload is placed just
before its commit, so a file younger than that may belong to a writer about to commit it.
It lists the folders *before* it reads what is committed, so a batch committed in between is
never taken for a leftover.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from charter.plumbing.lake import Lake, joined_keys, lake_for, older_than
from charter.store.tables import IngestBatch, KeyRun, LabelBatch
from charter.workspace import Workspace

REPLAY_KIND = "replay"  # the source kind of a replay batch (plumbing.quarantine)

__all__ = ["CleanReport", "clean", "committed_keys", "folders_of"]


def folders_of(charter: str) -> list[str]:
    """Every key prefix a charter's logs are written under."""
    return [
        f"predictions/{charter}",
        f"quarantine/{charter}",
        f"quarantine/{charter}/replays",
        f"labels/{charter}",
        f"labels/{charter}/quarantine",
        f"keys/{charter}",
    ]


def committed_keys(session: Session, charter: str | None = None) -> list[str]:
    """The keys every committed batch of ``charter`` (None: of every charter) names, oldest
    batch first; a file named twice is listed once."""
    ingest = sa.select(
        IngestBatch.charter,
        IngestBatch.batch_id,
        IngestBatch.source_kind,
        IngestBatch.predictions_path,
        IngestBatch.quarantine_path,
        IngestBatch.details,
    ).order_by(IngestBatch.id)
    labels = sa.select(LabelBatch.path, LabelBatch.quarantine_path).order_by(LabelBatch.id)
    runs = sa.select(KeyRun.path).order_by(KeyRun.id)
    if charter is not None:
        ingest = ingest.where(IngestBatch.charter == charter)
        labels = labels.where(LabelBatch.charter == charter)
        runs = runs.where(KeyRun.charter == charter)
    keys: list[str] = []
    for row in session.execute(ingest):
        keys += joined_keys([row.predictions_path, row.quarantine_path])
        keys += replay_map_keys(row.charter, row.batch_id, row.source_kind, row.details)
    for row in session.execute(labels):
        keys += joined_keys([row.path, row.quarantine_path])
    keys += session.scalars(runs).all()  # the key index's runs (plumbing.key_index)
    return list(dict.fromkeys(keys))


def replay_map_keys(
    charter: str, batch_id: str, kind: str, details: dict[str, Any] | None
) -> list[str]:
    """The map of the rows a replay batch took: the key it recorded, or (a replay recorded
    before maps were named in its details) the name local lakes always gave it."""
    recorded = (details or {}).get("replay_map")
    if isinstance(recorded, dict) and recorded.get("path"):
        return [str(recorded["path"])]
    return [f"quarantine/{charter}/replays/{batch_id}.parquet"] if kind == REPLAY_KIND else []


@dataclass
class CleanReport:
    """What a cleanup removed and what it left for a later one (too young to judge)."""

    lake: str
    removed: list[str] = field(default_factory=list)
    kept_young: int = 0


def clean(ws: Workspace, charter: str, *, grace: float, lake: Lake | None = None) -> CleanReport:
    """Remove the files in ``charter``'s folders of the lake that no committed batch names and
    that are older than ``grace`` seconds. Safe beside writers on other machines (see the
    module's docstring); temporary files of a local lake are left to
    :func:`charter.plumbing.predictions.remove_leftovers`."""
    lake = lake or lake_for(ws)
    report = CleanReport(lake.shown)
    listed = [entry for folder in folders_of(charter) for entry in lake.files(folder)]
    if not listed:
        return report
    with ws.db.read() as session:
        keep = set(committed_keys(session, charter))
    for key, modified in listed:
        if key in keep or ".tmp-" in key:
            continue
        if not older_than(modified, grace):
            report.kept_young += 1
            continue
        lake.remove(key)
        report.removed.append(key)
    return report
