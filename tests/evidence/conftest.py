"""A charter with a history to pack: a live version, a challenger approved by the owner over a
gate shortfall, batches in the prediction log. Built with the lifecycle laboratory."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from tests.lifecycle.test_lifecycle_support import NAME, OWNER, Lab

from charter.lifecycle.decisions import approve
from charter.workspace import Workspace

RISK = "one shadow batch short: the pilot week passed, and the referral desk is the fallback"


@pytest.fixture
def lab(ws: Workspace) -> Iterator[Lab]:
    made = Lab(ws)
    made.charter()
    yield made


def story(lab: Lab) -> tuple[int, int]:
    """Version 1 live; version 2 in shadow on one batch of the two the gate asks for, approved
    by the owner over that shortfall with the risk accepted in writing."""
    live = lab.model(status="live")
    lab.batch()  # scored by version 1 alone
    candidate = lab.model("frame['amount'] / 90", status="shadow")
    lab.ready(candidate)
    approve(lab.ws, NAME, candidate, by=OWNER, accept_risk=RISK)
    return live, candidate


def entries_of(pack: Path, name: str) -> bytes:
    with zipfile.ZipFile(pack) as archive:
        return archive.read(name)


def rewrite(pack: Path, out: Path, change: Callable[[dict[str, bytes]], None]) -> Path:
    """Copy ``pack`` to ``out`` with ``change`` applied to its files (name -> bytes)."""
    with zipfile.ZipFile(pack) as archive:
        files = {i.filename: archive.read(i) for i in archive.infolist()}
    change(files)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in sorted(files):
            archive.writestr(name, files[name])
    out.write_bytes(buffer.getvalue())
    return out


def record(pack: Path, name: str) -> dict:  # type: ignore[type-arg]
    value = json.loads(entries_of(pack, name))
    assert isinstance(value, dict)
    return value
