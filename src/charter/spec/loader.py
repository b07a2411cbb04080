"""Reading charter files: YAML in, a validated :class:`Charter` or a list of field-path problems out."""

from __future__ import annotations

import difflib
import functools
import hashlib
import json
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, Field, ValidationError

from charter.errors import CharterFileError
from charter.spec.model import Charter
from charter.spec.secrets import conceal_charter
from charter.spec.yaml_reader import MAX_FILE_BYTES, YamlProblem, format_path, load_yaml, read_yaml

__all__ = [
    "MAX_FILE_BYTES",
    "LoadedCharter",
    "charter_json_schema",
    "charter_json_schema_text",
    "load_charter_file",
    "parse_charter",
    "read_yaml",
]

_MESSAGES = {
    "missing": "required field is missing",
    "float_parsing": "must be a number",
    "float_type": "must be a number",
    "int_parsing": "must be a whole number",
    "int_type": "must be a whole number",
    "int_from_float": "must be a whole number",
    "bool_parsing": "must be true or false",
    "bool_type": "must be true or false",
    "string_type": "must be text",
    "list_type": "must be a list",
    "dict_type": "must be a mapping of fields",
    "model_type": "must be a mapping of fields",
    "model_attributes_type": "must be a mapping of fields",
}


class LoadedCharter(BaseModel):
    """A validated charter with where it came from, its text and that text's hash.

    ``text`` is the file's text with every literal secret concealed (:mod:`charter.spec.secrets`),
    so it is what the store and the ledger may keep; ``sha256`` is taken over it (the file's own
    hash when it holds no literal secret). ``charter``, validated from the file as written, holds
    the literals, and ``secrets`` maps each reference to its literal: both stay in memory.
    """

    charter: Charter
    source: str
    text: str
    sha256: str
    secrets: dict[str, str] = Field(default_factory=dict, exclude=True, repr=False)


def load_charter_file(path: Path) -> LoadedCharter:
    """Read and validate ``path``; raise :class:`CharterFileError` listing every problem."""
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise CharterFileError(str(path), [_too_large(size)])
        raw = path.read_bytes()
    except FileNotFoundError:
        raise CharterFileError(str(path), ["file does not exist"]) from None
    except OSError as exc:
        raise CharterFileError(str(path), [f"cannot read file: {exc.strerror}"]) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CharterFileError(str(path), [f"not UTF-8 text (byte {exc.start})"]) from None
    loaded = parse_charter(text, source=str(path))
    stem = path.stem
    if loaded.charter.name != stem:
        raise CharterFileError(
            str(path),
            [f"name: {loaded.charter.name!r} does not match the file name {path.name!r}"],
        )
    return loaded


def parse_charter(text: str, *, source: str = "<charter>") -> LoadedCharter:
    """Validate charter YAML text.

    Parsing is pure in (``text``, ``source``), and a page or a command loads one charter several
    times (the pure-Python YAML reader takes tens of milliseconds on a charter of 30 inputs): the
    validated charter (frozen) of the latest texts is kept, and each call gets its own
    :class:`LoadedCharter` around it. A text that fails raises every time (failures are not kept).
    """
    charter, concealed, digest, secrets = _parsed(text, source)
    return LoadedCharter(
        charter=charter, source=source, text=concealed, sha256=digest, secrets=dict(secrets)
    )


@functools.lru_cache(maxsize=256)
def _parsed(text: str, source: str) -> tuple[Charter, str, str, dict[str, str]]:
    if len(text) > MAX_FILE_BYTES:
        raise CharterFileError(source, [_too_large(len(text.encode()))])
    try:
        data, node = load_yaml(text)
    except YamlProblem as exc:
        raise CharterFileError(source, [exc.problem]) from None
    except yaml.YAMLError as exc:
        raise CharterFileError(source, [_yaml_problem(exc)]) from None
    if not isinstance(data, dict):
        raise CharterFileError(source, ["the file must be a YAML mapping of charter fields"])
    try:
        charter = Charter.model_validate(data)
    except ValidationError as exc:
        raise CharterFileError(source, _problems(exc, node)) from None
    concealed, secrets = conceal_charter(text, data, source=source)
    digest = hashlib.sha256(concealed.encode()).hexdigest()
    return charter, concealed, digest, dict(secrets)


