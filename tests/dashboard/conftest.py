"""Fixtures for the dashboard: the API's workspace (scaffold charter, tokens of each role) with a
live version and a shadow version waiting for the owner's decision, and a real server for it.

The ``api`` fixture (tokens ``viewer``, ``operator``, ``owner`` = the charter's owner, and
``stranger``, an owner-role token of someone the charter does not name) comes from the API tests.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import uvicorn
from tests.server.conftest import NAME, Api, api

from charter.lifecycle.decisions import promote
from charter.server.app import create_app
from charter.workspace import Workspace

__all__ = ["api"]


@dataclass
class Pending:
    """The API fixture, with ``live`` serving and ``waiting`` in shadow with an open decision."""

    api: Api
    live: int
    waiting: int


@pytest.fixture
def pending(api: Api) -> Pending:
    live = api.register("return frame['amount'] / 100", "live")
    waiting = api.register("return frame['amount'] / 200", "shadow")
    assert promote(api.ws, NAME, waiting).outcome == "opened"
    return Pending(api, live, waiting)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def served(pending: Pending) -> Iterator[str]:
    """The base URL of a real uvicorn serving the pending workspace on a free loopback port."""
    with serving(pending.api.ws) as base:
        yield base


@contextlib.contextmanager
def serving(ws: Workspace) -> Iterator[str]:
    """Serve ``ws`` with a real uvicorn on a free loopback port; yields the base URL."""
    port = free_port()
    config = uvicorn.Config(create_app(ws), host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(600):  # bounded: up to a minute for the server to listen
        if server.started or not thread.is_alive():
            break
        time.sleep(0.1)
    assert server.started, "uvicorn did not start"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
