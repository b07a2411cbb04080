"""A real S3 API on loopback for the lake tests: moto's server, started once per session.

Each test gets a bucket of its own and ``CHARTER_LAKE=s3://<bucket>/lake``; the S3 client of
s3fs (and of pyarrow, through it) finds the server by ``AWS_ENDPOINT_URL`` and signs with fake
credentials, as a team's machines would with real ones.
"""

from __future__ import annotations

import logging
import os
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import fsspec
import pytest
from moto.server import ThreadedMotoServer
from tests.monitoring.conftest import model_file  # noqa: F401 - fixtures, for the lake tests
from tests.plumbing.conftest import kit  # noqa: F401
from tests.server.conftest import api  # noqa: F401

_S3_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """The endpoint URL of an S3 API server on a free loopback port, for the whole session."""
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    saved = {k: os.environ.get(k) for k in (*_S3_ENV, "AWS_ENDPOINT_URL")}
    os.environ.update(_S3_ENV, AWS_ENDPOINT_URL=f"http://{host}:{port}")
    try:
        yield f"http://{host}:{port}"
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        server.stop()


@pytest.fixture
def s3_lake(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh bucket; returns its lake URL (not yet set as CHARTER_LAKE)."""
    bucket = f"lake-{uuid.uuid4().hex[:12]}"
    fsspec.filesystem("s3").mkdir(bucket)
    return f"s3://{bucket}/lake"


def s3_keys(url: str) -> list[str]:
    """Every object under the lake URL, as keys relative to it."""
    fs = fsspec.filesystem("s3")
    root = url.removeprefix("s3://")
    fs.invalidate_cache()
    return sorted(p.removeprefix(root + "/") for p in fs.find(root))


def ingest_command(root: Path) -> list[str]:
    """``charter -w ROOT ingest credit-default`` as a process of its own (another machine)."""
    return [sys.executable, "-m", "charter.cli.main", "-w", str(root), "ingest", "credit-default"]
