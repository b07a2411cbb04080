"""A deterministic zip: the same files give the same bytes, whenever and wherever written.

Entries are sorted by name, every entry carries the same timestamp (1980-01-01, the zip epoch),
the same permissions and no extra fields, and JSON is canonical (sorted keys, two-space indent,
UTF-8, a final newline), so two packs of the same records are byte-identical.
"""

from __future__ import annotations

import json
import os
import zipfile
import zlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from charter.errors import EvidenceError, PackTamperedError

FIXED_TIME = (1980, 1, 1, 0, 0, 0)
MAX_ENTRY_BYTES = 2 << 30  # a pack entry larger than this is not one charter wrote


def json_bytes(value: Any) -> bytes:
    """Canonical, readable JSON."""
    text = json.dumps(value, sort_keys=True, indent=2, ensure_ascii=False, default=str)
    return (text + "\n").encode()


def write_zip(path: Path, files: Mapping[str, bytes]) -> None:
    """Write ``files`` (name → bytes) to ``path`` atomically (a temporary file, then a rename)."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(temporary, "w") as archive:
            for name in sorted(files):
                info = zipfile.ZipInfo(name, date_time=FIXED_TIME)
                info.compress_type = zipfile.ZIP_DEFLATED
                info.create_system = 3  # unix, whatever the host
                info.external_attr = 0o644 << 16
                archive.writestr(info, files[name], compresslevel=9)
        os.replace(temporary, path)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise EvidenceError(
            f"cannot write the evidence pack {path}: {exc.strerror or exc}"
        ) from exc


def read_zip(path: Path) -> dict[str, bytes]:
    """Every entry of the pack at ``path`` (name → bytes); a clear error when it is no zip, and
    :class:`PackTamperedError` naming the entry whose bytes are damaged (bad CRC, bad data)."""
    try:
        archive = zipfile.ZipFile(path)
    except FileNotFoundError:
        raise EvidenceError(f"no evidence pack at {path}") from None
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise EvidenceError(f"{path} is not a readable zip archive: {exc}") from None
    out = {}
    with archive:
        for info in archive.infolist():
            if info.is_dir():
                continue
            if info.file_size > MAX_ENTRY_BYTES:
                raise EvidenceError(f"{path}: entry {info.filename} is too large to check")
            try:
                out[info.filename] = archive.read(info)
            except (zipfile.BadZipFile, zlib.error, EOFError, ValueError, OSError) as exc:
                raise PackTamperedError(
                    f"{path}: {info.filename} is damaged and cannot be read ({exc}): the pack "
                    "was altered or corrupted"
                ) from None
    return out
