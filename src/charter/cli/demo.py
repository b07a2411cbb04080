"""``charter demo``: the end-to-end lifecycle on generated data."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.text import Text

from charter.cli.app import JsonOption, app
from charter.cli.output import console, emit, err_console

if TYPE_CHECKING:
    from charter.settings import Settings


@app.command()
def demo(
    workspace: Annotated[
        Path,
        typer.Option(
            "--workspace",
            help="Folder for the demo workspace (replaced if it holds an earlier demo).",
        ),
    ] = Path("charter-demo"),
    serve: Annotated[
        bool,
        typer.Option(
            "--serve/--no-serve",
            help="Then serve the dashboard on the demo workspace and print an owner sign-in "
            "token (make demo does; --no-serve, the default, for scripts).",
        ),
    ] = False,
    port: Annotated[
        int, typer.Option("--port", min=0, max=65535, help="Port of --serve (on 127.0.0.1).")
    ] = 8080,
    as_json: JsonOption = False,
) -> None:
    """Run the whole story: pilot in shadow, owner approval, drift and breach, retraining,
    promotion, an automatic rollback, and the audit, on generated data."""
    from charter.demo.story import run_demo  # scikit-learn is slow to import: only when asked
    from charter.settings import Settings

    def narrate(title: str, text: str) -> None:
        if not as_json:
            console.print(Text.assemble((title, "bold"), ": ", text))

    # The demo keeps all of its state inside its workspace, whatever CHARTER_* says.
    settings = Settings(workspace=workspace, database_url=None, artifacts=None, audit_key_file=None)
    report = run_demo(workspace, narrate, settings=settings)
    emit(
        report.to_dict(),
        as_json=as_json,
        human=lambda c: c.print(
            f"\nDone. Inspect the workspace: cd {report.workspace} && charter versions credit-default"
            " && charter audit verify"
        ),
    )
    if serve:
        _serve(Path(report.workspace), settings, port, err_console if as_json else console)


def _serve(root: Path, settings: Settings, port: int, out: Console) -> None:
    """Serve the dashboard on the demo workspace, with a fresh owner token to sign in with."""
    import uvicorn

    from charter.server.app import create_app
    from charter.tokens import create_token
    from charter.workspace import Workspace

    ws = Workspace(root, settings=settings)
    owner = ws.load("credit-default").charter.owner
    token, _ = create_token(ws, owner.email, "owner", expires="1d")
    url = f"http://127.0.0.1:{port}/"
    out.print(
        Text.assemble(
            ("\nThe dashboard", "bold"),
            f": {url}\nSign in as {owner.name} <{owner.email}> (owner, valid for a day) with:\n",
            (token, "bold"),
            "\nStop with Ctrl+C.",
        ),
        soft_wrap=True,
    )
    uvicorn.run(create_app(ws), host="127.0.0.1", port=port, log_level="warning")
