"""A real ``charter serve`` under load while its PostgreSQL server restarts, or is SIGKILLed.

The PostgreSQL server is the test's own (``initdb`` on a free port, in a temporary folder, run as
the ``postgres`` user when the test runs as root): the machine's shared server is never touched.
16 clients send single-record predictions, each with a key of its own; mid-run the server is
stopped and started again. Then: every answer was a 200 or a 503 with ``Retry-After`` (never a
500, never a dropped connection), every 200's ``prediction_id`` is in the prediction log exactly
once, and no 503's key is in the log (refused means not logged).

The number of requests is ``CHARTER_TEST_RELIABILITY_REQUESTS`` (default 4,000: 20,000 take
several minutes on a loaded 2-core machine; the issue's 20,000 is ``=20000``).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from glob import glob
from pathlib import Path

import httpx
import pytest
from tests.server.conftest import NAME, record
from tests.server.test_serve_process import _free_port, serving

from charter.plumbing.predictions import read_predictions
from charter.registry.versions import register_version, set_status
from charter.settings import Settings
from charter.spec.scaffold import write_scaffold
from charter.tokens import create_token
from charter.workspace import Workspace

REQUESTS = int(os.environ.get("CHARTER_TEST_RELIABILITY_REQUESTS", "4000"))
CLIENTS = 16
OUTAGE_SECONDS = 2.0


def _bin(name: str) -> str:
    found = sorted(glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not found:
        pytest.skip(f"no {name} under /usr/lib/postgresql/*/bin")
    return found[-1]


class OwnPostgres:
    """A PostgreSQL server of the test's own, in a temporary folder, on a free loopback port."""

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="charter-own-pg-"))
        self.data = self.folder / "data"
        self.port = _free_port()
        self.user = "postgres" if os.geteuid() == 0 else None  # postgres refuses to run as root
        if self.user:
            entry = pwd.getpwnam(self.user)
            os.chown(self.folder, entry.pw_uid, entry.pw_gid)
        self._run(_bin("initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres")
        self.start()

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *command: str) -> None:
        prefix = ["runuser", "-u", self.user, "--"] if self.user else []
        subprocess.run([*prefix, *command], check=True, capture_output=True)

    def start(self) -> None:
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(
            _bin("pg_ctl"), "-D", str(self.data), "-o", options, "-w", "-l",
            str(self.folder / "server.log"), "start",
        )  # fmt: skip

    def stop(self) -> None:
        self._run(_bin("pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")

    def kill(self) -> None:
        """SIGKILL the postmaster and every backend of it, as a crash would."""
        postmaster = int((self.data / "postmaster.pid").read_text().split()[0])
        children = [
            int(p.name)
            for p in Path("/proc").iterdir()
            if p.name.isdigit() and _parent(p) == postmaster
        ]
        for pid in [postmaster, *children]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        for _ in range(100):  # until every process of the old server is gone
            if not any(Path(f"/proc/{pid}").exists() for pid in [postmaster, *children]):
                break
            time.sleep(0.05)

    def close(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self._run(_bin("pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.folder, ignore_errors=True)


def _parent(proc: Path) -> int | None:
    try:
        fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return int(fields[1])


@pytest.fixture
def own_postgres() -> Iterator[OwnPostgres]:
    if not shutil.which("runuser") and os.geteuid() == 0:
        pytest.skip("running as root needs runuser to start PostgreSQL as postgres")
    server = OwnPostgres()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def served_ws(
    own_postgres: OwnPostgres, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Workspace]:
    root = tmp_path / "ws"
    write_scaffold(
        root / "charters", NAME, owner_name="Dana Ruiz", owner_email="dana.ruiz@bank.example"
    )
    monkeypatch.setenv("CHARTER_DATABASE_URL", own_postgres.url)
    monkeypatch.setenv("CHARTER_AUDIT_KEY_FILE", str(tmp_path / "keys" / "audit.key"))
    monkeypatch.setenv("CHARTER_ACTOR", "tester@example.com")
    ws = Workspace(root, settings=Settings())
    (root / "served_model.py").write_text("def score(frame):\n    return frame['amount'] / 4\n")
    monkeypatch.syspath_prepend(str(root))
    info = register_version(ws, NAME, "served_model:score")
    with ws.db.session() as session:
        set_status(ws, session, NAME, info.version, "live", reason="test")
    yield ws
    ws.close()


@dataclass
class Tally:
    answered: dict[str, str] = field(default_factory=dict)  # key -> prediction_id
    refused: list[str] = field(default_factory=list)  # keys answered 503
    bad: list[str] = field(default_factory=list)  # anything else: status, body, transport error
    sent: int = 0


async def _load(base: str, token: str, tally: Tally, started: threading.Event) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    counter = iter(range(REQUESTS))
    timeout = httpx.Timeout(60.0)
    limits = httpx.Limits(max_connections=CLIENTS)

    async with httpx.AsyncClient(base_url=base, timeout=timeout, limits=limits) as client:

        async def worker() -> None:
            for i in counter:
                body = record(i, id=f"k{i}")
                tally.sent += 1
                if tally.sent == REQUESTS // 3:
                    started.set()  # a third sent: the outage begins
                try:
                    response = await client.post(
                        f"/v1/charters/{NAME}/predict", json=body, headers=headers
                    )
                except httpx.TransportError as exc:
                    tally.bad.append(f"k{i}: {type(exc).__name__}: {exc}")
                    continue
                if response.status_code == 200:
                    tally.answered[f"k{i}"] = response.json()["prediction_id"]
                elif response.status_code == 503 and response.headers.get("retry-after"):
                    tally.refused.append(f"k{i}")
                else:
                    tally.bad.append(f"k{i}: {response.status_code} {response.text[:300]}")

        await asyncio.gather(*(worker() for _ in range(CLIENTS)))


def _outage(server: OwnPostgres, how: str, started: threading.Event) -> threading.Thread:
    def run() -> None:
        started.wait(timeout=600)
        server.kill() if how == "sigkill" else server.stop()
        time.sleep(OUTAGE_SECONDS)
        server.start()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


@pytest.mark.slow
@pytest.mark.timeout(1800)
@pytest.mark.parametrize("how", ["restart", "sigkill"])
def test_every_answer_is_logged_exactly_once_while_postgresql_goes_down(
    served_ws: Workspace, own_postgres: OwnPostgres, tmp_path: Path, how: str
) -> None:
    token, _ = create_token(served_ws, "ops@bank.example", "operator")
    tally, started = Tally(), threading.Event()

    with serving(served_ws.root, tmp_path / "serve.log") as client:
        outage = _outage(own_postgres, how, started)
        asyncio.run(_load(str(client.base_url), token, tally, started))
        outage.join(timeout=120)
        ready = client.get("/readyz")

    logged = read_predictions(served_ws, NAME).collect()
    ids = logged["prediction_id"].to_list()
    keys = set(logged["key"].to_list())
    print(f"{how}: {len(tally.answered)} answered, {len(tally.refused)} refused with 503")

    assert tally.bad == [], tally.bad[:20]
    assert len(tally.answered) + len(tally.refused) == REQUESTS
    assert ready.status_code == 200, ready.text  # the server came back by itself
    assert len(ids) == len(set(ids)), "a prediction is in the log twice"
    missing = set(tally.answered.values()) - set(ids)
    assert not missing, f"{len(missing)} answered predictions are not in the log"
    assert not keys & set(tally.refused), "a record refused with 503 is in the log"
    assert len(ids) == len(tally.answered)
