"""``charter demo``: the end-to-end lifecycle on generated data."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from charter.cli.app import JsonOption, app
from charter.cli.output import console, emit


@app.command()
def demo(
    workspace: Annotated[
        Path,
        typer.Option(
            "--workspace",
            help="Folder for the demo workspace (replaced if it holds an earlier demo).",
        ),
    ] = Path("charter-demo"),
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
