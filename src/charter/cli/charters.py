"""``charter init``, ``charter check``, ``charter schema``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from charter.cli.app import JsonOption, app, workspace
from charter.cli.output import emit
from charter.errors import CharterError


@app.command()
def init(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Charter name: lower-case letters, digits, - and _.")],
    owner_name: Annotated[str, typer.Option(help="The business owner's name.")] = "Owner Name",
    owner_email: Annotated[
        str, typer.Option(help="The business owner's email.")
    ] = "owner@example.com",
    force: Annotated[bool, typer.Option(help="Overwrite an existing charter file.")] = False,
    from_data: Annotated[
        Path | None,
        typer.Option(
            "--from-data",
            help="Infer the data contract (types, missing values, ranges, allowed values, key) "
            "from a sample file: .parquet, .csv or .jsonl.",
        ),
    ] = None,
    key: Annotated[
        str | None, typer.Option(help="With --from-data: the key column (default: id, key...).")
    ] = None,
    event_time: Annotated[
        str | None,
        typer.Option(help="With --from-data: the event-time column (default: event_at, ts...)."),
    ] = None,
    target: Annotated[
        str | None,
        typer.Option(help="With --from-data: the outcome column; it decides the task and labels."),
    ] = None,
    model: Annotated[
        str | None,
        typer.Option(
            metavar="MODEL_FILE",
            help="With --from-data: a trained model (as `charter register` takes): the inputs "
            "it names become data.features; with --target, its performance measured on the "
            "data proposes the sufficiency rules (give rows it did not train on).",
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Scaffold a commented charters/NAME.yaml that passes `charter check` as written."""
    from charter.schemas.charters import Initialised
    from charter.spec.scaffold import write_scaffold

    ws = workspace(ctx)
    inferred = None
    if from_data is not None:
        from charter.services.charters import infer_contract_and_model

        inferred = infer_contract_and_model(
            ws, from_data, key=key, event_time=event_time, target=target, model=model
        )
    elif key or event_time or target or model:
        raise CharterError("--key, --event-time, --target and --model go with --from-data FILE")
    path = write_scaffold(
        ws.charters_dir,
        name,
        owner_name=owner_name,
        owner_email=owner_email,
        force=force,
        inferred=inferred,
    )
    emit(
        Initialised(name=name, file=str(path)).to_json_dict(),
        as_json=as_json,
        human=lambda c: c.print(f"Created {path}\nEdit it, then run: charter check {name}"),
    )


@app.command()
def check(
    ctx: typer.Context,
    target: Annotated[
        str | None, typer.Argument(help="A charter name or file (default: every charter here).")
    ] = None,
    data: Annotated[
        Path | None,
        typer.Option(
            "--data",
            metavar="FILE",
            help="Also check the field types against a sample file (.parquet, .csv, .jsonl), "
            "read as ingest reads it.",
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Validate charters; one line per problem naming the field path and what is wrong."""
    from charter.schemas.charters import CheckResult
    from charter.services.charters import check_charters

    checks = check_charters(workspace(ctx), target, data=data)
    ok = all(c.ok for c in checks)

    def human(console: Console) -> None:
        for c in checks:
            if c.ok:
                console.print(f"ok  {c.name} ({c.file})")
            else:
                console.print(f"bad {c.name} ({c.file}):")
                for problem in c.problems:
                    console.print(f"  {problem}")

    body = CheckResult(ok=ok, charters=[c.to_schema() for c in checks])
    emit(body.to_json_dict(), as_json=as_json, human=human)
    if not ok:
        raise typer.Exit(1)


@app.command()
def schema(
    name: Annotated[
        str | None,
        typer.Argument(
            metavar="NAME",
            help="With --results: one result (e.g. Version) or the command printing it "
            "(e.g. versions, 'alerts list').",
        ),
    ] = None,
    results: Annotated[
        bool,
        typer.Option(
            "--results",
            help="The JSON Schemas of the results that `--json` prints instead (docs/results.md).",
        ),
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Print the JSON Schema of charter files (for editor completion and validation).

    With --results: the JSON Schema of every result `--json` prints, by name, or of one NAME.
    The output is JSON either way; ``--json`` is accepted like on every other command.
    """
    import json
    import sys

    if name is not None and not results:
        raise typer.BadParameter("NAME needs --results", param_hint="NAME")
    if results:
        body = _result_schemas(name)
    else:
        from charter.spec.loader import charter_json_schema

        body = charter_json_schema()
    sys.stdout.write(json.dumps(body, indent=2, sort_keys=True) + "\n")


def _result_schemas(name: str | None) -> dict[str, Any]:
    from charter.schemas import catalog

    if name is None:
        return catalog.all_result_schemas()
    if name in catalog.RESULTS:
        return catalog.result_schema(name)
    if any(p.command == name for p in catalog.PRINTED):
        return catalog.command_schema(name)
    raise CharterError(
        f"no result or command named {name!r}",
        hint=f"Results: {', '.join(catalog.RESULTS)}.",
    )
