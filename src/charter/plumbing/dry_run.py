"""A dry run of ingestion: what ``charter ingest`` would do with one file, changing nothing.

:func:`dry_run` reads the file the way ingestion reads a landing file (in chunks, CSV values as
text), validates every chunk through the same engine and rules, names a key repeated from an
earlier chunk ``<key>.unique`` as ingestion does, and flags late rows against the committed
watermark. It reads the store (the watermark, the keys already logged) but writes nothing: no
batch, no ledger entry, no prediction or quarantine file, no checkpoint. A workspace whose
SQLite database does not exist yet is not created: the run then has no history to compare with.
Scoring is not part of it (rows a model version could not score are found only by ingest).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
import sqlalchemy as sa

from charter.engines.base import DEFAULT_ENGINE, engine_for
from charter.engines.rules import VIOLATIONS, BatchRuleResult, contract_rules
from charter.errors import CharterError
from charter.plumbing import predictions as log
from charter.plumbing.ingest_batch import (
    ROW,
    KeyMemory,
    batch_id_for,
    late_flags,
    repeats_within_batch,
)
from charter.plumbing.ingest_report import merge_batch_rules
from charter.plumbing.sources import (
    DEFAULT_CHUNK_ROWS,
    LandingFile,
    file_fingerprint,
    folder_identity,
    read_file_chunks,
)
from charter.spec.loader import LoadedCharter
from charter.spec.model import FolderSource
from charter.store.tables import IngestBatch
from charter.workspace import Workspace

_KINDS = {
    ".parquet": "parquet_dir",
    ".csv": "csv_dir",
    ".jsonl": "jsonl_dir",
    ".ndjson": "jsonl_dir",
}


@dataclass
class DryRun:
    """What ingest would do with one file."""

    charter: str
    file: str
    rows_in: int = 0
    rows_valid: int = 0
    rows_quarantined: int = 0
    rows_late: int = 0
    violations: dict[str, int] = field(default_factory=dict)
    examples: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    batch_rules: list[dict[str, Any]] = field(default_factory=list)
    schema_changes: list[dict[str, str]] = field(default_factory=list)
    watermark: datetime | None = None
    keys_seen: int = 0
    already_ingested: str | None = None  # the committed batch holding these very bytes
    notes: list[str] = field(default_factory=list)

    @property
    def balanced(self) -> bool:
        return self.rows_in == self.rows_valid + self.rows_quarantined


def dry_run(
    ws: Workspace,
    loaded: LoadedCharter,
    file: Path,
    *,
    examples: int = 3,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
) -> DryRun:
    """Validate ``file`` against ``loaded``'s data contract as ingest would; write nothing."""
    contract, name = loaded.charter.data, loaded.charter.name
    report = DryRun(name, str(file))
    source = _source_for(file, contract.source)
    try:
        stat = file.stat()
    except FileNotFoundError:
        raise CharterError(
            f"{file} does not exist", hint="Give a .parquet, .csv or .jsonl file."
        ) from None
    landing = LandingFile(file, file.name, stat.st_size, stat.st_mtime_ns)
    has_history = _has_store(ws)
    memory = KeyMemory(ws, name, writable=False) if has_history else None
    if has_history:
        report.watermark = log.watermark(ws, name)
        report.already_ingested = _committed_batch(ws, name, contract.source, file)
        if report.already_ingested:
            report.notes.append(
                f"these bytes were ingested already (batch {report.already_ingested}): ingest "
                "would skip the file; its rows are judged here as a new delivery would be"
            )
    else:
        report.notes.append("no store in this workspace yet: no watermark or earlier keys")
    rules, engine = contract_rules(contract), engine_for(DEFAULT_ENGINE)
    pending: list[pl.Series] = []
    chunk_rules: list[tuple[int, list[BatchRuleResult]]] = []
    changes: dict[tuple[str, str], dict[str, str]] = {}
    now = datetime.now(UTC)
    for chunk in read_file_chunks(landing, source, chunk_rows=chunk_rows):
        chunk = chunk.with_row_index(ROW, offset=report.rows_in).with_columns(
            pl.col(ROW).cast(pl.Int64)
        )
        seen = memory.lookup(contract.key, pending) if memory else _pending_only(pending)
        result = engine.validate(chunk, rules, seen_keys=seen, now=now)
        valid = result.valid
        failed = repeats_within_batch(result.failed, contract.key, pending)
        for change in result.schema_changes:
            if change.column != ROW:
                changes.setdefault((change.kind, change.column), change.to_dict())
        chunk_rules.append((chunk.height, result.batch_rules))
        event_time = log.utc_event_time(valid, contract.event_time)
        late = late_flags(event_time, report.watermark, contract.freshness.max_lateness)
        _count(report, failed, examples)
        pending.append(valid.get_column(contract.key))
        report.rows_in += chunk.height
        report.rows_valid += valid.height
        report.rows_quarantined += failed.height
        report.rows_late += int(late.sum())
    report.batch_rules = merge_batch_rules(chunk_rules) if chunk_rules else []
    report.schema_changes = list(changes.values())
    if memory is not None:
        report.keys_seen = memory.committed_count()
    report.violations = dict(sorted(report.violations.items(), key=lambda kv: -kv[1]))
    return report


