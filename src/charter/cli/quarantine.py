"""``charter quarantine NAME list|show|replay``: a thin translation of the quarantine service.

The issue spells the charter before the verb; the group class of ``charter alerts`` swaps
``NAME COMMAND`` into ``COMMAND NAME``, so ``charter quarantine list NAME`` works as well.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from charter.cli.alerts import _NameOrCommandFirst
from charter.cli.app import JsonOption, app, workspace
from charter.cli.output import emit, print_fitted

if TYPE_CHECKING:
    from charter.plumbing.quarantine import QuarantineSummary, ReplayReport

quarantine_app = typer.Typer(
    cls=_NameOrCommandFirst,
    help=(
        "A charter's quarantined rows: `charter quarantine NAME list|show|replay` — see why "
        "rows failed, then replay them once the contract or the data is fixed."
    ),
    no_args_is_help=True,
    subcommand_metavar="NAME COMMAND [ARGS]...",
)
app.add_typer(quarantine_app, name="quarantine")

NameArg = Annotated[str, typer.Argument(metavar="NAME", help="The charter.")]
BatchOption = Annotated[
    str | None,
    typer.Option("--batch", metavar="ID", help="Only this batch (its id, or a unique prefix)."),
]
RuleOption = Annotated[
    str | None,
    typer.Option("--rule", metavar="RULE", help="Only rows that broke this rule (amount.max)."),
]


@quarantine_app.command("list")
def list_command(ctx: typer.Context, name: NameArg, as_json: JsonOption = False) -> None:
    """Outstanding quarantined rows, counted by rule and by batch (oldest first)."""
    from charter.plumbing.quarantine import quarantine_summary

    summary = quarantine_summary(workspace(ctx), name)
    emit(summary.to_dict(), as_json=as_json, human=lambda c: _human_list(c, summary))


@quarantine_app.command("show")
def show_command(
    ctx: typer.Context,
    name: NameArg,
    batch: BatchOption = None,
    rule: RuleOption = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="At most this many rows.")] = 20,
    as_json: JsonOption = False,
) -> None:
    """The outstanding quarantined rows themselves, with every rule each broke."""
    from charter.plumbing.quarantine import quarantined_rows
    from charter.schemas.data import QuarantinedRows

    rows = quarantined_rows(workspace(ctx), name, batch=batch, rule=rule, limit=limit)

    def human(console: Console) -> None:
        if not rows:
            console.print("no quarantined rows outstanding")
        for row in rows:
            values = ", ".join(f"{k}={_as_written(v)}" for k, v in row["values"].items())
            print_fitted(console, f"{row['batch_id'][:12]} {row['source']} row {row['row']}:")
            print_fitted(console, values, indent=4)
            print_fitted(console, f"broke: {', '.join(row['violations'])}", indent=4)

    emit(QuarantinedRows(charter=name, rows=rows).to_json_dict(), as_json=as_json, human=human)


@quarantine_app.command("replay")
def replay_command(
    ctx: typer.Context,
    name: NameArg,
    batch: BatchOption = None,
    rule: RuleOption = None,
    wait: Annotated[
        float,
        typer.Option(
            "--wait",
            metavar="SECONDS",
            min=0,
            help="Wait this long for another ingest or replay of the charter to finish, then "
            "replay what it left (0: refuse at once, exit 1).",
        ),
    ] = 0.0,
    as_json: JsonOption = False,
) -> None:
    """Re-validate outstanding rows against the current charter and ingest them as a new batch."""
    from charter.plumbing.quarantine import replay

    report = replay(workspace(ctx), name, batch=batch, rule=rule, wait=wait)
    emit(report.to_dict(), as_json=as_json, human=lambda c: _human_replay(c, report))


def _human_list(console: Console, summary: QuarantineSummary) -> None:
    if not summary.rows:
        console.print(f"{summary.charter}: no quarantined rows outstanding")
        return
    console.print(f"{summary.charter}: {summary.rows} quarantined rows outstanding")
    for rule, count in summary.by_rule.items():
        console.print(f"  {count} x {rule}")
    for b in summary.batches:
        console.print(f"  batch {b['batch_id'][:12]} {b['source']}: {b['rows']} rows")
        for rule, count in b["by_rule"].items():
            console.print(f"      {count} x {rule}")


def _human_replay(console: Console, report: ReplayReport) -> None:
    b = report.batch
    if b is None:
        console.print(f"{report.charter}: nothing to replay")
    else:
        console.print(
            f"{report.charter}: {b.source} (batch {b.batch_id[:12]}): {b.rows_in} in = "
            f"{b.rows_scored} scored + {b.rows_quarantined} still quarantined"
            + (f", {b.rows_late} late" if b.rows_late else "")
        )
        for rule, count in b.violations.items():
            console.print(f"      {count} x {rule}")
    if report.note:
        console.print(f"note: {report.note}")


def _as_written(value: Any) -> str:
    """A value as a user writes it in data: ISO 8601 times, text unquoted unless it would read as
    something else, ``null`` for a missing value."""
    import json
    from datetime import date, datetime

    if value is None:
        return "null"
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, str):
        plain = value and value == value.strip() and "," not in value and "=" not in value
        return value if plain and value not in ("null", "true", "false") else json.dumps(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
