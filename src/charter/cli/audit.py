"""``charter audit verify``, ``charter audit export`` and ``charter audit keys``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from charter.cli.app import JsonOption, audit_app, workspace
from charter.cli.output import emit

if TYPE_CHECKING:
    from charter.audit.export import ExportFormat


@audit_app.command("verify")
def verify(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Check the whole ledger and every state row bound to it (version status and hash,
    pre-authorisations) in one snapshot; exit 1 naming the first bad entry or row."""
    report = workspace(ctx).ledger.verify()

    def human(console: Console) -> None:
        if report.ok:
            console.print(
                f"ok: {report.entries} entries, chain intact, {report.checkpoints} signed "
                f"checkpoints valid, {report.state_rows} bound state rows match the ledger"
            )
            return
        if report.first_bad is not None:
            console.print(
                f"TAMPERED: first bad entry is seq {report.first_bad.seq}: {report.first_bad.reason}"
            )
        for problem in report.state_problems:
            console.print(f"TAMPERED state: {problem['reason']}", markup=False)

    emit(report.to_dict(), as_json=as_json, human=human)
    if not report.ok:
        raise typer.Exit(1)


@audit_app.command("export")
def export(
    ctx: typer.Context,
    output: Annotated[Path, typer.Option("--output", "-o", help="File to write.")] = Path(
        "audit.jsonl"
    ),
    fmt: Annotated[str, typer.Option("--format", help="jsonl or parquet.")] = "jsonl",
    as_json: JsonOption = False,
) -> None:
    """Write every ledger entry to a JSON Lines or Parquet file for an auditor."""
    from charter.audit.export import export_ledger
    from charter.schemas.audit import AuditExport

    if fmt not in ("jsonl", "parquet"):
        raise typer.BadParameter(
            f"{fmt!r} is not a format; use jsonl or parquet", param_hint="--format"
        )
    fmt_checked: ExportFormat = "jsonl" if fmt == "jsonl" else "parquet"
    count = export_ledger(workspace(ctx).ledger, output, fmt_checked)
    emit(
        AuditExport(file=str(output), format=fmt, entries=count).to_json_dict(),
        as_json=as_json,
        human=lambda c: c.print(f"wrote {count} entries to {output} ({fmt})"),
    )


keys_app = typer.Typer(help="The keys that sign the ledger's checkpoints.", no_args_is_help=True)
audit_app.add_typer(keys_app, name="keys")


@keys_app.command("list")
def keys_list(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """The current audit key and every key the checkpoints were signed with."""
    from charter.audit.keys import list_keys

    listing = list_keys(workspace(ctx).ledger)

    def human(console: Console) -> None:
        current = listing.current
        console.print(f"current: {current.key_id} ({current.algorithm})")
        for key in listing.keys:
            console.print(
                f"  {key.key_id}  {key.status:<8} {key.checkpoints} checkpoints "
                f"(entries {key.first_seq}..{key.last_seq})"
            )

    emit(listing.to_json_dict(), as_json=as_json, human=human)


@keys_app.command("rotate")
def keys_rotate(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Sign with a new key from now on; old checkpoints stay verifiable with the retired key."""
    from charter.audit.keys import rotate

    ws = workspace(ctx)
    result = rotate(ws.ledger, actor=ws.context.who)
    emit(
        result.to_json_dict(),
        as_json=as_json,
        human=lambda c: c.print(
            f"rotated: now signing with {result.current.key_id}; "
            f"{result.retired.key_id} retired (kept in {result.keyring})"
        ),
    )


@keys_app.command("export")
def keys_export(
    ctx: typer.Context,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="File to write the public key to.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Print (or write) the ed25519 public key that verifiers need (CHARTER_AUDIT_PUBLIC_KEY)."""
    from charter.audit.keys import export_public

    body = export_public(workspace(ctx).ledger, output)
    emit(body.to_json_dict(), as_json=as_json, human=lambda c: c.print(body.public_key))
