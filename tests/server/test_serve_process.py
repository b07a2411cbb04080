"""A real ``charter serve`` (uvicorn) on a free loopback port, called over HTTP."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tests.server.conftest import NAME, record

from charter.registry.versions import register_version, set_status
from charter.tokens import create_token
from charter.workspace import Workspace


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def serving(workspace: Path, log: Path, *args: str) -> Iterator[httpx.Client]:
    port = _free_port()
    command = [sys.executable, "-m", "charter.cli.main", "-w", str(workspace), "serve"]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(workspace), *sys.path])}
    with log.open("wb") as err:
        process = subprocess.Popen(
            [*command, "--port", str(port), *args], stdout=err, stderr=err, env=env
        )
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30)
    try:
        for _ in range(3000):  # bounded: a few minutes of 0.1 s polls (workers import a lot)
            if process.poll() is not None:
                pytest.fail(f"charter serve exited {process.returncode}:\n{log.read_text()}")
            with contextlib.suppress(httpx.TransportError):
                if client.get("/healthz").status_code == 200:
                    break
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=0.1)
        else:
            pytest.fail(f"charter serve did not answer:\n{log.read_text()}")
        yield client
    finally:
        client.close()
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _live_model(ws: Workspace) -> int:
    (ws.root / "served_model.py").write_text("def score(frame):\n    return frame['amount'] / 4\n")
    import sys as _sys

    _sys.path.insert(0, str(ws.root))
    try:
        info = register_version(ws, NAME, "served_model:score")
    finally:
        _sys.path.remove(str(ws.root))
    with ws.db.session() as session:
        set_status(ws, session, NAME, info.version, "live", reason="test")
    return info.version


@pytest.mark.slow
@pytest.mark.parametrize("workers", [1, 2])
def test_a_served_prediction_is_answered_over_loopback_and_logged(
    ws: Workspace, tmp_path: Path, workers: int
) -> None:
    version = _live_model(ws)
    token, _ = create_token(ws, "ops@bank.example", "operator")
    auth = {"Authorization": f"Bearer {token}"}

    with serving(ws.root, tmp_path / "serve.log", "--workers", str(workers)) as client:
        answer = client.post(f"/v1/charters/{NAME}/predict", json=record(8), headers=auth)
        refused = client.post(f"/v1/charters/{NAME}/predict", json=record(9))
        ready = client.get("/readyz")
        metrics = client.get("/metrics", headers=auth).text

    assert answer.status_code == 200, answer.text
    assert answer.json()["version"] == version and answer.json()["score"] == 2.0
    assert refused.status_code == 401
    assert ready.status_code == 200
    assert "charter_predictions_logged_total" in metrics
    from charter.plumbing.predictions import read_predictions

    logged = read_predictions(ws, NAME).collect()
    assert logged["prediction_id"].to_list() == [answer.json()["prediction_id"]]
