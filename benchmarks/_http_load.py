"""A load generator that costs little: HTTP/1.1 over raw asyncio sockets, kept alive.

On a 2-core machine the load generator shares the CPU with the server it measures. A full HTTP
client (httpx: request objects, header models, connection pool) spends about as much CPU per
single-record request as a small server does answering it, so the client, not the server, sets
the pace and every server looks alike. Here each client is one kept-alive connection that writes
pre-encoded request bytes and reads the status line, the headers and a ``Content-Length`` (or
chunked) body: a few tens of microseconds per request. :func:`run` also returns the CPU seconds
the generator itself used, so a report can show it was not the bottleneck.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from typing import Any


@dataclass
class Load:
    wall: float  # seconds from the first request to the last answer
    latencies: list[float]  # each request's, in seconds
    cpu: float  # CPU seconds this process spent meanwhile


def request_bytes(port: int, path: str, headers: dict[str, str], body: Any) -> bytes:
    """One POST of ``body`` as JSON, ready to write on a kept-alive connection."""
    payload = json.dumps(body).encode()
    lines = [
        f"POST {path} HTTP/1.1",
        f"Host: 127.0.0.1:{port}",
        "Content-Type: application/json",
        f"Content-Length: {len(payload)}",
        *(f"{name}: {value}" for name, value in headers.items()),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + payload


async def _answer(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    status_line, _, rest = head.partition(b"\r\n")
    status = int(status_line.split(b" ", 2)[1])
    fields = {}
    for line in rest.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name:
            fields[name.strip().lower()] = value.strip()
    if b"content-length" in fields:
        return status, await reader.readexactly(int(fields[b"content-length"]))
    if fields.get(b"transfer-encoding", b"").lower() == b"chunked":
        body = bytearray()
        while True:
            size = int((await reader.readuntil(b"\r\n")).strip().split(b";")[0], 16)
            chunk = await reader.readexactly(size + 2)
            if size == 0:
                return status, bytes(body)
            body += chunk[:-2]
    raise RuntimeError("a response with neither Content-Length nor chunked encoding")


def run(port: int, requests: list[bytes], clients: int, label: str) -> Load:
    """Send ``requests`` over ``clients`` kept-alive connections; every answer must be 200."""

    async def main() -> Load:
        latencies: list[float] = []
        queue = iter(requests)

        async def client() -> None:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            try:
                for request in queue:
                    started = time.perf_counter()
                    writer.write(request)
                    status, body = await _answer(reader)
                    latencies.append(time.perf_counter() - started)
                    if status != 200:
                        raise SystemExit(f"{label}: {status} {body[:500]!r}")
            finally:
                writer.close()

        cpu, started = time.process_time(), time.perf_counter()
        await asyncio.gather(*(client() for _ in range(clients)))
        return Load(time.perf_counter() - started, latencies, time.process_time() - cpu)

    return asyncio.run(main())
