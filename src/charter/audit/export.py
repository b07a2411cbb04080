"""Writing the ledger out for an auditor: JSON Lines or Parquet, one row per entry."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa
import pyarrow.parquet as pq

from charter.audit.ledger import Ledger
from charter.errors import AuditError

ExportFormat = Literal["jsonl", "parquet"]
_COLUMNS = ("seq", "recorded_at", "actor", "action", "charter", "payload", "prev_hash", "hash")


def export_ledger(ledger: Ledger, path: Path, fmt: ExportFormat) -> int:
    """Write every entry to ``path``; return how many were written."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if fmt == "jsonl":
            return _write_jsonl(ledger, path)
        return _write_parquet(ledger, path)
    except OSError as exc:
        raise AuditError(f"cannot write the audit export to {path}: {exc.strerror or exc}") from exc


def _rows(ledger: Ledger) -> Any:
    for entry in ledger.iter_all():
        yield {name: getattr(entry, name) for name in _COLUMNS}


def _write_jsonl(ledger: Ledger, path: Path) -> int:
    count = 0
    with path.open("w", encoding="utf-8") as handle:
        for row in _rows(ledger):
            row["payload"] = json.loads(row["payload"])
            handle.write(json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n")
            count += 1
    return count


def _write_parquet(ledger: Ledger, path: Path) -> int:
    schema = pa.schema(
        [("seq", pa.int64())] + [(name, pa.string()) for name in _COLUMNS if name != "seq"]
    )
    count = 0
    with pq.ParquetWriter(path, schema) as writer:
        batch: list[dict[str, Any]] = []
        for row in _rows(ledger):
            batch.append(row)
            if len(batch) >= 10_000:
                writer.write_table(pa.Table.from_pylist(batch, schema=schema))
                count += len(batch)
                batch = []
        if batch or count == 0:
            writer.write_table(pa.Table.from_pylist(batch, schema=schema))
            count += len(batch)
    return count
