"""Fixtures for ingestion tests: live rows that fit the scaffold charter, landing folders, sources.

The scaffold charter ``credit-default`` reads ``landing/credit-default/`` (Parquet), keys rows on
``id``, takes ``event_at`` as the event time with 2h allowed lateness, and checks ``amount >= 0``
and ``channel in [web, branch, phone]``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from charter.workspace import Workspace

T0 = datetime(2024, 3, 1, 8, 0)


def rows(start: int, count: int, *, hours: float = 0.0, prefix: str = "k") -> pl.DataFrame:
    """``count`` valid rows with ids ``k<start>..``; event times one minute apart from T0+hours."""
    base = T0 + timedelta(hours=hours)
    return pl.DataFrame(
        {
            "id": [f"{prefix}{i}" for i in range(start, start + count)],
            "event_at": [base + timedelta(minutes=i - start) for i in range(start, start + count)],
            "amount": [float(i % 97) for i in range(start, start + count)],
            "channel": [("web", "branch", "phone")[i % 3] for i in range(start, start + count)],
        }
    )


@dataclass
class Kit:
    """The workspace under test and helpers to feed its landing folder and charter."""

    ws: Workspace
    name: str = "credit-default"
    rows = staticmethod(rows)

    @property
    def landing(self) -> Path:
        path = self.ws.root / "landing" / self.name
        path.mkdir(parents=True, exist_ok=True)
        return path

    def write(self, file: str, frame: pl.DataFrame) -> Path:
        """Write ``frame`` into the landing folder in the format the file name says."""
        path = self.landing / file
        path.parent.mkdir(parents=True, exist_ok=True)
        if file.endswith(".parquet"):
            frame.write_parquet(path)
        elif file.endswith(".csv"):
            frame.write_csv(path)
        else:
            frame.write_ndjson(path)
        return path

    def set_source(self, source: str) -> None:
        """Replace the charter's ``data.source`` line with ``source`` (a YAML flow mapping)."""
        self.edit(r"  source: \{[^\n]*\}[^\n]*", f"  source: {source}")

    def edit(self, pattern: str, replacement: str) -> None:
        path = self.ws.charters_dir / f"{self.name}.yaml"
        text, count = re.subn(pattern, replacement, path.read_text(), count=1)
        assert count == 1, pattern
        path.write_text(text)

    def predictions(self) -> pl.DataFrame:
        from charter.plumbing.predictions import read_predictions

        return read_predictions(self.ws, self.name).collect()

    def quarantine(self) -> pl.DataFrame:
        from charter.plumbing.predictions import read_quarantine

        return read_quarantine(self.ws, self.name).collect()


@pytest.fixture
def kit(ws: Workspace) -> Kit:
    return Kit(ws)
