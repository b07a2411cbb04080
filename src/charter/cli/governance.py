"""``charter changes|accept-change|reject-change``: change control of charter files.

A thin translation of :mod:`charter.governance.changes`; who may decide lives there.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from charter.cli.app import JsonOption, app, workspace
from charter.cli.output import emit

if TYPE_CHECKING:
    from charter.governance.changes import ChangeInfo

NameArg = Annotated[str, typer.Argument(metavar="NAME", help="The charter.")]
ChangeArg = Annotated[
    int | None,
    typer.Argument(metavar="[CHANGE_ID]", help="Default: the newest pending change."),
]
AsOption = Annotated[
    str,
    typer.Option(
        "--as",
        metavar="EMAIL",
        help="Who decides: the owner in the accepted terms (or a delegate, except for a change "
        "of owner).",
    ),
]


def _print(console: Console, text: str) -> None:
    console.print(text, markup=False)


@app.command("changes")
def changes_command(
    ctx: typer.Context,
    name: NameArg,
    show_all: Annotated[bool, typer.Option("--all", help="Decided changes too.")] = False,
    as_json: JsonOption = False,
) -> None:
    """List a charter's pending changes (or all of them) with their field-level diffs."""
    from charter.governance.changes import list_changes, terms_info
    from charter.schemas.governance import ChangesResult

    ws = workspace(ctx)
    found = list_changes(ws, name, status=None if show_all else "pending")
    terms = terms_info(ws, name)

    def human(console: Console) -> None:
        _print(
            console,
            f"{terms.charter}: terms in force sha256 {terms.sha256[:12]}, accepted by "
            f"{terms.accepted_by} on {terms.accepted_at:%Y-%m-%d %H:%M} UTC",
        )
        if not found:
            _print(console, f"no {'' if show_all else 'pending '}changes")
        for change in found:
            _show_change(console, change)

    body = ChangesResult(
        charter=terms.charter,
        terms_in_force=terms.to_schema(),
        changes=[c.to_schema() for c in found],
    )
    emit(body.to_json_dict(), as_json=as_json, human=human)


def _show_change(console: Console, change: ChangeInfo) -> None:
    decided = f" by {change.decided_by}" if change.decided_by else ""
    needs = f", needs {change.requires.replace('_', ' ')}" if change.status == "pending" else ""
    _print(
        console,
        f"change {change.id}: {change.status}{decided}{needs} (detected "
        f"{change.detected_at:%Y-%m-%d %H:%M} UTC by {change.detected_by})",
    )
    for d in change.diff:
        _print(console, f"  {d['path']}: {_value(d.get('old'))} -> {_value(d.get('new'))}")
    if not change.diff:
        _print(console, "  no field changed (comments or layout only)")
    if change.reason:
        _print(console, f"  reason: {change.reason}")


def _value(value: object) -> str:
    return "(absent)" if value is None else repr(value) if isinstance(value, str) else str(value)


@app.command("accept-change")
def accept_change_command(
    ctx: typer.Context,
    name: NameArg,
    by: AsOption,
    change_id: ChangeArg = None,
    as_json: JsonOption = False,
) -> None:
    """Accept a pending change as the owner (or a delegate): it becomes the terms in force."""
    from charter.governance.changes import accept_change

    info = accept_change(workspace(ctx), name, change_id, by=by)
    emit(info.to_dict(), as_json=as_json, human=lambda c: _decided(c, info))


@app.command("reject-change")
def reject_change_command(
    ctx: typer.Context,
    name: NameArg,
    by: AsOption,
    change_id: ChangeArg = None,
    reason: Annotated[
        str | None, typer.Option("--reason", metavar="TEXT", help="Why, for the record.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Reject a pending change: the accepted terms stay in force."""
    from charter.governance.changes import reject_change

    info = reject_change(workspace(ctx), name, change_id, by=by, reason=reason)
    emit(info.to_dict(), as_json=as_json, human=lambda c: _decided(c, info))


def _decided(console: Console, info: ChangeInfo) -> None:
    if info.status == "accepted":
        said = "its text is now the terms in force"
    else:
        said = "the accepted terms stay in force; revert the file or edit it again"
    _print(
        console, f"Change {info.id} of {info.charter}: {info.status} by {info.decided_by}; {said}."
    )
    _show_change(console, info)
