"""Ground truth: labels arrive weeks late, twice, corrected, or for keys never seen.

``charter labels NAME [FILE]`` reads a file, or the charter's ``labels.source`` (a landing folder
read incrementally, or a SQL table/query read by its cursor), and records each delivery once:

- rows whose key or label is missing or not a number are counted as ``invalid``;
- a key delivered again with the same label is a ``duplicate`` (counted, ignored); with a
  different label it is ``changed`` (the newest label wins, the old one stays in the history);
- a key no prediction was logged for is counted in ``unknown_keys`` but kept, so a prediction
  logged later still finds its label.

Each delivery writes a Parquet file of its new and changed labels, then commits its
``label_batches`` record, its checkpoint and a ``labels.ingested`` ledger entry in one
transaction, the same exactly-once pattern as ingestion. Joins with predictions happen at read time.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
import sqlalchemy as sa

from charter.errors import CharterError, DataError
from charter.plumbing.predictions import BatchFileWriter, read_predictions, seen_keys
from charter.plumbing.sources import (
    SqlReader,
    decode_cursor,
    encode_cursor,
    file_fingerprint,
    folder_identity,
    list_landing_files,
    sql_identity,
)
from charter.spec.model import FolderSource, LabelSpec
from charter.store.tables import IngestCursor, IngestFile, LabelBatch
from charter.workspace import Workspace

_CHECKPOINT_PREFIX = "labels:"


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


@dataclass
class LabelReport:
    charter: str
    batches: list[LabelBatchReport] = field(default_factory=list)
    files_failed: list[dict[str, str]] = field(default_factory=list)
    coverage: float | None = None  # share of logged keys that now have a label

    def total(self, name: str) -> int:
        return sum(int(getattr(b, name)) for b in self.batches)

    def to_dict(self) -> dict[str, Any]:
        counts = (
            "rows_in",
            "labels_new",
            "labels_changed",
            "duplicates",
            "unknown_keys",
            "invalid",
        )
        return {
            "charter": self.charter,
            **{name: self.total(name) for name in counts},
            "coverage": self.coverage,
            "batches": [asdict(b) for b in self.batches],
            "files_failed": self.files_failed,
        }


Delivery = tuple[str, str, Callable[[], pl.DataFrame]]  # identity, fingerprint, reader


def ingest_labels(ws: Workspace, name: str, file: Path | None = None) -> LabelReport:
    """Record new ground truth for charter ``name`` from ``file`` or the charter's label source."""
    charter = ws.load(name).charter
    if charter.labels is None:
        raise CharterError(
            f"charter {name!r} has no labels section, so labels cannot be joined to predictions",
            hint="Add e.g. `labels: {key: application_id, target: defaulted}` to the charter.",
        )
    spec = charter.labels
    report = LabelReport(charter=name)
    state = _LabelState(ws, name)
    if file is not None:
        path = Path(file)
        if not path.is_file():
            raise DataError(f"label file {path} does not exist")
        deliveries: Iterator[Delivery] = iter(
            [(f"file:{path.resolve()}", file_fingerprint(path), lambda: _read_file(path))]
        )
        _run(ws, name, spec, state, deliveries, report, checkpoint=None)
    elif spec.source is None:
        raise CharterError(
            f"no label file given and charter {name!r} declares no labels.source",
            hint=f"Run `charter labels {name} FILE`, or add labels.source to the charter.",
        )
    elif isinstance(spec.source, FolderSource):
        _from_folder(ws, name, spec, spec.source, state, report)
    else:
        _from_sql(ws, name, spec, state, report)
    report.coverage = _coverage(ws, name)
    return report


