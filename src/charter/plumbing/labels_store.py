"""The label log read back: the newest label per key, one key's history, the label quarantine.

Each committed delivery (a ``label_batches`` row) owns up to two Parquet files under
``labels/<charter>/`` in the lake (:mod:`charter.plumbing.lake`): ``<batch_id>.parquet`` with one row per key it added or corrected
(``key``, ``label``, ``previous``, ``change``, ``row``, ``label_batch_id``, ``received_at``) and
``quarantine/<batch_id>.parquet`` with its invalid rows (``row``, ``key``, ``value``,
``reason``). Files are trusted only through their committed batch; the log is append-only, so a
corrected label supersedes the old one, which stays readable.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import polars as pl
import sqlalchemy as sa

from charter.errors import CharterError
from charter.plumbing.lake import lake_for
from charter.schemas import data as schemas
from charter.store.tables import LabelBatch
from charter.workspace import Workspace

__all__ = [
    "LabelHistory",
    "LabelQuarantine",
    "label_dir",
    "label_history",
    "label_quarantine",
    "read_labels",
]


def label_dir(name: str) -> str:
    """The key prefix of a charter's label log in the lake."""
    return f"labels/{name}"


def read_labels(ws: Workspace, name: str) -> pl.DataFrame:
    """The newest label per key, from committed deliveries only."""
    with ws.db.read() as session:
        paths = session.scalars(
            sa.select(LabelBatch.path)
            .where(LabelBatch.charter == name, LabelBatch.path.is_not(None))
            .order_by(LabelBatch.id)
        ).all()
    if not paths:
        return pl.DataFrame(schema={"key": pl.String, "label": pl.Float64})
    lake = lake_for(ws)
    frames = [lake.read(p, columns=["key", "label"]) for p in paths if p]
    return pl.concat(frames).unique("key", keep="last", maintain_order=True)


def _batches(ws: Workspace, name: str) -> list[LabelBatch]:
    with ws.db.read() as session:
        return list(
            session.scalars(
                sa.select(LabelBatch).where(LabelBatch.charter == name).order_by(LabelBatch.id)
            )
        )


# -- one key's history --------------------------------------------------------------------------
@dataclass
class LabelHistory:
    """Every label a key was given, oldest first; the last one is the one monitoring uses."""

    charter: str
    key: str
    entries: list[dict[str, Any]] = field(default_factory=list)

    def to_schema(self) -> schemas.LabelHistory:
        current = self.entries[-1]["label"] if self.entries else None
        return schemas.LabelHistory(
            charter=self.charter,
            key=self.key,
            current=current,
            corrections=sum(1 for e in self.entries if e["change"] == "corrected"),
            entries=self.entries,
        )

    def to_dict(self) -> dict[str, Any]:
        return self.to_schema().to_json_dict()


def label_history(ws: Workspace, name: str, key: str) -> LabelHistory:
    """The labels ``key`` was given, delivery by delivery, each with what it superseded."""
    name = ws.load(name).charter.name
    history = LabelHistory(name, key)
    batches = [b for b in _batches(ws, name) if b.path]
    if not batches:
        return history
    lake = lake_for(ws)
    scans = [
        lake.scan(str(b.path)).filter(pl.col("key") == key).with_columns(_order=pl.lit(i))
        for i, b in enumerate(batches)
    ]
    found = pl.concat(scans, how="diagonal_relaxed").sort("_order").collect()
    previous: float | None = None
    for i, row in enumerate(found.iter_rows(named=True)):
        batch = batches[row["_order"]]
        following = batches[found["_order"][i + 1]] if i + 1 < found.height else None
        # Files written before the history existed carry no ``previous``: the entry before is it.
        before = row["previous"] if row.get("previous") is not None else previous
        history.entries.append(
            {
                "label": row["label"],
                "previous": before,
                "change": "new" if before is None else "corrected",
                "batch_id": batch.batch_id,
                "source": batch.source,
                "row": row.get("row"),
                "received_at": batch.received_at,
                "superseded_by": following.batch_id if following else None,
                "superseded_at": following.received_at if following else None,
            }
        )
        previous = row["label"]
    return history


# -- the label quarantine -----------------------------------------------------------------------
@dataclass
class LabelQuarantine:
    """Invalid labels, counted by reason and by delivery, with the first rows themselves."""

    charter: str
    rows: int = 0
    by_reason: dict[str, int] = field(default_factory=dict)
    batches: list[dict[str, Any]] = field(default_factory=list)
    examples: list[dict[str, Any]] = field(default_factory=list)

    def to_schema(self) -> schemas.LabelQuarantine:
        return schemas.LabelQuarantine(
            charter=self.charter,
            rows=self.rows,
            by_reason=self.by_reason,
            batches=self.batches,
            examples=self.examples,
        )

    def to_dict(self) -> dict[str, Any]:
        return self.to_schema().to_json_dict()


def label_quarantine(
    ws: Workspace, name: str, *, batch: str | None = None, limit: int = 20
) -> LabelQuarantine:
    """The quarantined labels of ``name`` (or of one delivery: its id or a unique prefix)."""
    name = ws.load(name).charter.name
    batches = [b for b in _batches(ws, name) if b.quarantine_path]
    if batch:
        chosen = [b for b in batches if b.batch_id == batch] or [
            b for b in batches if b.batch_id.startswith(batch)
        ]
        if len(chosen) != 1:
            what = "no delivery" if not chosen else f"{len(chosen)} deliveries"
            raise CharterError(
                f"label delivery {batch!r} matches {what} with quarantined labels",
                hint=f"See `charter quarantine {name} labels` for the delivery ids.",
            )
        batches = chosen
    summary = LabelQuarantine(name)
    totals: dict[str, int] = {}
    for b in batches:
        counts = dict(b.invalid_by_reason or {})
        for reason, n in counts.items():
            totals[reason] = totals.get(reason, 0) + int(n)
        summary.rows += int(b.quarantined)
        summary.batches.append(_batch_entry(b, counts))
        if len(summary.examples) < limit:
            summary.examples.extend(_rows(ws, b, limit - len(summary.examples)))
    summary.by_reason = dict(sorted(totals.items(), key=lambda kv: (-kv[1], kv[0])))
    return summary


def _batch_entry(b: LabelBatch, counts: dict[str, int]) -> dict[str, Any]:
    return {
        "batch_id": b.batch_id,
        "source": b.source,
        "received_at": b.received_at,
        "rows": int(b.quarantined),
        "by_reason": counts,
    }


def _rows(ws: Workspace, b: LabelBatch, limit: int) -> list[dict[str, Any]]:
    frame = lake_for(ws).scan(str(b.quarantine_path)).head(limit).collect()
    return [
        {"batch_id": b.batch_id, "source": b.source, **row}
        for row in frame.select("row", "key", "value", "reason").iter_rows(named=True)
    ]
