"""Real servers for alert routes: an HTTP server for webhooks and an SMTP server (aiosmtpd).

Both listen on 127.0.0.1. The webhook server follows a script (a status code to return, or
seconds to stall before answering) and then answers 200; the SMTP server keeps every message and
refuses the recipients it is told to, or answers a temporary 451 a given number of times.

``workspace_dir`` is overridden so that every workspace (the ``ws`` fixture and the CLI alike)
talks to this SMTP server and retries with short delays.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

CHARTER = "credit-default"


@dataclass
class Hook:
    """A webhook receiver: ``script`` says how to answer the next requests; ``bodies`` holds them."""

    url: str
    script: deque[int | float] = field(default_factory=deque)
    bodies: list[dict[str, Any]] = field(default_factory=list)
    arrivals: list[float] = field(default_factory=list)

    def then(self, *steps: int | float) -> Hook:
        """Queue answers: an int is an HTTP status, a float is seconds to stall before 200."""
        self.script.extend(steps)
        return self


def _handler(hook: Hook) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            hook.arrivals.append(time.monotonic())
            hook.bodies.append(json.loads(self.rfile.read(length)))
            step = hook.script.popleft() if hook.script else 200
            if isinstance(step, float):
                time.sleep(step)
                step = 200
            try:
                self.send_response(step)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                self.wfile.write(b"ok" if step == 200 else b"server says no")
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (a timeout test); nothing to answer

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@pytest.fixture
def hook_factory() -> Iterator[Any]:
    """Start webhook servers on demand: ``hook_factory()`` → a :class:`Hook` with its own port."""
    servers: list[ThreadingHTTPServer] = []

    def start() -> Hook:
        hook = Hook(url="")
        server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(hook))
        server.daemon_threads = True
        hook.url = f"http://127.0.0.1:{server.server_address[1]}/services/T000/B000/secret"
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return hook

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture
def hook(hook_factory: Any) -> Hook:
    started: Hook = hook_factory()
    return started


class Inbox:
    """An aiosmtpd handler that keeps messages, refuses some recipients, and can defer."""

    def __init__(self) -> None:
        self.port = 0
        self.refuse: set[str] = set()
        self.defer = 0
        self.messages: list[tuple[str, list[str], Message]] = []

    async def handle_RCPT(  # noqa: N802 - aiosmtpd calls hooks by this name
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if self.defer > 0:
            self.defer -= 1
            return "451 4.3.0 try again later"
        if address in self.refuse:
            return "550 5.1.1 no such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # noqa: N802 - aiosmtpd calls hooks by this name
        self, server: Any, session: Any, envelope: Any
    ) -> str:
        message = message_from_bytes(envelope.original_content, policy=policy.default)
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 Message accepted"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def inbox() -> Iterator[Inbox]:
    handler = Inbox()
    handler.port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=handler.port)
    controller.start()
    yield handler
    controller.stop()


@pytest.fixture
def workspace_dir(workspace_dir: Path, inbox: Inbox, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The shared workspace, pointed at the local SMTP server, with fast, bounded retries."""
    monkeypatch.setenv("CHARTER_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("CHARTER_SMTP_PORT", str(inbox.port))
    monkeypatch.setenv("CHARTER_SMTP_STARTTLS", "false")
    monkeypatch.setenv("CHARTER_SMTP_FROM", "charter@bank.example")
    monkeypatch.setenv("CHARTER_ALERTS_ATTEMPTS", "3")
    monkeypatch.setenv("CHARTER_ALERTS_TIMEOUT", "2")
    monkeypatch.setenv("CHARTER_ALERTS_BACKOFF", "0.05")
    monkeypatch.setenv("CHARTER_ALERTS_MAX_SECONDS", "10")
    return workspace_dir


def set_routes(workspace_dir: Path, routes: list[dict[str, Any]]) -> None:
    """Replace the scaffold's ``operations.alerts`` with ``routes`` (YAML accepts JSON)."""
    path = workspace_dir / "charters" / f"{CHARTER}.yaml"
    lines = path.read_text().splitlines()
    start = lines.index("  alerts:")
    end = start + 1
    while lines[end].startswith("    - "):
        end += 1
    lines[start:end] = [f"  alerts: {json.dumps(routes)}"]
    path.write_text("\n".join(lines) + "\n")


def drain(ws: Any, policy: Any = None, passes: int = 12) -> list[Any]:
    """Run delivery passes, each at the time the next retry is due, until nothing is pending:
    what cron running `charter alerts deliver --once` does over the following minutes."""
    from datetime import UTC, datetime

    from charter.alerts.outbox import deliver_pending, pending

    now, done = datetime.now(UTC), []
    for _ in range(passes):
        done.append(deliver_pending(ws, now=now, policy=policy))
        waiting = pending(ws)
        if not waiting:
            return done
        now = max([now, *(d.next_attempt_at for d in waiting if d.next_attempt_at)])
    raise AssertionError(f"still pending after {passes} passes: {pending(ws)}")
