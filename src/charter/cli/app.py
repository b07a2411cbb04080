"""The Typer application and the options every command shares."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from charter.cli.output import err_console

if TYPE_CHECKING:
    from charter.workspace import Workspace

app = typer.Typer(
    name="charter",
    help="Take ML models from pilot to production and keep them there.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
audit_app = typer.Typer(help="The tamper-evident audit ledger.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")

JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]


@app.callback()
def _global(
    ctx: typer.Context,
    workspace: Annotated[
        Path | None,
        typer.Option(
            "--workspace",
            "-w",
            envvar="CHARTER_WORKSPACE",
            help="Workspace folder (default: the current folder).",
        ),
    ] = None,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks for errors.")] = False,
) -> None:
    """charter: an owner, a sufficiency contract, a data contract and operations for every model."""
    from charter.settings import Settings
    from charter.workspace import Workspace

    settings = Settings()
    ctx.obj = Workspace(workspace or settings.workspace, settings=settings)
    ctx.obj.on_notice = _notice
    ctx.call_on_close(ctx.obj.close)  # the command's database connections end with it


def _notice(message: str) -> None:
    err_console.print(message)


def workspace(ctx: typer.Context) -> Workspace:
    from charter.workspace import Workspace

    obj = ctx.find_root().obj
    assert isinstance(obj, Workspace)
    return obj
