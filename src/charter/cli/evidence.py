"""``charter evidence pack|verify`` and ``charter purge``: what an auditor receives, and retention."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from charter.cli.app import JsonOption, app, workspace
from charter.cli.output import emit

if TYPE_CHECKING:
    from charter.schemas.evidence import EvidenceVerify, PurgeResult

evidence_app = typer.Typer(
    help="Evidence packs for auditors: write one, check one.", no_args_is_help=True
)
app.add_typer(evidence_app, name="evidence")

NameArg = Annotated[str, typer.Argument(metavar="NAME", help="The charter.")]
AsOfOption = Annotated[
    str | None,
    typer.Option(
        "--as-of",
        metavar="TIMESTAMP",
        help="What was true at this moment, rebuilt from the audit ledger (ISO 8601; UTC if no "
        "zone).",
    ),
]


def parse_moment(value: str, option: str) -> datetime:
    """An ISO 8601 date or date-time; one without a zone is UTC."""
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise typer.BadParameter(
            f"{value!r} is not a date or time; write e.g. 2026-12-31 or 2026-12-31T23:59:59Z",
            param_hint=option,
        ) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


@evidence_app.command("pack")
def pack(
    ctx: typer.Context,
    name: NameArg,
    output: Annotated[Path, typer.Option("--output", "-o", help="The zip file to write.")] = Path(
        "evidence-pack.zip"
    ),
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of",
            metavar="TIMESTAMP",
            help="Only what the ledger had signed at this moment (ISO 8601; UTC if no zone).",
        ),
    ] = None,
    framework: Annotated[
        str,
        typer.Option(
            "--framework", help="The crosswalk's frameworks: eu-ai-act, iso-42001, sr-26-2 or all."
        ),
    ] = "all",
    as_json: JsonOption = False,
) -> None:
    """Write a deterministic evidence pack of a charter: the ledger excerpt and its signed head,
    the records an auditor asks for, a crosswalk to the clauses, and an offline index.html."""
    from charter.evidence.pack import frameworks_of, write_pack

    moment = None if as_of is None else parse_moment(as_of, "--as-of")
    result = write_pack(
        workspace(ctx), name, output, as_of=moment, frameworks=frameworks_of(framework)
    )

    def human(console: Console) -> None:
        gaps = [c for c in result.crosswalk if c.status == "gap"]
        console.print(
            f"wrote {result.file}: {result.charter} up to ledger entry {result.head_seq} "
            f"(signed {result.signed_at}), {result.files} files, sha256 {result.sha256[:12]}"
            + ("" if result.signed else " (unsigned: the audit key cannot sign here)")
        )
        console.print(f"crosswalk: {len(result.crosswalk) - len(gaps)} met, {len(gaps)} with gaps")
        for clause in gaps:
            for gap in clause.gaps:
                console.print(f"  gap {clause.framework} {clause.clause}: {gap}")

    emit(result.to_json_dict(), as_json=as_json, human=human)


@evidence_app.command("verify")
def verify(
    pack_file: Annotated[Path, typer.Argument(metavar="PACK", help="The pack's zip file.")],
    key_file: Annotated[
        Path | None,
        typer.Option(
            "--key-file",
            help="The key to check signatures with: the HMAC audit key, or the Ed25519 public "
            "key (hex). Without it an Ed25519 pack is checked with the key it carries.",
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Check a pack without the database: every file against the manifest, the manifest's
    signature, the ledger excerpt (chain, head, checkpoint signature) and the records' ledger
    citations; exit 4 naming each file that does not verify."""
    from charter.errors import PackTamperedError
    from charter.evidence.verify import verify_pack

    report = verify_pack(pack_file, key_file=key_file)
    emit(report.to_json_dict(), as_json=as_json, human=lambda c: _print_verify(c, report))
    if not report.ok:
        raise typer.Exit(PackTamperedError.exit_code)


def _print_verify(console: Console, report: EvidenceVerify) -> None:
    if report.ok:
        console.print(
            f"ok: {report.files_checked} files match the manifest; ledger excerpt of "
            f"{report.entries} entries intact up to its head (entry {report.head_seq}); "
            f"{report.records_checked} record citations found in the excerpt"
        )
    else:
        for problem in report.problems:
            console.print(f"TAMPERED {problem.file}: {problem.problem}")
    console.print(
        f"signatures: manifest {report.manifest_signature}, checkpoint "
        f"{report.checkpoint_signature} ({report.key_note})"
    )


@app.command("purge")
def purge_command(
    ctx: typer.Context,
    name: NameArg,
    before: Annotated[
        str,
        typer.Option(
            "--before", metavar="DATE", help="Remove logs received before this date (ISO 8601)."
        ),
    ],
    only: Annotated[
        list[str] | None,
        typer.Option(
            "--only",
            help="A kind of log to purge (predictions, quarantine, labels; repeat); default: all "
            "three. The ledger is never purged.",
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Say what would be removed; remove nothing.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Remove prediction-log, quarantine and label files older than DATE, as the charter's
    operations.retention allows; refuse inside the retention period; record it in the ledger."""
    from charter.plumbing.retention import KINDS, purge

    moment = parse_moment(before, "--before")
    kinds = tuple(only) if only else KINDS
    result = purge(workspace(ctx), name, moment, kinds=kinds, dry_run=dry_run)
    emit(result.to_json_dict(), as_json=as_json, human=lambda c: _print_purge(c, result))


def _print_purge(console: Console, result: PurgeResult) -> None:
    verb = "would remove" if result.dry_run else "removed"
    for kind in result.removed:
        if kind.kept_because:
            console.print(f"{kind.kind}: kept ({kind.kept_because})")
            continue
        span = f", received {kind.oldest} to {kind.newest}" if kind.oldest else ""
        console.print(
            f"{kind.kind} (retention {kind.retention}): {verb} {kind.files} files of "
            f"{kind.batches} batches, {kind.rows} rows{span}"
        )
    if result.ledger_seq is not None:
        console.print(f"recorded in the ledger as entry {result.ledger_seq} (retention.purged)")
    elif not result.dry_run:
        console.print(f"nothing received before {result.before} was left to remove")
