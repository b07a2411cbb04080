"""The lake: where the logs' Parquet files live, a local folder or any fsspec URL.

``CHARTER_LAKE`` names it (default: the workspace's ``.charter`` folder, where the logs have
always been). Every log file is known by its *key*, its path under the lake's root
(``predictions/<charter>/<batch>.parquet``), and a batch record names the keys of its files, so
the same database read from another machine reads the same files from the same lake.

Placing files differs by kind of lake, because an object store has no atomic rename:

- **a local folder** keeps what it always did: a file is written to a temporary name beside its
  final one, fsynced and renamed over it, under a name that depends on the batch id only;
- **an object store** (``s3://``, ``gs://``, ``abfs://``, ...) gets each file written first to a
  spool folder on this machine (``.charter/spool/``), hashed there, then uploaded once under a
  name unique to this attempt (``<batch>.<attempt>.parquet``). An upload appears whole or not at
  all; two machines racing for one batch upload different names, and the one whose commit wins
  names its own files. The loser's files, and those of an attempt killed between upload and
  commit, are named by no batch: readers never see them and :func:`clean` removes them once they
  are older than ``CHARTER_LAKE_GRACE`` (uploads happen just before their commit, so a grace of
  minutes already spares every writer still at work).

Readers scan committed keys: a local file with Polars' own reader, an object through a pyarrow
dataset over the fsspec file system (credentials and endpoints are fsspec's: for S3 the usual
``AWS_*`` variables, ``AWS_ENDPOINT_URL`` for an S3-compatible server).
"""

from __future__ import annotations

import functools
import hashlib
import os
import shutil
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import fsspec
import polars as pl
import pyarrow.dataset as ds
import pyarrow.parquet as pq
from fsspec.implementations.local import LocalFileSystem

from charter.errors import CharterError
from charter.redaction import redact_text, redact_url
from charter.workspace import Workspace

__all__ = ["Lake", "lake_for", "open_lake"]

SPOOL_DIR = "spool"


