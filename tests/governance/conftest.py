"""The lifecycle laboratory of tests/lifecycle, shared by the change-control tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tests.lifecycle.test_lifecycle_support import Lab

from charter.workspace import Workspace


@pytest.fixture
def lab(ws: Workspace) -> Iterator[Lab]:
    made = Lab(ws)
    made.charter()
    yield made
    assert ws.ledger.verify().ok