# -- sources ------------------------------------------------------------------------------------
def _from_folder(
    ws: Workspace,
    name: str,
    spec: LabelSpec,
    source: FolderSource,
    state: _LabelState,
    report: LabelReport,
) -> None:
    folder = ws.resolve(source.path)
    for landing in list_landing_files(folder, source):
        key = _CHECKPOINT_PREFIX + landing.name
        with ws.db.read() as session:
            done = session.scalar(
                sa.select(IngestFile).where(IngestFile.charter == name, IngestFile.path == key)
            )
        if done is not None and (done.size, done.mtime_ns) == (landing.size, landing.mtime_ns):
            continue
        fingerprint = file_fingerprint(landing.path)
        identity = f"{folder_identity(source)}/{landing.name}"

        def checkpoint(
            session: Any,
            batch_id: str | None,
            error: str | None,
            landing: Any = landing,
            key: str = key,
            fingerprint: str = fingerprint,
        ) -> None:
            row = session.scalar(
                sa.select(IngestFile).where(IngestFile.charter == name, IngestFile.path == key)
            )
            if row is None:
                row = IngestFile(charter=name, path=key, attempts=0)
                session.add(row)
            row.size, row.mtime_ns, row.fingerprint = landing.size, landing.mtime_ns, fingerprint
            row.status, row.batch_id, row.error = (
                ("failed" if error else "ingested"),
                batch_id,
                error,
            )
            row.attempts = (row.attempts or 0) + (1 if error else 0)
            row.updated_at = datetime.now(UTC)

        reader = _file_reader(landing.path)
        _run(
            ws,
            name,
            spec,
            state,
            iter([(identity, fingerprint, reader)]),
            report,
            checkpoint=checkpoint,
        )


def _from_sql(
    ws: Workspace, name: str, spec: LabelSpec, state: _LabelState, report: LabelReport
) -> None:
    from charter.spec.model import SqlSource

    source = spec.source
    assert isinstance(source, SqlSource)
    identity = _CHECKPOINT_PREFIX + sql_identity(source)
    with ws.db.read() as session:
        cursor = session.scalar(
            sa.select(IngestCursor).where(
                IngestCursor.charter == name, IngestCursor.source == identity
            )
        )
        high_water = decode_cursor(cursor.high_water) if cursor is not None else None
    reader = SqlReader(source)
    try:
        while (batch := reader.next_batch(high_water)) is not None:
            upto = batch.cursor_to

            def checkpoint(
                session: Any, batch_id: str | None, error: str | None, upto: Any = upto
            ) -> None:
                row = session.scalar(
                    sa.select(IngestCursor).where(
                        IngestCursor.charter == name, IngestCursor.source == identity
                    )
                )
                if row is None:
                    row = IngestCursor(charter=name, source=identity)
                    session.add(row)
                if error is None:
                    row.high_water, row.batch_id = encode_cursor(upto), batch_id
                row.error, row.updated_at = error, datetime.now(UTC)

            frame = batch.frame
            _run(
                ws,
                name,
                spec,
                state,
                iter([(identity, batch.fingerprint, _constant(frame))]),
                report,
                checkpoint=checkpoint,
            )
            high_water = upto
    except DataError as exc:
        report.files_failed.append({"file": reader.where, "error": exc.message})
    finally:
        reader.close()


def _constant(frame: pl.DataFrame) -> Callable[[], pl.DataFrame]:
    return lambda: frame


def _file_reader(path: Path) -> Callable[[], pl.DataFrame]:
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


# -- one delivery -------------------------------------------------------------------------------
class _LabelState:
    """The labels and prediction keys known so far, extended as deliveries commit."""

    def __init__(self, ws: Workspace, name: str) -> None:
        self.labels = read_labels(ws, name)
        self.keys = seen_keys(ws, name)


