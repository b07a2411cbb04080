"""``charter labels NAME [FILE]``, ``charter label-history NAME KEY`` and
``charter quarantine NAME labels``: thin translations of :mod:`charter.plumbing.labels` and
:mod:`charter.plumbing.labels_store`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from charter.attention import exit_code, from_labels
from charter.cli.app import JsonOption, app, workspace
from charter.cli.output import emit
from charter.cli.quarantine import BatchOption, NameArg, quarantine_app

if TYPE_CHECKING:
    from charter.plumbing.labels import LabelReport
    from charter.plumbing.labels_store import LabelHistory, LabelQuarantine


# charter.plumbing.labels.LOCK_WAIT_SECONDS, written out so `--help` need not load the plumbing (it
# pulls in polars); tests/cli/test_startup.py checks the two agree.
LABELS_LOCK_WAIT_SECONDS = 300.0


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
    wait: Annotated[
        float,
        typer.Option(
            "--wait",
            metavar="SECONDS",
            min=0,
            help="Wait this long for another labels run of the charter to finish (0: refuse).",
        ),
    ] = LABELS_LOCK_WAIT_SECONDS,
    as_json: JsonOption = False,
) -> None:
    """Record ground truth and join it to predictions by key. Exit 5 if a delivery failed or
    labels were quarantined (it ran, but needs attention: listed under "attention" in --json)."""
    from charter.plumbing.labels import ingest_labels

    report = ingest_labels(workspace(ctx), name, file, wait=wait)
    facts = from_labels(report)
    body = report.to_schema([f.to_schema() for f in facts]).to_json_dict()
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
        if batch.invalid:
            reasons = ", ".join(f"{n} x {r}" for r, n in batch.invalid_by_reason.items())
            console.print(f"      quarantined {batch.quarantined} invalid labels: {reasons}")
            for row in batch.invalid_examples:
                console.print(
                    f"      row {row['row']}: key={row['key']!r} value={row['value']!r} "
                    f"({row['reason']})"
                )
            if batch.invalid > len(batch.invalid_examples):
                console.print(f"      ... see `charter quarantine {report.charter} labels`")
    for failed in report.files_failed:
        console.print(f"FAILED {failed['file']}: {failed['error']}")
    if report.coverage is not None:
        console.print(f"{report.charter}: {report.coverage:.1%} of logged predictions have a label")


@app.command("label-history")
def label_history_command(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The charter.")],
    key: Annotated[str, typer.Argument(help="The key whose labels to show.")],
    as_json: JsonOption = False,
) -> None:
    """Every label a key was given, oldest first, each with the delivery that sent it and the
    one that superseded it; the last is the label monitoring uses."""
    from charter.plumbing.labels_store import label_history

    history = label_history(workspace(ctx), name, key)
    emit(history.to_dict(), as_json=as_json, human=lambda c: _human_history(c, history))


def _human_history(console: Console, history: LabelHistory) -> None:
    if not history.entries:
        console.print(f"{history.charter}: no label recorded for key {history.key!r}")
        return
    console.print(f"{history.charter} key {history.key!r}:")
    for entry in history.entries:
        what = (
            f"label {entry['label']:g}"
            if entry["change"] == "new"
            else f"corrected {entry['previous']:g} -> {entry['label']:g}"
        )
        state = "superseded" if entry["superseded_by"] else "current"
        at = entry["received_at"].isoformat(timespec="seconds")
        row = f" row {entry['row']}" if entry["row"] is not None else ""
        console.print(f"  {at} {what} ({state}) from {entry['source']}{row}")


@quarantine_app.command("labels")
def quarantine_labels_command(
    ctx: typer.Context,
    name: NameArg,
    batch: BatchOption = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="At most this many rows.")] = 20,
    as_json: JsonOption = False,
) -> None:
    """Quarantined labels (no key, no label, a value labels.values does not allow), by reason
    and by delivery, with the rows themselves."""
    from charter.plumbing.labels_store import label_quarantine

    found = label_quarantine(workspace(ctx), name, batch=batch, limit=limit)
    emit(found.to_dict(), as_json=as_json, human=lambda c: _human_quarantine(c, found))


def _human_quarantine(console: Console, found: LabelQuarantine) -> None:
    if not found.rows:
        console.print(f"{found.charter}: no quarantined labels")
        return
    console.print(f"{found.charter}: {found.rows} quarantined labels")
    for reason, count in found.by_reason.items():
        console.print(f"  {count} x {reason}")
    for b in found.batches:
        console.print(f"  delivery {b['batch_id'][:12]} {b['source']}: {b['rows']} rows")
    for row in found.examples:
        console.print(
            f"{row['batch_id'][:12]} row {row['row']}: key={row['key']!r} "
            f"value={row['value']!r} ({row['reason']})"
        )
