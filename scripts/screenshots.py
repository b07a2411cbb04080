"""Regenerate the dashboard's screenshots in docs/images/ from the demo workspace.

Runs the demo story into a fresh temporary workspace (then puts its rolled-back version 3 back
in shadow and proposes it again, so a decision waits), or uses ``--workspace`` as it is; serves
it with a real uvicorn on a loopback port, signs in as the demo's owner and takes a Playwright
screenshot of each main page with Debian's Chromium (``/usr/bin/chromium``; never a browser
download). PNGs are written with a narrow palette-free viewport so they stay small.

    PYTHONPATH=src python scripts/screenshots.py            # every page
    PYTHONPATH=src python scripts/screenshots.py --workspace charter-demo
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import re
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import uvicorn

from charter.demo.common import OWNER
from charter.server.app import create_app
from charter.settings import Settings
from charter.tokens import create_token
from charter.workspace import Workspace

IMAGES = Path(__file__).resolve().parent.parent / "docs" / "images"
CHROMIUM = "/usr/bin/chromium"
NAME = "credit-default"
WIDTH = 1200


@contextlib.contextmanager
def serving(ws: Workspace) -> Iterator[str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    server = uvicorn.Server(
        uvicorn.Config(create_app(ws), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(600):
        if server.started or not thread.is_alive():
            break
        time.sleep(0.1)
    if not server.started:
        raise SystemExit("uvicorn did not start")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def _shot(page: Any, name: str, selector: str | None = None, full: bool = False) -> None:
    path = IMAGES / f"dashboard-{name}.png"
    if selector:
        page.locator(selector).first.screenshot(path=str(path))
    else:
        page.screenshot(path=str(path), full_page=full)
    print(f"wrote {path.relative_to(IMAGES.parent.parent)} ({path.stat().st_size // 1024} KiB)")


def take(ws: Workspace) -> None:
    from playwright.sync_api import sync_playwright

    token = create_token(ws, OWNER, "owner")[0]
    with serving(ws) as base, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM)
        page = browser.new_page(viewport={"width": WIDTH, "height": 800})
        page.goto(f"{base}/login")
        _shot(page, "login")
        page.fill("#token", token)
        page.click("button:has-text('Sign in')")
        page.wait_for_url(f"{base}/")
        _shot(page, "overview")
        page.goto(f"{base}/charters/{NAME}")
        _shot(page, "charter")
        _shot(page, "drift", "[data-testid=drift-map]")
        if page.locator("section.decision").count():
            _shot(page, "decision", "section.decision")
        decision = page.locator("a[data-testid^=review-]")
        if decision.count():
            decision.first.click()
            page.wait_for_load_state()
            _shot(page, "decision-page")
        page.goto(f"{base}/charters/{NAME}/pipeline")
        _shot(page, "pipeline")
        page.goto(f"{base}/charters/{NAME}/versions")
        _shot(page, "versions")
        page.goto(f"{base}/charters/{NAME}/audit")
        _shot(page, "audit")
        page.goto(f"{base}/charters/{NAME}")
        breach = page.locator("table.heat td[data-status=breach] a")
        link = breach.first if breach.count() else page.locator("table.heat td a").first
        href = link.get_attribute("href") or ""
        page.goto(f"{base}{href}")
        _shot(page, "histogram")
        browser.close()
        if not re.match(r"^/charters/", href):
            raise SystemExit(f"the heat map has no cell link ({href!r})")


def propose_again(ws: Workspace) -> None:
    """A decision waiting, for the decision screenshots: the demo ends with none open, so its
    rolled-back version 3 goes back to shadow and is proposed to the owner again."""
    from charter.lifecycle.decisions import promote
    from charter.lifecycle.transitions import shadow

    shadow(ws, NAME, 3)
    promote(ws, NAME, 3)


def demo_workspace(root: Path) -> Workspace:
    """The demo's workspace as ``charter demo`` opens it: all state inside ``root``."""
    settings = Settings(workspace=root, database_url=None, artifacts=None, audit_key_file=None)
    return Workspace(root, settings=settings)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workspace", type=Path, help="an existing workspace (default: a demo)")
    args = parser.parse_args()
    if args.workspace is not None:
        take(demo_workspace(args.workspace))
        return 0
    from charter.demo.story import run_demo

    logging.getLogger("charter").setLevel(logging.ERROR)  # the demo's alerts go to the log route
    with tempfile.TemporaryDirectory(prefix="charter-shots-") as tmp:
        root = Path(tmp) / "demo"
        settings = Settings(workspace=root, database_url=None, artifacts=None, audit_key_file=None)
        run_demo(root, lambda _title, _text: None, settings=settings)
        ws = demo_workspace(root)
        propose_again(ws)
        take(ws)
    return 0


if __name__ == "__main__":
    sys.exit(main())
