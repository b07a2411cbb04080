"""``charter register`` and ``charter versions``: thin over :mod:`charter.registry.versions`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from charter.cli.app import JsonOption, app, workspace
from charter.cli.evidence import AsOfOption, parse_moment
from charter.cli.output import emit, print_fitted

if TYPE_CHECKING:
    from collections.abc import Sequence

    from charter.schemas.versions import Version


def parse_pairs(pairs: list[str] | None, option: str) -> dict[str, Any]:
    """``k=v`` options as a mapping; a value that parses as JSON (1.5, true, [1,2]) is kept typed."""
    parsed: dict[str, Any] = {}
    for pair in pairs or []:
        key, sep, raw = pair.partition("=")
        if not sep or not key.strip():
            raise typer.BadParameter(f"{pair!r} is not of the form key=value", param_hint=option)
        try:
            parsed[key.strip()] = json.loads(raw)
        except ValueError:
            parsed[key.strip()] = raw
    return parsed


# charter.registry.flavors.FLAVORS, written out so `--help` need not load the registry (it pulls
# in numpy and polars); tests/cli/test_startup.py checks the two agree.
FLAVOR_NAMES = ("sklearn", "onnx", "mlflow", "entrypoint")


@app.command()
def register(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(metavar="NAME", help="The charter the model serves.")],
    model: Annotated[
        str,
        typer.Argument(
            metavar="MODEL_FILE",
            help="A model file (.joblib, .pkl, .skops, .onnx), an MLflow model folder, "
            "an entrypoint module.path:function, or a model in MLflow (models:/NAME/VERSION, "
            "models:/NAME@ALIAS, runs:/RUN_ID/PATH) at MLFLOW_TRACKING_URI.",
        ),
    ],
    flavor: Annotated[
        str | None,
        typer.Option(
            metavar="FLAVOR",
            help=f"One of {', '.join(FLAVOR_NAMES)} (default: detected from MODEL_FILE).",
        ),
    ] = None,
    training_data: Annotated[
        Path | None,
        typer.Option(
            help="The training data (Parquet, CSV, or a folder), fingerprinted as lineage."
        ),
    ] = None,
    param: Annotated[
        list[str] | None,
        typer.Option(
            "--param", metavar="KEY=VALUE", help="A training parameter key=value (repeatable)."
        ),
    ] = None,
    meta: Annotated[
        list[str] | None,
        typer.Option("--meta", metavar="KEY=VALUE", help="Free metadata key=value (repeatable)."),
    ] = None,
    reference: Annotated[
        Path | None,
        typer.Option(
            metavar="FILE",
            help="Labelled data (the model's inputs and labels.target) to summarise as the "
            "monitoring reference, scored by this version.",
        ),
    ] = None,
    trust: Annotated[
        list[str] | None,
        typer.Option(
            "--trust",
            metavar="MODULE.NAME",
            help="Let a pickle/joblib file import this class or function too (repeatable); "
            "anything else outside the allow-list is refused unloaded.",
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Store a model as the charter's next version, by SHA-256, with its lineage."""
    from charter.services.registry import register

    params, metadata = parse_pairs(param, "--param"), parse_pairs(meta, "--meta")
    info = register(
        workspace(ctx),
        name,
        model,
        flavor=flavor,
        trust=trust or (),
        training_data=training_data,
        params=params,
        metadata=metadata,
        reference=reference,
    )

    def human(console: Console) -> None:
        console.print(
            f"Registered {info.charter} version {info.version} "
            f"({info.flavor}, sha256 {info.sha256[:12]}…), status {info.status}"
        )
        console.print(f"  artifact: {info.artifact_uri}")
        code = info.lineage.get("code")
        if code:
            console.print(f"  code: {code['commit'][:12]}{' (dirty)' if code['dirty'] else ''}")
        data = info.lineage.get("training_data")
        if data:
            shape = f", {data['rows']:,} rows" if "rows" in data else ""
            console.print(f"  training data: {data['path']} (sha256 {data['sha256'][:12]}…{shape})")
        origin = info.lineage.get("mlflow")
        if origin:
            console.print(
                f"  mlflow: {origin['uri']}, run {origin['run_id']} "
                f"({len(origin['metrics'])} metrics, {len(origin['params'])} params)"
            )
        if reference is not None:
            console.print(f"  monitoring reference: {reference}")

    emit(info.to_dict(), as_json=as_json, human=human)


@app.command()
def versions(
    ctx: typer.Context,
    name: Annotated[
        str, typer.Argument(metavar="NAME", help="The charter whose versions to list.")
    ],
    verify: Annotated[
        bool,
        typer.Option(
            "--verify",
            help="Re-hash every stored artifact first; exit 4 naming any that was modified.",
        ),
    ] = False,
    as_of: AsOfOption = None,
    as_json: JsonOption = False,
) -> None:
    """List a charter's model versions, oldest first.

    With --as-of: those registered by then, each with its status then (from the ledger)."""
    from charter.evidence.point_in_time import versions_at
    from charter.registry.versions import list_versions
    from charter.services.registry import verify_versions

    ws = workspace(ctx)
    moment = None if as_of is None else parse_moment(as_of, "--as-of")
    found = verify_versions(ws, name) if verify else list_versions(ws, name)
    # --verify checks the artifacts as they are now, with --as-of or not
    past = [v.to_schema() for v in found] if moment is None else versions_at(ws, name, moment)
    when = None if moment is None else moment.isoformat()
    emit(
        [v.to_json_dict() for v in past],
        as_json=as_json,
        human=lambda c: _listing(c, name, past, as_of=when),
    )


def _listing(
    console: Console,
    name: str,
    found: Sequence[Version],
    *,
    as_of: str | None = None,
) -> None:
    if as_of is not None:
        console.print(
            f"as of {as_of}, rebuilt from the ledger (version.registered, "
            "version.status_changed); artifact paths are where the artifacts are now",
            markup=False,
        )
        if not found:
            console.print(f"{name} had no versions then")
            return
    if not found:
        console.print(
            f"{name} has no versions yet; register one with `charter register {name} FILE`"
        )
        return
    noun = "version" if len(found) == 1 else "versions"
    console.print(f"{name}: {len(found)} {noun}")
    for v in found:
        when = v.created_at.strftime("%Y-%m-%d %H:%M UTC")
        line = f"  v{v.version:<4} {v.status:<12} {v.flavor:<11} sha256 {v.sha256[:12]}  {when}"
        by = f"by {v.created_by}"
        if len(line) + 2 + len(by) <= console.width:
            console.print(f"{line}  {by}")
        else:  # a narrow terminal: who registered it goes under, rather than wrap the line
            console.print(line)
            print_fitted(console, by, indent=8)