@dataclass(frozen=True)
class Lake:
    """One lake: its file system, its root there, and this machine's spool folder."""

    url: str
    fs: Any
    root: str
    spool: Path

    @property
    def local(self) -> bool:
        """A folder on this machine's file system (atomic rename, deterministic names)."""
        return isinstance(self.fs, LocalFileSystem)

    @property
    def shown(self) -> str:
        """The lake's URL with any secret in it masked, for messages and records."""
        return redact_url(self.url)

    def path(self, key: str) -> str:
        """Where ``key`` lives: an OS path for a local lake, ``bucket/prefix/key`` otherwise."""
        if self.local:
            return str(Path(self.root) / key)
        return f"{self.root.rstrip('/')}/{key}"

    def local_path(self, key: str) -> Path:
        return Path(self.path(key))

    def attempt_name(self, stem: str, suffix: str = ".parquet") -> str:
        """A file name no other attempt uses: ``<stem>.<attempt>.<suffix>`` (object stores)."""
        return f"{stem}.{uuid.uuid4().hex[:16]}{suffix}"

    # -- writing --------------------------------------------------------------------------
    def spool_file(self, folder: str, name: str) -> Path:
        """A local file to write before :meth:`upload` (object stores only)."""
        where = self.spool / folder
        where.mkdir(parents=True, exist_ok=True)
        return where / f"{name}.tmp-{os.getpid()}.{uuid.uuid4().hex[:8]}"

    def upload(self, source: Path, key: str) -> None:
        """Put a finished local file under ``key`` (one object, whole or absent) and drop it."""
        try:
            self.put(source, key)
        finally:
            source.unlink(missing_ok=True)

    def put(self, source: Path, key: str) -> None:
        """Copy a local file under ``key``, whole or not at all: one object in an object
        store, a temporary file renamed into place in a folder."""
        try:
            if self.local:
                final = self.local_path(key)
                final.parent.mkdir(parents=True, exist_ok=True)
                temp = final.with_name(f"{final.name}.tmp-{os.getpid()}")
                shutil.copyfile(source, temp)
                os.replace(temp, final)
            else:
                self.fs.put_file(str(source), self.path(key))
        except (OSError, ValueError) as exc:
            raise CharterError(
                f"cannot write {key} to the lake {self.shown}: {redact_text(str(exc))}",
                hint="Check CHARTER_LAKE, the credentials and that the bucket exists; "
                "nothing was committed, so a re-run writes it again.",
            ) from exc

    def size(self, key: str) -> int | None:
        """The size of ``key`` in bytes; None when there is no such file."""
        path = self.path(key)
        if self.local:
            found = Path(path)
            return found.stat().st_size if found.is_file() else None
        self.fs.invalidate_cache(path)
        try:
            return int(self.fs.info(path)["size"])
        except FileNotFoundError:
            return None

    def remove(self, key: str) -> None:
        path = self.path(key)
        if self.local:
            Path(path).unlink(missing_ok=True)
        elif self.exists(key):
            self.fs.rm_file(path)

    def exists(self, key: str) -> bool:
        path = self.path(key)
        if not self.local:
            self.fs.invalidate_cache(path)
        return bool(self.fs.exists(path))

    # -- reading --------------------------------------------------------------------------
    def sha256(self, key: str) -> str | None:
        """The SHA-256 of the bytes under ``key``; None when there is no such file."""
        digest = hashlib.sha256()
        path = self.path(key)
        if not self.local:
            self.fs.invalidate_cache(path)
        try:
            with self.fs.open(path, "rb") as handle:
                while block := handle.read(1 << 20):
                    digest.update(block)
        except FileNotFoundError:
            return None
        return digest.hexdigest()

    def rows(self, key: str) -> int:
        """How many rows the Parquet file under ``key`` holds (from its footer); 0 if unreadable."""
        try:
            with self.fs.open(self.path(key), "rb") as handle:
                return int(pq.read_metadata(handle).num_rows)
        except (OSError, ValueError):
            return 0

    def scan(self, key: str) -> pl.LazyFrame:
        """One file of the lake, lazily."""
        if self.local:
            return pl.scan_parquet(self.path(key))
        return pl.scan_pyarrow_dataset(self._dataset(key))

    def read(self, key: str, columns: Sequence[str] | None = None) -> pl.DataFrame:
        if self.local:
            return pl.read_parquet(self.path(key), columns=list(columns) if columns else None)
        frame = self.scan(key)
        return (frame.select(columns) if columns else frame).collect()

    def scan_all(self, keys: Sequence[str]) -> pl.LazyFrame:
        """Several files as one frame; a column missing from some is null there."""
        if self.local and len(keys) > 1:
            paths = [self.path(k) for k in keys]
            return pl.scan_parquet(paths, extra_columns="ignore", missing_columns="insert")
        scans = [self.scan(k) for k in keys]
        return scans[0] if len(scans) == 1 else pl.concat(scans, how="diagonal_relaxed")

    def _dataset(self, key: str) -> ds.Dataset:
        path = self.path(key)
        # Another machine may have written the file after this process listed its folder: a
        # cached listing would call it missing.
        self.fs.invalidate_cache(path)
        try:
            return ds.dataset(path, filesystem=self.fs, format="parquet")
        except (OSError, ValueError) as exc:
            raise CharterError(
                f"cannot read {key} from the lake {self.shown}: {redact_text(str(exc))}",
                hint="A committed file is missing or unreadable: is CHARTER_LAKE the lake "
                "this database's batches were written to?",
            ) from exc

    def files(self, folder: str) -> list[tuple[str, datetime | None]]:
        """The files directly in ``folder`` (a key prefix), with when each was last written."""
        path = self.path(folder)
        if not self.local:
            self.fs.invalidate_cache(path)
        try:
            found = self.fs.ls(path, detail=True)
        except FileNotFoundError:
            return []
        out = []
        for entry in found:
            if entry.get("type") != "file":
                continue
            name = str(entry["name"]).rstrip("/").rsplit("/", 1)[-1]
            out.append((f"{folder}/{name}", _modified(entry)))
        return out


def _modified(entry: dict[str, Any]) -> datetime | None:
    stamp = entry.get("LastModified") or entry.get("mtime") or entry.get("last_modified")
    if isinstance(stamp, datetime):
        return stamp
    if isinstance(stamp, int | float):
        return datetime.fromtimestamp(stamp).astimezone()
    return None


def lake_for(ws: Workspace) -> Lake:
    """The workspace's lake (``CHARTER_LAKE``, default its ``.charter`` folder)."""
    return open_lake(ws.lake_root, ws.state_dir / SPOOL_DIR)


@functools.cache
def open_lake(url: str, spool: Path) -> Lake:
    """The lake at ``url`` (a folder or an fsspec URL); opened once per process."""
    try:
        fs, root = fsspec.core.url_to_fs(url)
    except ImportError as exc:
        raise CharterError(
            f"the lake {redact_url(url)!r} needs a package that is not installed: {exc}",
            hint="Install the fsspec implementation for that URL (s3fs, gcsfs or adlfs).",
        ) from exc
    except ValueError as exc:
        raise CharterError(
            f"the lake URL {redact_url(url)!r} is not usable: {redact_text(str(exc))}",
            hint="Set CHARTER_LAKE to a folder or a URL such as s3://bucket/prefix.",
        ) from exc
    return Lake(url=url, fs=fs, root=str(root), spool=spool)


def older_than(modified: datetime | None, grace: float, *, now: float | None = None) -> bool:
    """Whether a file written at ``modified`` is past the grace period (unknown: never)."""
    if modified is None:
        return False
    return (now if now is not None else time.time()) - modified.timestamp() > grace


def joined_keys(values: Iterable[str | None]) -> list[str]:
    """The keys of a path column: a batch in parts names its files one per line."""
    return [key for joined in values if joined for key in joined.split("\n") if key]