def charter_json_schema() -> dict[str, Any]:
    schema = Charter.model_json_schema(mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "charter"
    return schema


def charter_json_schema_text() -> str:
    return json.dumps(charter_json_schema(), indent=2, sort_keys=True)


# -- problem formatting -----------------------------------------------------------------------
def _too_large(size: int) -> str:
    return f"the file is {size:,} bytes, over the limit of {MAX_FILE_BYTES:,} bytes (1 MiB)"


def _yaml_problem(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
    return f"{where}malformed YAML: {problem}"


def _problems(exc: ValidationError, node: yaml.Node | None) -> list[str]:
    problems: list[str] = []
    for error in exc.errors():
        loc = [part for part in error["loc"] if not _is_tag(part)]
        message = str(error["msg"])
        if error["type"] == "value_error":
            message = message.removeprefix("Value error, ")
            if message.startswith("@"):
                field, _, message = message[1:].partition(": ")
                loc.extend(_split_path(field))
        elif error["type"] == "extra_forbidden":
            message = "unknown field" + _suggest(exc, loc)
        elif error["type"] == "missing" and loc == ["owner"]:
            message = "a charter must name its business owner: owner: {name: ..., email: ...}"
        elif error["type"] in _MESSAGES:
            message = _MESSAGES[error["type"]]
        elif error["type"] == "literal_error":
            expected = error.get("ctx", {}).get("expected", "")
            message = f"{error['input']!r} is not allowed; expected {expected}"
        else:
            message = message[:1].lower() + message[1:]
        path = _format_path(loc)
        line = _line_of(node, loc)
        suffix = f" (line {line})" if line else ""
        entry = f"{path}: {message}{suffix}" if path else f"{message}{suffix}"
        if entry not in problems:
            problems.append(entry)
    return problems


_TAGS = {"parquet_dir", "csv_dir", "jsonl_dir", "delta_table", "sql", "FolderSource", "SqlSource"}


def _is_tag(part: Any) -> bool:
    return isinstance(part, str) and (part in _TAGS or part.startswith(("function-", "str", "int")))


def _split_path(field: str) -> list[str | int]:
    parts: list[str | int] = []
    for piece in field.split("."):
        name, _, rest = piece.partition("[")
        parts.append(name)
        if rest:
            parts.append(int(rest.rstrip("]")))
    return parts


def _format_path(loc: list[Any]) -> str:
    return format_path(loc)


def _suggest(exc: ValidationError, loc: list[Any]) -> str:
    """A 'did you mean' for a misspelt field, from the fields the model does accept there."""
    from charter.spec import model as spec_model

    wrong = loc[-1] if loc and isinstance(loc[-1], str) else None
    if wrong is None:
        return ""
    names: set[str] = set()
    for cls in vars(spec_model).values():
        if isinstance(cls, type) and issubclass(cls, BaseModel):
            names.update(cls.model_fields)
    match = difflib.get_close_matches(wrong, sorted(names), n=1, cutoff=0.75)
    return f" (did you mean {match[0]!r}?)" if match else ""


def line_of(text: str, loc: list[Any]) -> int | None:
    """The 1-based line of the field at ``loc`` (e.g. ``["data", "fields", "amount"]``) in the
    charter YAML ``text``, or of its nearest parent present; None when the text does not parse."""
    try:
        node = load_yaml(text)[1]
    except yaml.YAMLError:
        return None
    return _line_of(node, loc)


def _line_of(node: yaml.Node | None, loc: list[Any]) -> int | None:
    """The 1-based line of the deepest YAML node ``loc`` reaches."""
    line = None
    for part in loc:
        if node is None:
            break
        line = node.start_mark.line + 1
        child = None
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if getattr(key, "value", None) == part:
                    child = value if part != loc[-1] else key
                    break
        elif (
            isinstance(node, yaml.SequenceNode)
            and isinstance(part, int)
            and 0 <= part < len(node.value)
        ):
            child = node.value[part]
        node = child
    if node is not None:
        line = node.start_mark.line + 1
    return line
