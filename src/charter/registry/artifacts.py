"""The artifact store: model files kept by content hash in a folder or at any fsspec URL.

Layout: ``<root>/sha256/<first two hex digits>/<full hash>/<original name>``. A version records
the part after ``<root>/``, its *key*, so a workspace copied or moved elsewhere reads its own copy
(versions registered before 0.2 may hold an absolute URI; see :meth:`ArtifactStore.locate`). A directory (an
MLflow model) is copied as a tree under the same kind of key, and its hash is a *tree hash*:
SHA-256 over its sorted relative paths and the SHA-256 of each file, so it does not depend on
file-system order or timestamps.

Content addressing makes writes idempotent and makes a leftover from a failed registration
harmless: an artifact is only ever reached through a version row that names its hash. Each file
is written under a temporary name and then moved into place, so a crash never leaves a partial
file under a final name. Reads hand back the bytes and leave it to the caller to re-hash them:
a store that others can write to must not be trusted to return what was put in it.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

import fsspec

from charter.errors import ModelFileError, RegistryError
from charter.redaction import redact_text, redact_url

if TYPE_CHECKING:
    from charter.workspace import Workspace

HASH_CHUNK = 1 << 20
# Temporary upload names; never part of an artifact, so tree hashes skip them.
UPLOAD_PREFIX = ".charter-upload-"


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    """The file's SHA-256, read in chunks so large files need little memory."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def tree_files(root: Path) -> list[tuple[str, Path]]:
    """Every file under ``root`` as (relative POSIX path, path), sorted by relative path."""
    found = [
        (p.relative_to(root).as_posix(), p)
        for p in root.rglob("*")
        if p.is_file() and not p.name.startswith(UPLOAD_PREFIX)
    ]
    return sorted(found)


def tree_digest(entries: Iterable[tuple[str, str]]) -> str:
    """The tree hash of (relative path, file SHA-256) pairs; independent of their order."""
    digest = hashlib.sha256()
    for relative, file_hash in sorted(entries):
        digest.update(f"{relative}\0{file_hash}\n".encode())
    return digest.hexdigest()


def sha256_tree(root: Path) -> str:
    return tree_digest((relative, sha256_file(path)) for relative, path in tree_files(root))


def artifact_key(sha256: str, name: str) -> str:
    """Where an artifact lives relative to the store root."""
    return f"sha256/{sha256[:2]}/{sha256}/{name}"


def _filesystem(url: str) -> tuple[Any, str]:
    try:
        fs, path = fsspec.core.url_to_fs(url)
    except ImportError as exc:
        raise RegistryError(
            f"the artifact store {redact_url(url)!r} needs a package that is not installed: {exc}",
            hint="Install the fsspec implementation for that URL (e.g. s3fs, gcsfs, adlfs).",
        ) from exc
    except ValueError as exc:
        raise RegistryError(
            f"the artifact store URL {redact_url(url)!r} is not usable: {redact_text(str(exc))}"
        ) from exc
    return fs, str(path)


class ArtifactStore:
    """Put and get artifacts by content hash under one root URL."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.fs, self.root = _filesystem(url)

    @classmethod
    def for_workspace(cls, ws: Workspace) -> ArtifactStore:
        """The workspace's store; a relative folder is relative to the workspace root."""
        return cls(ws.artifacts_root)

    def uri(self, key: str) -> str:
        """The full URL of ``key`` (``file:///…`` for a local folder)."""
        return str(self.fs.unstrip_protocol(self._path(key)))

    def _path(self, key: str) -> str:
        return str(PurePosixPath(self.root) / key)

    # -- writing --------------------------------------------------------------------------
    def put_bytes(self, sha256: str, name: str, data: bytes) -> str:
        """Store one file's bytes (already hashed by the caller); returns its key."""
        key = artifact_key(sha256, name)
        try:
            if not self._holds(key, sha256):
                self._write(key, data)
        except OSError as exc:
            raise RegistryError(
                f"cannot write {name} to the artifact store {redact_url(self.url)}: {exc}"
            ) from exc
        return key

    def put_tree(self, sha256: str, source: Path) -> str:
        """Copy a directory under the key of its tree hash; returns the directory's key."""
        key = artifact_key(sha256, source.name)
        try:
            for relative, path in tree_files(source):
                self._write(f"{key}/{relative}", path.read_bytes())
        except OSError as exc:
            raise RegistryError(
                f"cannot copy {source} to the artifact store {redact_url(self.url)}: {exc}"
            ) from exc
        return key

    def _holds(self, key: str, sha256: str) -> bool:
        """True when ``key`` already holds exactly these bytes (an earlier registration)."""
        path = self._path(key)
        return bool(self.fs.exists(path)) and sha256_bytes(self.fs.cat_file(path)) == sha256

    def _write(self, key: str, data: bytes) -> None:
        final = PurePosixPath(self._path(key))
        temporary = str(final.parent / f"{UPLOAD_PREFIX}{uuid.uuid4().hex}")
        self.fs.makedirs(str(final.parent), exist_ok=True)
        self.fs.pipe_file(temporary, data)
        self.fs.mv(temporary, str(final))

    # -- reading --------------------------------------------------------------------------
    def locate(self, recorded: str, sha256: str, name: str) -> str:
        """The URI of a version's artifact, from what its row records.

        A key is looked up in this store. An absolute URI (kept for an artifact outside the
        workspace's store) is used if it exists, else the same key in this store (a moved
        workspace whose database still names the old folder).
        """
        if not is_absolute(recorded):
            if self.fs.exists(self._path(recorded)):
                return self.uri(recorded)
            raise ModelFileError(
                f"the artifact {name} (sha256 {sha256}) is missing from the artifact store "
                f"{redact_url(self.url)} (key {recorded})",
                hint="Restore it from a backup of the artifact store, or register the model again.",
            )
        fs, path = _filesystem(recorded)
        if fs.exists(path):
            return recorded
        fallback = self.uri(artifact_key(sha256, name))
        if fallback != recorded and self.fs.exists(self._path(artifact_key(sha256, name))):
            return fallback
        raise ModelFileError(
            f"the artifact {name} (sha256 {sha256}) is missing: not at {recorded}"
            + (f" nor at {fallback}" if fallback != recorded else ""),
            hint="Restore it from a backup of the artifact store, or register the model again.",
        )


def is_absolute(recorded: str) -> bool:
    """Whether a recorded artifact is an absolute URI or path rather than a key in the store."""
    return "://" in recorded or recorded.startswith("/") or Path(recorded).is_absolute()


def read_bytes(uri: str) -> bytes:
    """The bytes of one stored file."""
    fs, path = _filesystem(uri)
    try:
        return bytes(fs.cat_file(path))
    except OSError as exc:
        raise ModelFileError(f"cannot read the artifact at {uri}: {exc}") from exc


def fetch_tree(uri: str, destination: Path) -> None:
    """Copy a stored directory into ``destination`` (created), skipping temporary uploads."""
    fs, root = _filesystem(uri)
    try:
        for path in fs.find(root):
            relative = PurePosixPath(path).relative_to(PurePosixPath(root))
            if relative.name.startswith(UPLOAD_PREFIX):
                continue
            target = destination.joinpath(*relative.parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(fs.cat_file(path))
    except OSError as exc:
        raise ModelFileError(f"cannot read the artifact at {uri}: {exc}") from exc
