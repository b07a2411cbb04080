"""``charter contract import|export|test``: thin translations of :mod:`charter.services.contracts`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from charter.cli.app import JsonOption, app, workspace
from charter.cli.output import emit

if TYPE_CHECKING:
    from charter.schemas.contracts import ContractTest, Unmapped

contract_app = typer.Typer(
    help="Data contracts: import from ODCS v3, Great Expectations or Pandera; export to ODCS; "
    "test a file against the contract (a dry run of ingest).",
    no_args_is_help=True,
)
app.add_typer(contract_app, name="contract")


@contract_app.command("import")
def import_(
    ctx: typer.Context,
    source: Annotated[
        str,
        typer.Argument(
            help="An ODCS v3 YAML file, a Great Expectations suite .json, or a Pandera schema "
            "as module:attribute."
        ),
    ],
    name: Annotated[str, typer.Argument(help="The charter whose data contract to write.")],
    from_: Annotated[
        str | None,
        typer.Option(
            "--from",
            help="odcs, great-expectations or pandera (default: .json is a suite, "
            "module:attribute a Pandera schema, anything else ODCS).",
        ),
    ] = None,
    object_name: Annotated[
        str | None,
        typer.Option("--object", help="ODCS: the schema object to import, when it has several."),
    ] = None,
    key: Annotated[
        str | None,
        typer.Option(help="The key column (default: the primary key, or the charter's)."),
    ] = None,
    event_time: Annotated[
        str | None,
        typer.Option(help="The event-time column (default: the SLA's element, or the charter's)."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Write charters/NAME.yaml's data contract from another standard, listing what did not map.

    A missing charter file is created from the `charter init` scaffold; in an existing one only
    the data block is replaced (its source, features and prediction column are kept).
    """
    from charter.errors import CharterError
    from charter.services.contracts import STANDARDS, import_contract, read_contract

    if from_ is not None and from_ not in STANDARDS:
        raise CharterError(f"--from {from_!r}: expected one of {', '.join(STANDARDS)}")
    ws = workspace(ctx)
    imported = read_contract(ws, source, standard=from_, object_name=object_name)
    result = import_contract(ws, name, imported, key=key, event_time=event_time)

    def human(console: Console) -> None:
        verb = "Created" if result.created else "Updated the data contract of"
        console.print(f"{verb} {result.file} from {result.source} ({result.standard})")
        console.print(
            f"  {len(result.fields)} fields; key {result.key}; "
            f"event time {result.event_time or '(none)'}"
        )
        for note in result.notes:
            console.print(f"  note: {note}")
        _print_unmapped(console, result.unmapped, "not imported")
        console.print(f"Review it, then run: charter check {name}")

    emit(result.to_json_dict(), as_json=as_json, human=human)


@contract_app.command("export")
def export(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The charter whose data contract to export.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="The ODCS YAML file to write.")],
    as_json: JsonOption = False,
) -> None:
    """Write the charter's data contract as an ODCS v3 document, listing what ODCS cannot hold."""
    from charter.services.contracts import export_contract

    result = export_contract(workspace(ctx), name, output)

    def human(console: Console) -> None:
        console.print(f"Wrote {result.file} ({result.standard}, {result.properties} properties)")
        _print_unmapped(console, result.unmapped, "not exported")

    emit(result.to_json_dict(), as_json=as_json, human=human)


@contract_app.command("test")
def test(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The charter whose data contract to test against.")],
    file: Annotated[Path, typer.Argument(help="A .parquet, .csv or .jsonl file.")],
    examples: Annotated[int, typer.Option(min=0, help="Rows shown for each rule broken.")] = 3,
    as_json: JsonOption = False,
) -> None:
    """A dry run of ingest: validate FILE against the contract and say what ingest would do
    (valid, quarantined by rule, late, schema changes). Nothing is written.

    Exit 0 when every row is valid, 5 when some would be quarantined.
    """
    from charter.attention import EXIT_ATTENTION
    from charter.services.contracts import dry_run_file, dry_run_schema

    result = dry_run_schema(dry_run_file(workspace(ctx), name, file, examples=examples))
    emit(result.to_json_dict(), as_json=as_json, human=lambda c: _human_test(c, result))
    if result.rows_quarantined:
        raise typer.Exit(EXIT_ATTENTION)


def _print_unmapped(console: Console, unmapped: list[Unmapped], verb: str) -> None:
    if not unmapped:
        return
    console.print(f"  {len(unmapped)} part(s) {verb} (charter has no place for them):")
    for item in unmapped:
        console.print(f"    {item.where}: {item.what}")


def _human_test(console: Console, result: ContractTest) -> None:
    late = f", {result.rows_late} late" if result.rows_late else ""
    console.print(
        f"{result.file}: {result.rows_in} rows = {result.rows_valid} valid + "
        f"{result.rows_quarantined} would be quarantined{late}"
    )
    for rule in result.violations:
        console.print(f"  {rule.rows} x {rule.rule}")
        for row in rule.examples:
            shown = ", ".join(f"{k}={v}" for k, v in row.items())
            console.print(f"      {shown}")
    for change in result.schema_changes:
        console.print(f"  schema: {change['kind']} {change['column']}: {change['detail']}")
    for verdict in result.batch_rules:
        if not verdict["ok"]:
            console.print(
                f"  batch rule {verdict['rule']} would fail: {verdict['observed']} "
                f"(expected {verdict['expected']})"
            )
    for note in result.notes:
        console.print(f"  note: {note}")
    console.print("dry run: nothing was written")
