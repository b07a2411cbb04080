"""How long work says how far it has got, without knowing who is watching.

Ingestion, monitoring and summarising a reference take a :class:`Progress` and call it as they go;
the CLI hands them a progress bar on stderr when stderr is a terminal (and ``--json`` was not
asked for), everyone else :data:`SILENT`. Nothing here prints, and a reporter never changes what
the work does.
"""

from __future__ import annotations

from typing import Protocol


class Progress(Protocol):
    """Stages of work, each with a count of steps (None when the total is not known)."""

    def begin(self, description: str, total: int | None) -> None:
        """Start a stage (ending the one before)."""
        ...

    def advance(self, steps: int = 1, *, note: str = "") -> None:
        """``steps`` more of the stage are done; ``note`` says on what (a file, a window)."""
        ...

    def end(self) -> None:
        """The stage is over."""
        ...


class _Silent:
    def begin(self, description: str, total: int | None) -> None:
        pass

    def advance(self, steps: int = 1, *, note: str = "") -> None:
        pass

    def end(self) -> None:
        pass


#: The reporter of work nobody watches.
SILENT: Progress = _Silent()
