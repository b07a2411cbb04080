"""What is wrong with a file that could not be read, said plainly, with where and what to do.

Runs only after a read failed, so it may re-read the file to find the line at fault. Readers'
internals (``InternalError(TapeError)``, ``File out of specification``) never reach the user.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import polars as pl

from charter.spec.model import FolderSource

_CORRUPT_PAGES = ("dictionary", "plain-encoded", "out of specification", "invalid", "thrift")
_DECOMPRESS = ("decompress", "corrupt snappy", "zstd", "lz4", "gzip", "brotli", "data corruption")


def explain_read_error(exc: BaseException, path: Path, source: FolderSource) -> str:
    """The problem in words, for ``<file>: <problem>`` messages."""
    message = first_line(exc)
    if source.kind == "parquet_dir":
        return _parquet_problem(message)
    if source.kind == "csv_dir":
        lowered = message.lower()
        if "utf-8" in lowered or "utf8" in lowered:
            return _utf8_problem(path)
        if isinstance(exc, pl.exceptions.NoDataError):
            return "the file has no header line"
        line = _unclosed_quote_line(path)
        if line is not None:
            return f"a quoted field opened on line {line} is never closed (broken quote)"
        if "more fields" in lowered or "ragged" in lowered:
            return (
                _ragged_problem(path, source.delimiter) or f"a row has too many fields ({message})"
            )
        return f"cannot be read as CSV: {message}"
    line_problem = _bad_json_line(path)
    return line_problem or f"cannot be read as JSON Lines: {message}"


def first_line(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None) or exc
    text = str(orig).strip()
    return text.splitlines()[0] if text else type(orig).__name__


def _parquet_problem(message: str) -> str:
    lowered = message.lower()
    if "par1" in lowered or "footer" in lowered or "magic bytes" in lowered:
        return "not a readable Parquet file: it is truncated or not Parquet (no valid footer)"
    if "crc" in lowered or "checksum" in lowered:
        return (
            "corrupt: a data page fails its checksum (CRC), so the bytes changed after the file "
            "was written; ask the producer to send the file again"
        )
    if any(word in lowered for word in _DECOMPRESS):
        return (
            f"corrupt: compressed data in the file cannot be decompressed ({message}); "
            "ask the producer to send the file again"
        )
    if any(word in lowered for word in _CORRUPT_PAGES):
        return (
            f"corrupt: the data pages cannot be decoded ({message}); "
            "ask the producer to send the file again"
        )
    return f"cannot be read as Parquet: {message}"


def _utf8_problem(path: Path) -> str:
    data = path.read_bytes()
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        return (
            f"not UTF-8 text: byte 0x{data[exc.start]:02x} at offset {exc.start} (line {line}); "
            "re-encode the file as UTF-8, or set data.source.encoding: utf8-lossy"
        )
    return "not UTF-8 text"


def _unclosed_quote_line(path: Path) -> int | None:
    """The line where a quoted field starts that is still open at the end of the file."""
    opened_at, inside = None, False
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            for char in raw.decode("utf-8", "replace"):
                if char == '"':
                    inside = not inside
                    opened_at = number if inside else opened_at
    return opened_at if inside else None


def _ragged_problem(path: Path, delimiter: str) -> str | None:
    """The first line with more fields than the header, as a reader would split it."""
    with path.open("rb") as handle:
        text = io.TextIOWrapper(handle, encoding="utf-8", errors="replace", newline="")
        reader = csv.reader(text, delimiter=delimiter)
        header: list[str] | None = None
        for fields in reader:
            if header is None:
                header = fields
                continue
            if len(fields) > len(header):
                return (
                    f"line {reader.line_num} has {len(fields)} fields but the header has "
                    f"{len(header)}: quote values that contain the delimiter {delimiter!r}, or "
                    "fix that line"
                )
    return None


def _no_constants(name: str) -> Any:
    raise ValueError(name)


def _bad_json_line(path: Path) -> str | None:
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if not raw.strip():
                continue
            try:
                value = json.loads(raw, parse_constant=_no_constants)
            except json.JSONDecodeError as exc:
                return f"line {number} is not valid JSON ({exc.msg})"
            except UnicodeDecodeError:
                return f"line {number} is not UTF-8 text"
            except ValueError as exc:
                return (
                    f"line {number} holds {exc}, which is not valid JSON: write null for a "
                    f'missing value (or "{exc}" as a string) and send the file again'
                )
            if not isinstance(value, dict):
                return f"line {number} is not a JSON object"
    return None
