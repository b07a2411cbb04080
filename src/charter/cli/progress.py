"""A Rich progress bar on stderr for long commands, only when a person is watching it.

``progress_bar(as_json)`` gives :data:`charter.progress.SILENT` when ``--json`` was asked for or
stderr is not a terminal (piped, redirected, under cron), so scripts and logs never see it; and
the bar is transient: once the work is done it leaves the terminal as it found it, stdout
untouched.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.progress import Progress as RichProgress

from charter.cli import output
from charter.progress import SILENT, Progress


class _Bar:
    """:class:`charter.progress.Progress` drawn by Rich."""

    def __init__(self, bar: RichProgress) -> None:
        self._bar = bar
        self._task: TaskID | None = None
        self._description = ""

    def begin(self, description: str, total: int | None) -> None:
        self.end()
        self._description = description
        self._task = self._bar.add_task(description, total=total)

    def advance(self, steps: int = 1, *, note: str = "") -> None:
        if self._task is None:
            return
        text = f"{self._description}: {note}" if note else self._description
        self._bar.update(self._task, advance=steps, description=text)

    def end(self) -> None:
        if self._task is not None:
            self._bar.remove_task(self._task)
            self._task = None


@contextmanager
def progress_bar(as_json: bool) -> Iterator[Progress]:
    """A bar on stderr while the block runs, or :data:`SILENT` for scripts and pipes."""
    console = output.err_console
    if as_json or not console.is_terminal:
        yield SILENT
        return
    columns = (
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(bar_width=20),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with RichProgress(*columns, console=console, transient=True) as bar:
        shown = _Bar(bar)
        yield shown
        shown.end()
