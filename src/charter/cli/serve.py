"""``charter serve``: the HTTP API (:func:`charter.server.app.create_app`) under uvicorn."""

from __future__ import annotations

import os
import shutil
from typing import Annotated

import typer

from charter.cli.app import app, workspace
from charter.cli.output import err_console

# A worker imports pandas, Polars, scikit-learn...: on a loaded machine that takes a while, and
# uvicorn's default (5 s) would kill and restart workers that are merely still importing.
_WORKER_START_SECONDS = 180


@app.command("serve")
def serve(
    ctx: typer.Context,
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[
        int, typer.Option("--port", min=0, max=65535, help="Port to listen on.")
    ] = 8080,
    workers: Annotated[
        int, typer.Option("--workers", min=1, metavar="N", help="Worker processes.")
    ] = 1,
) -> None:
    """Serve the workspace's HTTP API: prediction, labels, management, /metrics, /docs."""
    import uvicorn

    from charter.server.metrics import MULTIPROC_ENV

    ws = workspace(ctx)
    ws.db  # noqa: B018 - migrate (and fail clearly) before the server starts listening
    err_console.print(f"charter serve: {ws.root} on http://{host}:{port} (docs at /docs)")
    if workers == 1:
        from charter.server.app import create_app

        uvicorn.run(create_app(ws), host=host, port=port, log_level="info")
        return
    os.environ["CHARTER_WORKSPACE"] = str(ws.root)  # the workers build their app from settings
    metrics_dir = ws.state_dir / "metrics" / str(os.getpid())
    shutil.rmtree(metrics_dir, ignore_errors=True)
    metrics_dir.mkdir(parents=True)
    os.environ[MULTIPROC_ENV] = str(metrics_dir)
    try:
        uvicorn.run(
            "charter.server.app:create_app",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level="info",
            timeout_worker_healthcheck=_WORKER_START_SECONDS,
        )
    finally:
        shutil.rmtree(metrics_dir, ignore_errors=True)
