"""When a landing file is complete enough to read: a settle period, or the producer's marker.

A file still being written must not be read: its rows would be cut mid-line, and the rest would
later arrive as a changed file. Three conventions, from strongest to weakest:

1. **arrival by rename** (the producer writes ``.name`` or ``name.tmp``, which are never listed,
   then renames it into place; a rename is atomic within one file system): the file is complete
   when it appears, and ``settle: 0s`` reads it at once;
2. **a marker** (``marker: success``: a ``_SUCCESS`` file in the data file's folder, as Spark and
   Hadoop write; ``marker: done``: a ``FILE.done`` file beside ``FILE``): only marked files are
   read, whatever their age;
3. **a settle period** (``settle``, 30s by default): a file is read only once its size and
   modification time have not changed for that long. A writer that pauses longer than the
   settle period is indistinguishable from one that finished, so prefer 1 or 2.

Files not ready are reported as *waiting* (not failed) and looked at again on the next run. Once
reading starts, a file that changes or disappears before its batch commits is not committed.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from charter.plumbing.sources import LandingFile
from charter.spec.model import FolderSource

SUCCESS_MARKER = "_SUCCESS"
DONE_SUFFIX = ".done"


def settle_period(source: FolderSource, override_seconds: float | None) -> timedelta:
    """The charter's settle period, unless the process overrides it (CHARTER_INGEST_SETTLE)."""
    if override_seconds is not None:
        return timedelta(seconds=max(override_seconds, 0.0))
    return source.settle


def waiting_reason(
    file: LandingFile, source: FolderSource, *, settle: timedelta, now: datetime
) -> str | None:
    """Why ``file`` is not read yet, or None when it is ready (a Delta table's version: once
    its commit file exists, since a Delta commit appears whole)."""
    if source.kind == "delta_table":
        return None
    if source.marker == "success":
        marker = file.path.parent / SUCCESS_MARKER
        if not marker.exists():
            return f"no {SUCCESS_MARKER} marker in its folder yet (data.source.marker: success)"
        return None
    if source.marker == "done":
        marker = file.path.with_name(file.path.name + DONE_SUFFIX)
        if not marker.exists():
            return f"no {marker.name} marker beside it yet (data.source.marker: done)"
        return None
    if settle <= timedelta(0):
        return None
    modified = datetime.fromtimestamp(file.mtime_ns / 1e9, UTC)
    age = now - modified
    if age < timedelta(0):
        return (
            f"modified in the future ({modified:%Y-%m-%d %H:%M:%S} UTC): is this machine's clock "
            "behind the writer's? It is read once it has settled"
        )
    if age < settle:
        return (
            f"modified {age.total_seconds():.0f}s ago; read once unchanged for "
            f"{settle.total_seconds():.0f}s (data.source.settle)"
        )
    return None
