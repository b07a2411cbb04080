"""Recording one label delivery exactly once: check, compare, write its files, commit.

A delivery is a source identity (a file path, a landing file, a SQL source) and the SHA-256 of
its content. It is *the same delivery again*, and skipped, when the newest committed delivery of
that identity has the same fingerprint; any other content, including a return to content sent
before, is a new delivery. Its batch id is derived from the identity, the fingerprint and how
many deliveries that identity made before, so a run that crashes before its commit writes the
same files under the same id when it runs again.

The commit follows the batch-commit protocol (:mod:`.batch_commit`): the files first, then one
transaction (the ``label_batches`` row, the source checkpoint, the ``labels.ingested`` ledger
entry) that takes the charter's label writer lock and re-checks that the delivery is not
recorded yet; a run that lost that race skips the delivery instead of failing on the unique
batch id.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

import polars as pl
import sqlalchemy as sa
from sqlalchemy.orm import Session

from charter.errors import DataError
from charter.plumbing.batch_commit import LABEL_LOG, commit, serialised
from charter.plumbing.label_values import CheckedLabels, check_labels
from charter.plumbing.labels_store import label_dir, read_labels
from charter.plumbing.lake import Lake, lake_for
from charter.plumbing.predictions import BatchFileWriter, seen_keys
from charter.spec.model import Charter
from charter.store.tables import LabelBatch
from charter.workspace import Workspace

Checkpoint = Callable[[Session, str | None, str | None], None]


@dataclass
class LabelBatchReport:
    source: str
    batch_id: str
    rows_in: int = 0
    labels_new: int = 0
    labels_changed: int = 0
    duplicates: int = 0
    unknown_keys: int = 0
    invalid: int = 0
    quarantined: int = 0
    invalid_by_reason: dict[str, int] = field(default_factory=dict)
    invalid_examples: list[dict[str, Any]] = field(default_factory=list)


class LabelState:
    """The labels and prediction keys known so far, extended as deliveries commit."""

    def __init__(self, ws: Workspace, name: str) -> None:
        self.labels = read_labels(ws, name)
        self.keys = seen_keys(ws, name)


@dataclass
class Delivery:
    identity: str
    fingerprint: str
    read: Callable[[], pl.DataFrame]
    checkpoint: Checkpoint | None = None


def record(
    ws: Workspace, charter: Charter, state: LabelState, delivery: Delivery
) -> LabelBatchReport | None:
    """Record ``delivery``; None when it is already recorded. Raises :class:`DataError` when
    it cannot be read or is refused (after checkpointing the failure)."""
    name, spec = charter.name, charter.labels
    assert spec is not None
    with ws.db.read() as session:
        if _recorded(session, name, delivery):
            return None
        earlier = _deliveries_from(session, name, delivery.identity)
    batch_id = _batch_id(name, delivery, earlier)
    try:
        checked = check_labels(delivery.read(), spec, charter.task, delivery.identity)
    except DataError as exc:
        if delivery.checkpoint is not None:
            with serialised(ws, LABEL_LOG, name) as session:
                delivery.checkpoint(session, None, exc.message)
        raise
    batch, changes = _compare(checked, state, delivery.identity, batch_id)
    now = datetime.now(UTC)
    lake, folder = lake_for(ws), label_dir(name)
    labelled = changes.with_columns(label_batch_id=pl.lit(batch_id))
    written = _write(lake, folder, batch_id, labelled, now)
    quarantined = _write(lake, f"{folder}/quarantine", batch_id, checked.invalid, now)

    def recorded(session: Session) -> bool:
        if _recorded(session, name, delivery):
            return True  # another run recorded this very delivery while we read it
        taken = sa.select(LabelBatch.id).where(LabelBatch.batch_id == batch_id)
        return session.scalar(taken) is not None

    def insert(session: Session) -> None:
        session.add(
            LabelBatch(
                batch_id=batch_id,
                charter=name,
                source=delivery.identity,
                fingerprint=delivery.fingerprint,
                rows_in=batch.rows_in,
                labels_new=batch.labels_new,
                labels_changed=batch.labels_changed,
                duplicates=batch.duplicates,
                unknown_keys=batch.unknown_keys,
                invalid=batch.invalid,
                quarantined=batch.quarantined,
                invalid_by_reason=batch.invalid_by_reason,
                path=written[0] if written else None,
                sha256=written[1] if written else None,
                quarantine_path=quarantined[0] if quarantined else None,
                quarantine_sha256=quarantined[1] if quarantined else None,
                received_at=now,
            )
        )
        if delivery.checkpoint is not None:
            delivery.checkpoint(session, batch_id, None)
        entry = {k: v for k, v in asdict(batch).items() if k != "invalid_examples"}
        ws.ledger.append(session, "labels.ingested", entry, actor=ws.context.who, charter=name)

    if not commit(ws, LABEL_LOG, name, committed=recorded, record=insert):
        return None
    state.labels = pl.concat([state.labels, changes.select("key", "label")]).unique(
        "key", keep="last", maintain_order=True
    )
    return batch


def _recorded(session: Session, name: str, delivery: Delivery) -> bool:
    newest = session.scalar(
        sa.select(LabelBatch.fingerprint)
        .where(LabelBatch.charter == name, LabelBatch.source == delivery.identity)
        .order_by(LabelBatch.id.desc())
        .limit(1)
    )
    return newest == delivery.fingerprint


def _deliveries_from(session: Session, name: str, identity: str) -> int:
    count = session.scalar(
        sa.select(sa.func.count())
        .select_from(LabelBatch)
        .where(LabelBatch.charter == name, LabelBatch.source == identity)
    )
    return int(count or 0)


def _batch_id(name: str, delivery: Delivery, earlier: int) -> str:
    # The first delivery of an identity keeps the id earlier releases gave it.
    nth = f"|{earlier}" if earlier else ""
    text = f"{name}|labels|{delivery.identity}|{delivery.fingerprint}{nth}"
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _write(
    lake: Lake, folder: str, batch_id: str, frame: pl.DataFrame, now: datetime
) -> tuple[str, str] | None:
    writer = BatchFileWriter(lake, folder, batch_id)
    try:
        writer.write(frame.with_columns(received_at=pl.lit(now)))
        return writer.finish()
    except BaseException:
        writer.abort()
        raise


def _compare(
    checked: CheckedLabels, state: LabelState, identity: str, batch_id: str
) -> tuple[LabelBatchReport, pl.DataFrame]:
    valid = checked.valid
    latest = valid.unique("key", keep="last", maintain_order=True)
    joined = latest.join(
        state.labels.rename({"label": "previous"}), on="key", how="left", maintain_order="left"
    )
    new = joined.filter(pl.col("previous").is_null())
    changed = joined.filter(
        pl.col("previous").is_not_null() & (pl.col("previous") != pl.col("label"))
    )
    unknown = latest.filter(~pl.col("key").is_in(state.keys.implode())).height
    invalid = checked.invalid.height
    batch = LabelBatchReport(
        source=identity,
        batch_id=batch_id,
        rows_in=valid.height + invalid,
        labels_new=new.height,
        labels_changed=changed.height,
        duplicates=valid.height - new.height - changed.height,
        unknown_keys=unknown,
        invalid=invalid,
        quarantined=invalid,
        invalid_by_reason=checked.by_reason(),
        invalid_examples=checked.examples(),
    )
    changes = pl.concat(
        [
            new.with_columns(change=pl.lit("new")),
            changed.with_columns(change=pl.lit("corrected")),
        ]
    ).select("key", "label", "previous", "change", "row")
    return batch, changes
