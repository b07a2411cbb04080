"""Audit ledger: append and verify rates for N events on SQLite and PostgreSQL.

Run: ``python -m benchmarks.ledger [--events 100000]`` from the repository root. There is no peer
tool for a signed hash-chained ledger; the floor is hashing the same canonical bytes in a loop.
Appends are measured two ways: one transaction per event (the worst case: every CLI command or
API call that changes state) and 1,000 events per transaction (batch ingestion).
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import subprocess
import tempfile
import time
import uuid
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

import psycopg

from charter.audit.ledger import Event, canonical_json, entry_hash
from charter.settings import Settings
from charter.workspace import Workspace

POSTGRES_ADMIN = os.environ.get(
    "CHARTER_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
RESULTS = Path(__file__).with_name("RESULTS.md")


def _workspace(root: Path, url: str) -> Workspace:
    return Workspace(root, settings=Settings(workspace=root, database_url=url, actor="bench"))


def _payload(i: int) -> dict[str, object]:
    return {"batch": f"b{i:08d}", "rows_in": 1000, "rows_scored": 990, "rows_quarantined": 10}


def append_single(ws: Workspace, n: int) -> float:
    start = time.perf_counter()
    for i in range(n):
        with ws.db.session() as session:
            ws.ledger.append(session, "batch.ingested", _payload(i), actor="bench", charter="bench")
    return time.perf_counter() - start


def append_batched(ws: Workspace, n: int, per_tx: int = 1000) -> float:
    start = time.perf_counter()
    for first in range(0, n, per_tx):
        events = [
            Event("batch.ingested", _payload(i), "bench")
            for i in range(first, min(n, first + per_tx))
        ]
        with ws.db.session() as session:
            ws.ledger.append_many(session, events, actor="bench")
    return time.perf_counter() - start


def verify(ws: Workspace, expected: int) -> float:
    start = time.perf_counter()
    report = ws.ledger.verify()
    elapsed = time.perf_counter() - start
    assert report.ok and report.entries == expected, report
    return elapsed


def hashing_floor(n: int) -> float:
    now = datetime.now(UTC).isoformat()
    start = time.perf_counter()
    prev = "0" * 64
    for i in range(n):
        prev = entry_hash(
            prev, i + 1, now, "bench", "batch.ingested", "bench", canonical_json(_payload(i))
        )
    return time.perf_counter() - start


def _fresh_postgres() -> tuple[str, str]:
    name = f"charter_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = POSTGRES_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    return name, f"{base}/{name}"


def _drop_postgres(name: str) -> None:
    with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def run(events: int, single: int) -> list[tuple[str, str, float, int]]:
    rows: list[tuple[str, str, float, int]] = []
    for backend in ("sqlite", "postgresql"):
        for mode in ("single", "batched"):
            with tempfile.TemporaryDirectory() as tmp:
                root = Path(tmp)
                pg_name = None
                if backend == "sqlite":
                    url = f"sqlite:///{root / 'charter.db'}"
                else:
                    pg_name, url = _fresh_postgres()
                try:
                    ws = _workspace(root, url)
                    n = single if mode == "single" else events
                    seconds = append_single(ws, n) if mode == "single" else append_batched(ws, n)
                    rows.append(
                        (
                            backend,
                            "append, 1 event per transaction"
                            if mode == "single"
                            else "append, 1,000 per transaction",
                            seconds,
                            n,
                        )
                    )
                    if mode == "batched":
                        rows.append(
                            (backend, "verify (chain + signed checkpoints)", verify(ws, n), n)
                        )
                    ws.close()
                finally:
                    if pg_name:
                        _drop_postgres(pg_name)
    rows.append(("-", "floor: hashing the same bytes in a loop", hashing_floor(events), events))
    return rows


def _machine() -> str:
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    pg = subprocess.run(["psql", "--version"], capture_output=True, text=True).stdout.strip()
    return (
        f"{os.cpu_count()} cores, {mem:.0f} GiB; Python {platform.python_version()}; "
        f"SQLAlchemy {version('sqlalchemy')}, psycopg {version('psycopg')}, "
        f"SQLite {__import__('sqlite3').sqlite_version}; {pg}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument(
        "--single", type=int, default=None, help="events for the 1-per-transaction case"
    )
    args = parser.parse_args()
    single = args.single or args.events
    load_start = os.getloadavg()[0]
    rows = run(args.events, single)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    lines = [
        f"\n## Audit ledger — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC\n",
        f"Machine: {_machine()}. Load average (1 min) at start {load_start:.1f}, at end "
        f"{os.getloadavg()[0]:.1f}. Peak RSS {peak:.0f} MiB.",
        f"Command: `python -m benchmarks.ledger --events {args.events}"
        + (f" --single {single}`" if args.single else "`"),
        "",
        "| backend | operation | events | seconds | events/s |",
        "| --- | --- | ---: | ---: | ---: |",
    ]
    for backend, operation, seconds, n in rows:
        lines.append(f"| {backend} | {operation} | {n:,} | {seconds:.2f} | {n / seconds:,.0f} |")
    rate = {(b, op): n / s for b, op, s, n in rows}
    batched, verified = "append, 1,000 per transaction", "verify (chain + signed checkpoints)"
    lines += [
        "",
        "Headline (one run each, no repetitions): append "
        + ", ".join(
            f"{rate[(b, batched)]:,.0f}/s ({b})"
            for b in ("sqlite", "postgresql")
            if (b, batched) in rate
        )
        + "; verify "
        + ", ".join(
            f"{rate[(b, verified)]:,.0f}/s ({b})"
            for b in ("sqlite", "postgresql")
            if (b, verified) in rate
        )
        + f"; floor, hashing alone: {rows[-1][3] / rows[-1][2]:,.0f}/s.",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    if not RESULTS.exists():
        RESULTS.write_text(
            "# Benchmark results\n\nEvery section is written by the benchmark named in it; never edited by hand.\n"
        )
    with RESULTS.open("a") as handle:
        handle.write(text)


if __name__ == "__main__":
    main()