def _count(report: DryRun, failed: pl.DataFrame, examples: int) -> None:
    if failed.is_empty():
        return
    counts = failed.get_column(VIOLATIONS).explode().value_counts()
    for rule, count in zip(counts[VIOLATIONS].to_list(), counts["count"].to_list(), strict=True):
        report.violations[rule] = report.violations.get(rule, 0) + int(count)
        have = report.examples.setdefault(rule, [])
        if len(have) < examples:
            rows = failed.filter(pl.col(VIOLATIONS).list.contains(rule)).head(examples - len(have))
            have.extend(_plain(row) for row in rows.drop(VIOLATIONS).to_dicts())


def _plain(row: dict[str, Any]) -> dict[str, Any]:
    """A row as its values read: the row number, then each column, times as ISO text."""
    out: dict[str, Any] = {"row": row.pop(ROW, None)}
    for key, value in row.items():
        out[key] = value.isoformat() if hasattr(value, "isoformat") else value
    return out


def _committed_batch(ws: Workspace, name: str, source: Any, file: Path) -> str | None:
    """The committed batch of ``name`` with the same bytes from the charter's landing folder."""
    if not isinstance(source, FolderSource):
        return None
    batch_id = batch_id_for(name, folder_identity(source), file_fingerprint(file))
    with ws.db.read() as session:
        found = session.scalar(sa.select(IngestBatch.id).where(IngestBatch.batch_id == batch_id))
    return batch_id if found is not None else None


def _pending_only(pending: list[pl.Series]) -> Any:
    def seen(column: str, values: pl.Series) -> pl.Series:
        hit = pl.Series([False] * values.len(), dtype=pl.Boolean)
        for part in pending:
            hit = hit | values.is_in(part.cast(values.dtype, strict=False).implode())
        return values.filter(hit)

    return seen


def _source_for(file: Path, source: Any) -> FolderSource:
    """How to read ``file``: by its suffix, with the charter's CSV options when it has them."""
    kind = _KINDS.get(file.suffix.lower())
    if kind is None:
        raise CharterError(
            f"{file}: cannot tell the format from the suffix {file.suffix or '(none)'}",
            hint="Give a .parquet, .csv or .jsonl file.",
        )
    if isinstance(source, FolderSource):
        return source.model_copy(update={"kind": kind})
    return FolderSource(kind=kind, path=".")


def _has_store(ws: Workspace) -> bool:
    """Whether the workspace has a database to read (a missing SQLite file is not created)."""
    url = ws.database_url
    if not url.startswith("sqlite:///"):
        return True
    return Path(url.removeprefix("sqlite:///")).exists()
