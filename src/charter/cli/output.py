"""Printing results: Rich for people, JSON for scripts (``--json``), errors to stderr."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any

from rich.console import Console
from rich.text import Text

# markup=False: names, values and messages come from users and data, and may contain "[...]".
#: Below this terminal width the tables of windows and alerts would wrap a word per line; they
#: print a line per row instead (80 columns read as well as 200).
WIDE_ENOUGH = 110

console = Console(highlight=False, soft_wrap=True, markup=False)
err_console = Console(stderr=True, highlight=False, soft_wrap=True, markup=False)


def emit(data: Any, *, as_json: bool, human: Callable[[Console], None]) -> None:
    """Print ``data`` as JSON when ``as_json``, else call ``human`` to render it."""
    if as_json:
        sys.stdout.write(json.dumps(data, indent=2, default=str, ensure_ascii=False) + "\n")
        sys.stdout.flush()
    else:
        human(console)


def print_fitted(console: Console, text: str | Text, *, indent: int = 0) -> None:
    """Print ``text`` within the console's width (80 columns read as well as 200): wrapped at
    spaces, a word longer than a line folded, every line indented by ``indent``."""
    body = text if isinstance(text, Text) else Text(text)
    width = max(console.width - indent, 20)
    for line in body.wrap(console, width, overflow="fold"):
        line.rstrip()
        console.print(Text(" " * indent) + line, soft_wrap=True)


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str, ensure_ascii=False) + "\n")
