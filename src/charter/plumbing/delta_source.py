"""A Delta Lake table as a landing source: each new table version is a batch.

``data.source: {kind: delta_table, path: <table folder>}`` names a Delta table. A Delta table is
a folder of Parquet files and a transaction log (``_delta_log/<version>.json``, one commit file
per version, written whole and never changed). Ingestion maps it onto the landing model
(:mod:`.sources`, :mod:`.landing`) one version at a time:

- each commit file is a landing file (named ``version <n>`` in reports and checkpoints): its
  bytes fingerprint the batch, so a version is ingested exactly once, in version order;
- a version is ready as soon as its commit file exists (Delta commits are atomic), so the
  settle period and markers do not apply;
- the batch holds the rows of the data files the version *added with a data change*
  (``add`` actions with ``dataChange: true``): appends, in the order of their file paths,
  with partition columns filled in from the log. A compaction (``OPTIMIZE``, ``dataChange:
  false``) adds no rows. A version that rewrites files (``UPDATE``, ``MERGE``, an overwrite)
  adds its rewritten files' rows again: rows whose key was already logged are then
  quarantined as ``unique_across_batches``, and removed rows are not taken back.

The log is read with the ``deltalake`` package (``pip install 'charter[delta]'``): table
schema, typed partition values and the data files of each version, so tables written by Spark,
delta-rs or Databricks read the same. Deletion vectors are not applied (tables that use them
must be read through Spark's Delta connector, see docs/scale.md).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import polars as pl
import pyarrow as pa

from charter.engines.polars.file_reading import parquet_chunks, readable
from charter.errors import DataError

__all__ = ["DELTA_KIND", "delta_version_frames", "list_delta_versions"]

DELTA_KIND = "delta_table"
LOG_DIR = "_delta_log"
_COMMIT = re.compile(r"^(\d{20})\.json$")


def list_delta_versions(folder: Path) -> list[tuple[Path, str, int]]:
    """The table's commit files, oldest version first: (path, name, version)."""
    log = folder / LOG_DIR
    if not log.is_dir():
        raise DataError(
            f"{readable(folder)} is not a Delta table: it has no {LOG_DIR} folder",
            hint="data.source.path must name the table's folder (the one holding _delta_log).",
        )
    found = []
    for path in log.iterdir():
        matched = _COMMIT.match(path.name)
        if matched is not None:
            version = int(matched.group(1))
            found.append((path, f"version {version}", version))
    return sorted(found, key=lambda item: item[2])


def delta_version_frames(commit: Path, chunk_rows: int) -> Iterator[pl.DataFrame]:
    """The rows version ``commit`` added, in frames of at most ``chunk_rows`` rows, each with
    the table's columns in its schema's order (one empty frame when it added none)."""
    table = commit.parent.parent
    version = int(commit.stem)
    snapshot = _table(table, version)
    empty = pl.from_arrow(pa.schema(snapshot.schema().to_arrow()).empty_table())
    assert isinstance(empty, pl.DataFrame)
    schema = empty.schema
    partitions = _partition_values(snapshot)
    yielded = False
    for relative in _added_with_data_change(commit):
        values = partitions.get(relative)
        if values is None:
            raise DataError(
                f"{readable(table)} version {version}: the log adds {relative}, which the "
                "table's snapshot at that version does not list"
            )
        for chunk in parquet_chunks(table / relative, chunk_rows):
            filled = chunk.with_columns(
                pl.lit(value).cast(schema[name]).alias(name) for name, value in values.items()
            )
            yield filled.select(schema.names()).cast(schema, strict=False)
            yielded = True
    if not yielded:
        yield pl.DataFrame(schema=schema)


def _table(folder: Path, version: int) -> Any:
    try:
        from deltalake import DeltaTable
    except ImportError:
        raise DataError(
            f"{readable(folder)}: reading a Delta table needs the deltalake package",
            hint="pip install 'charter[delta]'",
        ) from None
    try:
        return DeltaTable(str(folder), version=version)
    except Exception as exc:  # deltalake's errors are Rust's: said about the table, in one line
        said = str(exc).strip().splitlines()
        raise DataError(
            f"{readable(folder)} version {version}: the Delta log cannot be read: "
            f"{said[0] if said else type(exc).__name__}"
        ) from None


def _partition_values(snapshot: Any) -> dict[str, dict[str, Any]]:
    """Every data file of the snapshot with its partition values (typed, by column)."""
    actions = pa.table(snapshot.get_add_actions(flatten=True))
    columns = [c for c in actions.column_names if c.startswith("partition.")]
    out: dict[str, dict[str, Any]] = {}
    for row in actions.select(["path", *columns]).to_pylist():
        out[unquote(str(row["path"]))] = {c[len("partition.") :]: row[c] for c in columns}
    return out


def _added_with_data_change(commit: Path) -> list[str]:
    """The data files version ``commit`` added with a data change, sorted by path."""
    added = []
    for line in commit.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        action = json.loads(line)
        add = action.get("add")
        if isinstance(add, dict) and add.get("dataChange", True):
            added.append(unquote(str(add["path"])))
    return sorted(added)
