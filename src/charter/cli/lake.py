"""``charter lake migrate|clean``: the logs' lake (``CHARTER_LAKE``), a thin translation."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from charter.cli.app import JsonOption, app, workspace
from charter.cli.output import emit

lake_app = typer.Typer(
    help="Where the logs live (CHARTER_LAKE): move a workspace's logs into a lake, clean it.",
    no_args_is_help=True,
)
app.add_typer(lake_app, name="lake")


@lake_app.command("migrate")
def migrate_command(
    ctx: typer.Context,
    to: Annotated[
        str,
        typer.Option(
            "--to", metavar="URL", help="The lake: a folder or an fsspec URL (s3://bucket/prefix)."
        ),
    ],
    delete_source: Annotated[
        bool,
        typer.Option(
            "--delete-source", help="Delete each local file once its copy is in the lake."
        ),
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Copy every committed log file (predictions, quarantine, labels) into the lake at URL,
    under the same keys. Safe to re-run: what is in place is not copied again. Then set
    CHARTER_LAKE=URL on every machine that shares this database."""
    from charter.plumbing.lake_migrate import migrate

    report = migrate(workspace(ctx), to, delete_source=delete_source)

    def human(console: Console) -> None:
        console.print(
            f"{report.copied} files copied ({report.bytes_copied} bytes), "
            f"{report.already_there} already there, of {report.files} committed files "
            f"into {report.target}"
        )
        if report.deleted_from_source:
            console.print(f"{report.deleted_from_source} files deleted from {report.source}")
        console.print(f"next: set CHARTER_LAKE={report.target} on every machine")

    emit(report.to_dict(), as_json=as_json, human=human)


@lake_app.command("clean")
def clean_command(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(metavar="NAME", help="The charter.")],
    grace: Annotated[
        float | None,
        typer.Option(
            "--grace",
            metavar="SECONDS",
            min=0,
            help="Leave files younger than this (default: CHARTER_LAKE_GRACE, 3600).",
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Remove the files in NAME's folders of the lake that no committed batch names (left by
    attempts that crashed or lost a race), once older than the grace period."""
    from charter.plumbing.lake_cleanup import clean
    from charter.schemas.data import LakeClean

    ws = workspace(ctx)
    name = ws.load(name).charter.name
    report = clean(ws, name, grace=ws.settings.lake_grace if grace is None else grace)
    result = LakeClean(
        charter=name, lake=report.lake, removed=report.removed, kept_young=report.kept_young
    )

    def human(console: Console) -> None:
        console.print(f"{len(report.removed)} uncommitted files removed from {report.lake}")
        for key in report.removed:
            console.print(f"  {key}")
        if report.kept_young:
            console.print(f"{report.kept_young} younger than the grace period left for later")

    emit(result.to_json_dict(), as_json=as_json, human=human)