def _run(
    ws: Workspace,
    name: str,
    spec: LabelSpec,
    state: _LabelState,
    deliveries: Iterator[Delivery],
    report: LabelReport,
    *,
    checkpoint: Callable[[Any, str | None, str | None], None] | None,
) -> None:
    for identity, fingerprint, read in deliveries:
        batch_id = hashlib.sha256(f"{name}|labels|{identity}|{fingerprint}".encode()).hexdigest()[
            :32
        ]
        with ws.db.read() as session:
            if session.scalar(sa.select(LabelBatch.id).where(LabelBatch.batch_id == batch_id)):
                continue  # this exact delivery is already recorded
        try:
            frame = _clean(read(), spec, identity)
        except DataError as exc:
            report.files_failed.append({"file": identity, "error": exc.message})
            if checkpoint is not None:
                with ws.db.session() as session:
                    checkpoint(session, None, exc.message)
            continue
        batch, changes = _compare(frame, state, identity, batch_id)
        writer = BatchFileWriter(ws.state_dir / "labels" / name, batch_id)
        now = datetime.now(UTC)
        writer.write(changes.with_columns(label_batch_id=pl.lit(batch_id), received_at=pl.lit(now)))
        written = writer.finish()
        with ws.db.session() as session:
            session.add(
                LabelBatch(
                    batch_id=batch_id,
                    charter=name,
                    source=identity,
                    fingerprint=fingerprint,
                    rows_in=batch.rows_in,
                    labels_new=batch.labels_new,
                    labels_changed=batch.labels_changed,
                    duplicates=batch.duplicates,
                    unknown_keys=batch.unknown_keys,
                    invalid=batch.invalid,
                    path=str(written[0].relative_to(ws.state_dir)) if written else None,
                    sha256=written[1] if written else None,
                    received_at=now,
                )
            )
            if checkpoint is not None:
                checkpoint(session, batch_id, None)
            ws.ledger.append(
                session, "labels.ingested", asdict(batch), actor=ws.actor, charter=name
            )
        state.labels = pl.concat([state.labels, changes]).unique(
            "key", keep="last", maintain_order=True
        )
        report.batches.append(batch)


def _clean(frame: pl.DataFrame, spec: LabelSpec, where: str) -> pl.DataFrame:
    """``key`` (text) and ``label`` (number) of valid rows; the rest counted via ``rows_in``."""
    missing = [c for c in (spec.key, spec.target) if c not in frame.columns]
    if missing:
        raise DataError(
            f"{where}: no column {', '.join(map(repr, missing))} in the labels "
            f"(columns: {', '.join(frame.columns) or 'none'})"
        )
    target = frame[spec.target]
    if target.dtype == pl.String:
        lowered = target.str.strip_chars().str.to_lowercase()
        target = lowered.replace_strict({"true": "1", "false": "0"}, default=lowered).cast(
            pl.Float64, strict=False
        )
    else:
        target = target.cast(pl.Float64, strict=False)
    return pl.DataFrame({"key": frame[spec.key].cast(pl.String), "label": target})


def _compare(
    frame: pl.DataFrame, state: _LabelState, identity: str, batch_id: str
) -> tuple[LabelBatchReport, pl.DataFrame]:
    rows_in = frame.height
    valid = frame.filter(
        pl.col("key").is_not_null() & pl.col("label").is_not_null() & pl.col("label").is_finite()
    )
    latest = valid.select("key", "label").unique("key", keep="last", maintain_order=True)
    joined = latest.join(state.labels.rename({"label": "_old"}), on="key", how="left")
    new = joined.filter(pl.col("_old").is_null())
    changed = joined.filter(pl.col("_old").is_not_null() & (pl.col("_old") != pl.col("label")))
    unknown = latest.filter(~pl.col("key").is_in(state.keys.implode())).height
    batch = LabelBatchReport(
        source=identity,
        batch_id=batch_id,
        rows_in=rows_in,
        labels_new=new.height,
        labels_changed=changed.height,
        duplicates=valid.height - new.height - changed.height,
        unknown_keys=unknown,
        invalid=rows_in - valid.height,
    )
    return batch, pl.concat([new, changed]).select("key", "label")


# -- reading ------------------------------------------------------------------------------------
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
    frames = [pl.read_parquet(ws.state_dir / p, columns=["key", "label"]) for p in paths if p]
    return pl.concat(frames).unique("key", keep="last", maintain_order=True)


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
