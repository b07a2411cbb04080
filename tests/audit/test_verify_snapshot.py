"""``charter audit verify`` reads one consistent snapshot: never wrong about an intact ledger
while other processes append to it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from charter.settings import Settings
from charter.workspace import Workspace

WRITER = """
import sys
from charter.settings import Settings
from charter.workspace import Workspace
ws = Workspace(sys.argv[1], settings=Settings())
for i in range(int(sys.argv[2])):
    with ws.db.session() as session:
        for j in range(3):
            ws.ledger.append(session, "concurrent", {"i": i, "j": j}, actor=sys.argv[3])
    if i == 0:
        print("started", flush=True)
ws.close()
"""
VERIFY_RUNS = 150
TRANSACTIONS = 300


def test_verify_is_never_wrong_about_an_intact_ledger_under_concurrent_writers(
    workspace_dir: Path,
) -> None:
    ws = Workspace(workspace_dir, settings=Settings())
    with ws.db.session() as session:  # the key and the ledger exist before the writers start
        ws.ledger.append(session, "start", {}, actor="tester")
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(workspace_dir), str(TRANSACTIONS), f"w{n}"],
            stdout=subprocess.PIPE,
            text=True,
        )
        for n in range(2)
    ]
    reports = []
    try:
        for writer in writers:  # verify only once both are appending
            assert writer.stdout is not None and writer.stdout.readline() == "started\n"
        for _ in range(VERIFY_RUNS):
            reports.append(ws.ledger.verify())
            if all(w.poll() is not None for w in writers):
                break
    finally:
        codes = [w.wait(timeout=300) for w in writers]
    assert codes == [0, 0]
    bad = [r.first_bad for r in reports if not r.ok]
    assert bad == []
    # Each report saw whole transactions only: 1 + 3 per committed writer transaction.
    assert all(
        (r.entries - 1) % 3 == 0 and r.checkpoints == 1 + (r.entries - 1) // 3 for r in reports
    )
    final = ws.ledger.verify()
    assert final.ok and final.entries == 1 + 2 * TRANSACTIONS * 3
    ws.close()
