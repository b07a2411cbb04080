"""``charter suspend|resume|trace``: human oversight and a prediction's trace.

A thin translation of :mod:`charter.services.oversight` (who may stop or resume a model, and
what is recorded) and :mod:`charter.services.trace` (what a prediction rests on). A refusal is a
:class:`~charter.errors.CharterError`: one message, exit 1, recorded in the audit ledger first.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from charter.cli.app import JsonOption, app, workspace
from charter.cli.lifecycle import NameArg, TokenOption
from charter.cli.output import emit

if TYPE_CHECKING:
    from charter.schemas.oversight import Suspension

StopperOption = Annotated[
    str | None,
    typer.Option(
        "--as",
        metavar="EMAIL",
        help="Who stops it: the charter's owner, a delegate or a steward it names.",
    ),
]
DeciderOption = Annotated[
    str | None,
    typer.Option(
        "--as", metavar="EMAIL", help="Who resumes it: the charter's owner or a named delegate."
    ),
]


@app.command("suspend")
def suspend_command(
    ctx: typer.Context,
    name: NameArg,
    reason: Annotated[
        str, typer.Option("--reason", metavar="TEXT", help="Why the model must stop deciding.")
    ],
    by: StopperOption = None,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Stop the model deciding: it still scores and logs, nothing is acted on, until resumed."""
    from charter.services.oversight import suspend
    from charter.tokens import decider

    ws, who = decider(workspace(ctx), by, token, "suspend")
    stop = suspend(ws, name, by=who, reason=reason)
    emit(stop.to_json_dict(), as_json=as_json, human=lambda c: show_suspension(c, stop))


@app.command("resume")
def resume_command(
    ctx: typer.Context,
    name: NameArg,
    by: DeciderOption = None,
    note: Annotated[
        str | None, typer.Option("--note", metavar="TEXT", help="Why it may decide again.")
    ] = None,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Let a suspended charter's model decide again, as its owner (or a delegate)."""
    from charter.services.oversight import resume
    from charter.tokens import decider

    ws, who = decider(workspace(ctx), by, token, "resume")
    stop = resume(ws, name, by=who, note=note)
    emit(stop.to_json_dict(), as_json=as_json, human=lambda c: show_suspension(c, stop))


def show_suspension(console: Console, stop: Suspension) -> None:
    """The suspension in a sentence or two (``suspend``, ``resume`` and ``status``)."""
    since = stop.suspended_at.isoformat(timespec="seconds")
    if stop.suspended:
        console.print(
            f"SUSPENDED: {stop.charter} is not deciding since {since} (by {stop.suspended_by}: "
            f"{stop.reason}); predictions are logged with acted_on false.",
            markup=False,
        )
        fallback = stop.fallback or {}
        if fallback.get("description") or "decision" in fallback:
            said = fallback.get("description") or f"decision {fallback.get('decision')!r}"
            console.print(f"  fallback: {said}", markup=False)
        else:
            console.print("  fallback: none declared (operations.fallback)", markup=False)
        return
    resumed = stop.resumed_at.isoformat(timespec="seconds") if stop.resumed_at else "?"
    console.print(
        f"Resumed: {stop.charter} decides again since {resumed} (by {stop.resumed_by}); it was "
        f"suspended at {since} by {stop.suspended_by}: {stop.reason}",
        markup=False,
    )
