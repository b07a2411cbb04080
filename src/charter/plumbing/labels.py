"""Ground truth: labels arrive weeks late, twice, corrected, or for keys never seen.

``charter labels NAME [FILE]`` reads a file, or the charter's ``labels.source`` (a landing folder
read incrementally, or a SQL table/query read by its cursor), and records each delivery once:

- invalid rows (no key, no label, a label that is not one of ``labels.values``) are counted as
  ``invalid`` and quarantined with their reason (:mod:`charter.plumbing.label_values`); a binary
  delivery holding numbers outside ``labels.values`` (a 0/2 target) is refused whole;
- a key delivered again with the same label is a ``duplicate`` (counted, ignored); with a
  different label it is ``changed``: the newest label wins, the old one stays in the log, and
  ``charter label-history NAME KEY`` shows both (:mod:`charter.plumbing.labels_store`);
- a key no prediction was logged for is counted in ``unknown_keys`` but kept, so a prediction
  logged later still finds its label.

A delivery is known by its content (SHA-256), so a file corrected and sent again under the same
path is a new delivery (:mod:`charter.plumbing.label_delivery`). Runs of one charter take turns
(:func:`charter.plumbing.batch_commit.one_run_at_a_time`): a run waits (``wait`` seconds) for
the one in progress, then sees what it recorded. Joins with predictions happen at read time.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
import sqlalchemy as sa
from sqlalchemy.orm import Session

from charter.errors import CharterError, DataError
from charter.plumbing.batch_commit import LABEL_LOG, one_run_at_a_time
from charter.plumbing.label_delivery import Delivery, LabelBatchReport, LabelState, record
from charter.plumbing.labels_store import read_labels
from charter.plumbing.predictions import read_predictions, seen_keys
from charter.plumbing.sources import (
    LandingFile,
    SqlReader,
    decode_cursor,
    encode_cursor,
    file_fingerprint,
    folder_identity,
    list_landing_files,
    sql_identity,
)
from charter.schemas import data as schemas
from charter.spec.model import Charter, FolderSource, SqlSource
from charter.store.tables import IngestCursor, IngestFile
from charter.workspace import Workspace

__all__ = [
    "LOCK_WAIT_SECONDS",
    "LabelBatchReport",
    "LabelReport",
    "ingest_labels",
    "labelled_predictions",
    "read_labels",
]

LOCK_WAIT_SECONDS = 300.0
_CHECKPOINT_PREFIX = "labels:"
_COUNTS = (
    "rows_in",
    "labels_new",
    "labels_changed",
    "duplicates",
    "unknown_keys",
    "invalid",
    "quarantined",
)


@dataclass
class LabelReport:
    charter: str
    batches: list[LabelBatchReport] = field(default_factory=list)
    files_failed: list[dict[str, str]] = field(default_factory=list)
    coverage: float | None = None  # share of logged keys that now have a label

    def total(self, name: str) -> int:
        return sum(int(getattr(b, name)) for b in self.batches)

    def invalid_by_reason(self) -> dict[str, int]:
        totals: dict[str, int] = {}
        for batch in self.batches:
            for reason, n in batch.invalid_by_reason.items():
                totals[reason] = totals.get(reason, 0) + n
        return dict(sorted(totals.items(), key=lambda kv: (-kv[1], kv[0])))

    def to_schema(
        self, attention: Sequence[schemas.Attention] | None = None
    ) -> schemas.LabelsResult:
        """``attention``: the facts the CLI lists (``charter labels --json``)."""
        return schemas.LabelsResult(
            charter=self.charter,
            **{name: self.total(name) for name in _COUNTS},
            invalid_by_reason=self.invalid_by_reason(),
            deliveries_refused=len(self.files_failed),
            coverage=self.coverage,
            batches=[asdict(b) for b in self.batches],
            files_failed=self.files_failed,
            attention=None if attention is None else list(attention),
        )

    def to_dict(self) -> dict[str, Any]:
        return self.to_schema().to_json_dict()


def ingest_labels(
    ws: Workspace, name: str, file: Path | None = None, *, wait: float = LOCK_WAIT_SECONDS
) -> LabelReport:
    """Record new ground truth for charter ``name`` from ``file`` or the charter's label source.

    Waits up to ``wait`` seconds for another labels run of the charter in this workspace to end.
    """
    charter = ws.load(name).charter
    if charter.labels is None:
        raise CharterError(
            f"charter {name!r} has no labels section, so labels cannot be joined to predictions",
            hint="Add e.g. `labels: {key: application_id, target: defaulted}` to the charter.",
        )
    source = charter.labels.source
    if file is not None and not Path(file).is_file():
        raise DataError(f"label file {file} does not exist")
    if file is None and source is None:
        raise CharterError(
            f"no label file given and charter {name!r} declares no labels.source",
            hint=f"Run `charter labels {name} FILE`, or add labels.source to the charter.",
        )
    report = LabelReport(charter=name)
    with one_run_at_a_time(
        ws,
        LABEL_LOG,
        charter.name,
        wait=wait,
        # two runs that overlapped would both judge a delivery new against the same old labels
        busy=f"another `charter labels {name}` run is in progress in this workspace",
        hint="Nothing was recorded by this run. Run it again when the other one has "
        "finished, or pass --wait SECONDS to wait longer.",
    ):
        run = _Run(ws, charter, report)
        if file is not None:
            path = Path(file)
            run.record(Delivery(f"file:{path.resolve()}", file_fingerprint(path), _reader(path)))
        elif isinstance(source, FolderSource):
            run.from_folder(source)
        elif isinstance(source, SqlSource):
            run.from_sql(source)
        report.coverage = _coverage(ws, charter.name)
    return report


class _Run:
    """One labels run of one charter: the labels known so far and the report."""

    def __init__(self, ws: Workspace, charter: Charter, report: LabelReport) -> None:
        self.ws, self.charter, self.report = ws, charter, report
        self.name = charter.name
        self.state = LabelState(ws, self.name)

    def record(self, delivery: Delivery) -> bool:
        """Record one delivery; False when it failed (reported in ``files_failed``)."""
        try:
            batch = record(self.ws, self.charter, self.state, delivery)
        except DataError as exc:
            self.report.files_failed.append({"file": delivery.identity, "error": exc.message})
            return False
        if batch is not None:
            self.report.batches.append(batch)
        return True

    def from_folder(self, source: FolderSource) -> None:
        folder = self.ws.resolve(source.path)
        try:
            files = list_landing_files(folder, source)
        except DataError as exc:
            self.report.files_failed.append({"file": str(folder), "error": exc.message})
            return
        for landing in files:
            key = _CHECKPOINT_PREFIX + landing.name
            fingerprint = file_fingerprint(landing.path)  # by content: a rewrite is new
            with self.ws.db.read() as session:
                done = _checkpoint_row(session, self.name, key)
            if done is not None and done.fingerprint == fingerprint:
                continue  # recorded, or failed and unchanged (as ingestion, not re-read)
            identity = f"{folder_identity(source)}/{landing.name}"
            checkpoint = _file_checkpoint(self.name, key, landing, fingerprint)
            self.record(Delivery(identity, fingerprint, _reader(landing.path), checkpoint))

    def from_sql(self, source: SqlSource) -> None:
        identity = _CHECKPOINT_PREFIX + sql_identity(source)
        with self.ws.db.read() as session:
            cursor = _cursor_row(session, self.name, identity)
            high_water = decode_cursor(cursor.high_water) if cursor is not None else None
        reader = SqlReader(source, charter=self.name)
        try:
            while (batch := reader.next_batch(high_water)) is not None:
                checkpoint = _sql_checkpoint(self.name, identity, batch.cursor_to)
                delivery = Delivery(identity, batch.fingerprint, _constant(batch.frame), checkpoint)
                if not self.record(delivery):
                    return  # the cursor stays before the refused batch
                high_water = batch.cursor_to
        except DataError as exc:
            self.report.files_failed.append({"file": reader.where, "error": exc.message})
        finally:
            reader.close()


# -- checkpoints: committed in the delivery's own transaction -----------------------------------
def _checkpoint_row(session: Session, name: str, key: str) -> IngestFile | None:
    return session.scalar(
        sa.select(IngestFile).where(IngestFile.charter == name, IngestFile.path == key)
    )


def _cursor_row(session: Session, name: str, identity: str) -> IngestCursor | None:
    return session.scalar(
        sa.select(IngestCursor).where(IngestCursor.charter == name, IngestCursor.source == identity)
    )


def _file_checkpoint(
    name: str, key: str, landing: LandingFile, fingerprint: str
) -> Callable[[Session, str | None, str | None], None]:
    def checkpoint(session: Session, batch_id: str | None, error: str | None) -> None:
        row = _checkpoint_row(session, name, key)
        if row is None:
            row = IngestFile(charter=name, path=key, attempts=0)
            session.add(row)
        row.size, row.mtime_ns, row.fingerprint = landing.size, landing.mtime_ns, fingerprint
        row.status, row.batch_id, row.error = ("failed" if error else "ingested"), batch_id, error
        row.attempts = (row.attempts or 0) + (1 if error else 0)
        row.updated_at = datetime.now(UTC)

    return checkpoint


def _sql_checkpoint(
    name: str, identity: str, upto: Any
) -> Callable[[Session, str | None, str | None], None]:
    def checkpoint(session: Session, batch_id: str | None, error: str | None) -> None:
        row = _cursor_row(session, name, identity)
        if row is None:
            row = IngestCursor(charter=name, source=identity)
            session.add(row)
        if error is None:
            row.high_water, row.batch_id = encode_cursor(upto), batch_id
        row.error, row.updated_at = error, datetime.now(UTC)

    return checkpoint


def _constant(frame: pl.DataFrame) -> Callable[[], pl.DataFrame]:
    return lambda: frame


def _reader(path: Path) -> Callable[[], pl.DataFrame]:
    return lambda: _read_file(path)


def _read_file(path: Path) -> pl.DataFrame:
    suffix = path.suffix.lower()
    try:
        if suffix == ".parquet":
            return pl.read_parquet(path)
        if suffix == ".csv":
            return pl.read_csv(path, infer_schema=False)
        if suffix in (".jsonl", ".ndjson", ".json"):
            return pl.read_ndjson(path)
    except (pl.exceptions.PolarsError, OSError, ValueError) as exc:
        raise DataError(f"{path}: cannot read labels: {str(exc).splitlines()[0]}") from exc
    raise DataError(f"{path}: unknown label file type {suffix!r}; use .parquet, .csv or .jsonl")


# -- reading ------------------------------------------------------------------------------------
def labelled_predictions(ws: Workspace, name: str) -> pl.LazyFrame:
    """The prediction log with a ``label`` column (null while the label has not arrived)."""
    return read_predictions(ws, name).join(read_labels(ws, name).lazy(), on="key", how="left")


def _coverage(ws: Workspace, name: str) -> float | None:
    keys = seen_keys(ws, name)
    if keys.len() == 0:
        return None
    labels = read_labels(ws, name)
    labelled = int(keys.is_in(labels["key"].implode()).sum())
    return round(labelled / keys.len(), 4)
