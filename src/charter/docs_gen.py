"""Reference documentation generated from the code itself, so it cannot drift from it."""

from __future__ import annotations

import contextlib
import io
import re
from datetime import timedelta
from typing import Any

from pydantic import BaseModel

from charter.spec.durations import format_duration
from charter.spec.model import Charter


def cli_reference() -> str:
    """docs/cli.md: the ``--help`` of every command, in order."""
    from charter.cli.app import app
    from charter.cli.main import main

    lines = [
        "# CLI reference",
        "",
        "Generated from `--help` by `scripts/gen_docs.py`; do not edit.",
        "",
    ]
    commands: list[list[str]] = [[]] + [c.split() for c in _command_names(app)]
    for path in commands:
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            main([*path, "--help"])
        title = " ".join(["charter", *path])
        lines += [f"## `{title}`", "", "```text", out.getvalue().rstrip(), "```", ""]
    return "\n".join(lines)


def _command_names(app: Any) -> list[str]:
    import typer

    names: list[str] = []
    group = typer.main.get_group(app)
    for name, command in sorted(group.commands.items()):
        sub = getattr(command, "commands", None)
        if sub:
            names += [f"{name} {child}" for child in sorted(sub)]
        else:
            names.append(name)
    return names


def charter_file_reference() -> str:
    """docs/charter-file.md: every field of the charter file with its type, default and meaning."""
    lines = [
        "# Charter file reference",
        "",
        "Generated from the pydantic models by `scripts/gen_docs.py`; do not edit. ",
        "`charter schema` prints the same as JSON Schema. Durations are written `30m`, `2h`, `7d`, `1d12h`.",
        "",
    ]
    seen: set[type[BaseModel]] = set()
    _document(Charter, "", lines, seen)
    lines += _limits()
    return "\n".join(lines) + "\n"


def results_reference() -> str:
    """docs/results.md: every result ``--json`` prints, the commands printing it, and its keys."""
    from charter.schemas import catalog

    lines = [
        "# Results reference",
        "",
        "Generated from `charter.schemas` by `scripts/gen_docs.py`; do not edit. ",
        "These are the keys `--json` prints, which scripts may rely on; "
        "`charter schema --results [NAME]` prints the same as JSON Schema. "
        'An error prints `{"error": {"type", "message", "hint"}}` instead. '
        "`Facts` marks a free-form JSON object (evidence, details, lineage) whose keys depend on "
        "the data.",
        "",
    ]
    for name in catalog.RESULTS:
        model = catalog.result_model(name)
        printed = ", ".join(
            f"`charter {p.command}`" + (" (a JSON array of them)" if p.many else "")
            for p in catalog.commands_printing(name)
        )
        lines += ["---", "", f"Printed by {printed}:", ""]
        _document(model, "", lines, set(), title=name)
    return "\n".join(lines)


def _limits() -> list[str]:
    """The input limits section, from the constants that enforce them."""
    from charter import identity
    from charter.spec import durations, yaml_reader
    from charter.spec.expressions import parser as segments

    rows = [
        ("file size", f"{yaml_reader.MAX_FILE_BYTES:,} bytes (1 MiB)"),
        ("nesting", f"{yaml_reader.MAX_DEPTH} levels of mappings and lists"),
        ("values", f"{yaml_reader.MAX_NODES:,} once YAML aliases are expanded; no alias may "
         "contain itself"),
        ("keys", "each key at most once per mapping (a repeated key names both lines)"),
        ("integers", "from -10**18 to 10**18"),
        ("durations", f"longer than zero, at most {durations.MAX_DAYS:,}d (100 years)"),
        ("segments", f"{segments.MAX_LENGTH:,} characters, {segments.MAX_DEPTH} levels of "
         f"parentheses and `not`, {segments.MAX_TERMS:,} terms (conditions and list values)"),
        ("identities", f"emails at most {identity.MAX_IDENTITY} characters, no invisible or "
         "compatibility characters (e.g. U+212A KELVIN SIGN), none a look-alike of another "
         "person's in the charter"),
        ("name", "a lower-case slug (`[a-z0-9][a-z0-9_-]*`, at most 100 characters), equal to "
         "the file name"),
    ]  # fmt: skip
    out = [
        "## Limits",
        "",
        "A charter file is input, so reading it is bounded. Past a limit, `charter check` reports",
        "a problem naming the field path and line (never an unexpected error); see",
        "[security.md](security.md) for why.",
        "",
        "| what | limit |",
        "| --- | --- |",
    ]
    return out + [f"| {what} | {limit} |" for what, limit in rows]


def _document(
    model: type[BaseModel],
    prefix: str,
    lines: list[str],
    seen: set[type[BaseModel]],
    title: str = "(top level)",
) -> None:
    if model in seen:
        return
    seen.add(model)
    lines += [f"## `{prefix or title}` — {model.__name__}", ""]
    if model.__doc__:
        lines += [model.__doc__.strip().splitlines()[0], ""]
    lines += ["| field | type | default | meaning |", "| --- | --- | --- | --- |"]
    nested: list[tuple[type[BaseModel], str]] = []
    for name, info in model.model_fields.items():
        annotation = _type_name(info.annotation)
        default = _default_text(info)
        meaning = (info.description or "").replace("|", "\\|")
        lines.append(f"| `{name}` | {annotation} | {default} | {meaning} |")
        for sub in _models_in(info.annotation):
            nested.append((sub, f"{prefix}.{name}" if prefix else name))
    lines.append("")
    for sub, path in nested:
        _document(sub, path, lines, seen, title)


def _default_text(info: Any) -> str:
    if info.is_required():
        return "required"
    value = info.get_default(call_default_factory=True)
    if isinstance(value, BaseModel):
        return "see below"
    if isinstance(value, timedelta):
        return f"`{format_duration(value)}`"
    return f"`{value!r}`".replace("|", "\\|")


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    found: list[type[BaseModel]] = []
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    for arg in getattr(annotation, "__args__", ()) or ():
        found += _models_in(arg)
    metadata_origin = getattr(annotation, "__origin__", None)
    if metadata_origin is not None and not found:
        found += _models_in(metadata_origin)
    return found


def _type_name(annotation: Any) -> str:
    text = str(annotation).replace("typing.", "").replace("charter.spec.model.", "")
    text = text.replace("<class '", "").replace("'>", "").replace("datetime.timedelta", "duration")
    text = text.replace("charter.spec.windows.CalendarWindow", "calendar window")
    text = text.replace("datetime.datetime", "datetime")
    text = re.sub(r"charter\.schemas\.\w+\.", "", text)
    text = re.sub(r"Annotated\[datetime, [^|]*?\)\]", "datetime", text)  # Timestamp
    text = text.replace("dict[str, Any]", "Facts")
    if "Annotated[" in text:
        text = text.split("Annotated[", 1)[1].split(",", 1)[0]
    return f"`{text}`".replace("|", "\\|")
