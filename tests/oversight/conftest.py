"""The lifecycle laboratory of tests/lifecycle, with a declared fallback, for the oversight tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tests.lifecycle.test_lifecycle_support import NAME, Lab

from charter.workspace import Workspace

FALLBACK = "  fallback: {description: refer every application to an underwriter, decision: refer}\n"


def with_fallback(lab: Lab) -> None:
    path = lab.ws.charters_dir / f"{NAME}.yaml"
    path.write_text(path.read_text() + FALLBACK)


@pytest.fixture
def lab(ws: Workspace) -> Iterator[Lab]:
    made = Lab(ws)
    made.charter()
    with_fallback(made)
    yield made
    assert ws.ledger.verify().ok
