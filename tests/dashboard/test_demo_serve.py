"""``charter demo --serve``: the story, then the dashboard on it, with a ready owner sign-in."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from tests.dashboard.conftest import free_port


@pytest.mark.slow
def test_the_demo_serves_the_dashboard_and_prints_an_owner_token(tmp_path: Path) -> None:
    port = free_port()
    command = [sys.executable, "-m", "charter.cli.main", "demo", "--serve", "--port", str(port)]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path), "COLUMNS": "200"}
    process = subprocess.Popen(
        [*command, "--workspace", str(tmp_path / "demo")],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=env,
        text=True,
    )
    lines: list[str] = []
    found = threading.Event()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line)
            if line.startswith("chr_"):
                found.set()

    threading.Thread(target=read, daemon=True).start()
    try:
        assert found.wait(timeout=240), "".join(lines)
        output = "".join(lines)
        assert f"The dashboard: http://127.0.0.1:{port}/" in output
        token = next(line.strip() for line in lines if line.startswith("chr_"))
        assert re.fullmatch(r"chr_[A-Za-z0-9_-]{43}", token)
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            for _ in range(600):  # the token is printed just before uvicorn listens
                try:
                    home = client.get("/", headers=headers)
                    break
                except httpx.TransportError:
                    time.sleep(0.1)
            else:
                pytest.fail("the dashboard did not answer:\n" + "".join(lines))
    finally:
        process.terminate()
        process.wait(timeout=30)

    assert home.status_code == 200
    assert "credit-default" in home.text and "dana.ruiz@bank.example" in home.text
    # the story ends with an automatic rollback from version 3: the overview shows the true live one
    assert "Version 2 has been live since" in home.text
