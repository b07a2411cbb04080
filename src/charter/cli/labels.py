"""``charter labels NAME [FILE]``: a thin translation of :func:`charter.plumbing.labels.ingest_labels`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from charter.attention import exit_code, from_labels, to_json
from charter.cli.app import JsonOption, app, workspace
from charter.cli.output import emit
from charter.plumbing.labels import LabelReport, ingest_labels


@app.command()
def labels(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The charter the labels belong to.")],
    file: Annotated[
        Path | None,
        typer.Argument(
            help="A Parquet, CSV or JSON Lines file (default: the charter's labels.source)."
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Record ground truth and join it to predictions by key. Exit 5 if a delivery failed
    (it ran, but needs attention: listed under "attention" in --json)."""
    report = ingest_labels(workspace(ctx), name, file)
    facts = from_labels(report)
    body = {**report.to_dict(), "attention": to_json(facts)}
    emit(body, as_json=as_json, human=lambda console: _human(console, report))
    if exit_code(facts):
        raise typer.Exit(exit_code(facts))


def _human(console: Console, report: LabelReport) -> None:
    if not report.batches and not report.files_failed:
        console.print(f"{report.charter}: no new labels")
    for batch in report.batches:
        console.print(
            f"  {batch.source}: {batch.rows_in} rows: {batch.labels_new} new, "
            f"{batch.labels_changed} changed, {batch.duplicates} duplicates, "
            f"{batch.invalid} invalid, {batch.unknown_keys} for keys with no prediction"
        )
    for failed in report.files_failed:
        console.print(f"FAILED {failed['file']}: {failed['error']}")
    if report.coverage is not None:
        console.print(f"{report.charter}: {report.coverage:.1%} of logged predictions have a label")
