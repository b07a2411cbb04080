"""``charter ingest NAME`` and ``charter rescore NAME``: thin translations of
:func:`charter.plumbing.ingest.ingest` and :func:`charter.plumbing.rescore.rescore`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from charter.attention import Attention, exit_code, from_ingest
from charter.cli.app import JsonOption, app, workspace
from charter.cli.output import emit
from charter.cli.progress import progress_bar

if TYPE_CHECKING:
    from charter.plumbing.ingest_report import IngestReport


@app.command()
def ingest(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The charter whose live source to ingest.")],
    retry_failed: Annotated[
        bool,
        typer.Option("--retry-failed", help="Read again files that failed before, even unchanged."),
    ] = False,
    wait: Annotated[
        float,
        typer.Option(
            "--wait",
            metavar="SECONDS",
            min=0,
            help="Wait this long for another ingest or replay of the charter to finish, then "
            "ingest what it left (0: refuse at once, exit 1).",
        ),
    ] = 0.0,
    engine: Annotated[
        str | None,
        typer.Option(
            "--engine",
            metavar="ENGINE",
            help="Compute engine: polars (local) or spark (CHARTER_SPARK_MASTER). Wins over "
            "CHARTER_ENGINE and the charter's data.engine; default polars.",
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Ingest new batches exactly once: validate, quarantine, score, log.

    Exit 5 when it ran but needs attention: rows were quarantined, a file failed or a model
    version failed on some rows (each listed under "attention" in --json).
    """
    from charter.plumbing.ingest import ingest as run_ingest

    with progress_bar(as_json) as progress:
        report = run_ingest(
            workspace(ctx),
            name,
            retry_failed=retry_failed,
            wait=wait,
            progress=progress,
            engine=engine,
        )
    facts = from_ingest(report)
    body = report.to_schema([f.to_schema() for f in facts]).to_json_dict()
    emit(body, as_json=as_json, human=lambda console: _human(console, report, facts))
    if exit_code(facts):
        raise typer.Exit(exit_code(facts))


@app.command()
def rescore(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The charter whose logged rows to rescore.")],
    since: Annotated[
        str | None,
        typer.Option(
            "--since",
            metavar="TIMESTAMP",
            help="Only rows ingested at or after this ISO date or time (UTC unless it says).",
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Score logged rows that no current version scored (e.g. ingested before any version
    existed), exactly once, as a batch of kind rescore. Exit 5 if it needs attention."""
    from charter.monitoring.reference import parse_moment
    from charter.plumbing.rescore import rescore as run_rescore

    moment = parse_moment(since, "--since") if since is not None else None
    report = run_rescore(workspace(ctx), name, since=moment)
    facts = from_ingest(report)
    body = report.to_schema([f.to_schema() for f in facts]).to_json_dict()
    emit(body, as_json=as_json, human=lambda console: _human(console, report, facts))
    if exit_code(facts):
        raise typer.Exit(exit_code(facts))


def _human(console: Console, report: IngestReport, facts: list[Attention]) -> None:
    if not report.batches:
        console.print(f"{report.charter}: nothing new to ingest")
    if report.rows_reread:
        console.print(
            f"  look-back: {report.rows_reread} rows read again, already ingested, skipped"
        )
    for batch in report.batches:
        extra = f", {batch.rows_late} late" if batch.rows_late else ""
        console.print(
            f"  {batch.source}: {batch.rows_in} in = {batch.rows_scored} scored + "
            f"{batch.rows_quarantined} quarantined{extra}"
        )
        for rule, count in batch.violations.items():
            console.print(f"      {count} x {rule}")
        for change in batch.schema_changes:
            console.print(f"      schema: {change['kind']} {change['column']}: {change['detail']}")
        for verdict in batch.batch_rules:
            if not verdict["ok"]:
                console.print(
                    f"      batch rule {verdict['rule']} failed: "
                    f"{verdict['observed']} (expected {verdict['expected']})"
                )
    if report.batches:
        holds = "holds" if report.balanced else "DOES NOT HOLD"
        console.print(
            f"{report.charter}: {len(report.batches)} batches, {report.rows_in} rows in, "
            f"{report.rows_scored} scored, {report.rows_quarantined} quarantined, "
            f"{report.rows_late} late; rows_in == rows_scored + rows_quarantined {holds} "
            "for every batch"
        )
    if report.scored_by:
        versions = ", ".join(f"{v['version']} ({v['status']})" for v in report.scored_by)
        console.print(f"scored by: {versions}")
    if report.note:
        console.print(f"note: {report.note}")
    for waiting in report.files_waiting:
        console.print(f"waiting {waiting['file']}: {waiting['reason']}")
    for warning in report.warnings:
        console.print(f"WARNING {warning['source']}: {warning['warning']}")
    for skipped in report.files_skipped:
        console.print(f"skipped {skipped['file']}: {skipped['reason']}")
    for failed in report.files_failed:
        console.print(f"FAILED {failed['file']}: {failed['error']}")
    if report.files_failed:
        console.print(
            "Failed files are recorded; they are read again when they change, or with "
            "--retry-failed."
        )
    for batch in report.batches:
        for failure in batch.scoring_failures:
            console.print(
                f"VERSION FAILED {failure['version']} ({failure['status']}) on "
                f"{failure['rows']} row(s) of {batch.source}: {failure['error']}",
                markup=False,
            )
    if facts:
        console.print(f"needs attention: {len(facts)} finding(s) (exit code 5)")
