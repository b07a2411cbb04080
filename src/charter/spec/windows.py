"""The window a sufficiency contract is judged on, as text: what a window result records.

A window result carries the spelling of the window that cut it (``"window": "7d"``), so a
consumer can tell the charter's own windows from exploratory ones (``charter monitor --window``).
"""

from __future__ import annotations

from charter.spec.durations import format_duration
from charter.spec.model import Sufficiency


def window_text(sufficiency: Sufficiency) -> str:
    """The canonical spelling of the contract's window, e.g. ``7d``."""
    return format_duration(sufficiency.window)
