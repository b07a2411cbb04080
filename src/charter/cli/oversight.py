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
    from charter.schemas.trace import Trace

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


@app.command("trace")
def trace_command(
    ctx: typer.Context,
    target: Annotated[
        str,
        typer.Argument(
            metavar="PREDICTION_ID|NAME", help="A prediction id, or with --key the charter."
        ),
    ],
    key: Annotated[
        str | None,
        typer.Option("--key", metavar="KEY", help="Trace the newest prediction of this key."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Trace a prediction to its input, scores, version, batch and file, window verdict, the
    approval the version was live under, and the charter terms in force then."""
    from charter.services.trace import trace, trace_key

    ws = workspace(ctx)
    found = trace_key(ws, target, key) if key is not None else trace(ws, target)
    emit(found.to_json_dict(), as_json=as_json, human=lambda c: _show_trace(c, found))


def _show_trace(console: Console, found: Trace) -> None:
    def line(text: str) -> None:
        console.print(text, markup=False)

    line(found.summary)
    line("")
    line(f"input        key {found.key}, event time {found.event_time or '(none)'}")
    for name, value in (found.inputs or {}).items():
        line(f"               {name} = {value!r}")
    for s in found.scores:
        acted = {True: "acted on", False: "not acted on", None: "-"}[s.acted_on]
        line(f"score        version {s.version} ({s.status}): {s.score} — {acted}")
    b = found.batch
    line(f"batch        {b.batch_id} ({b.kind}) from {b.source}, ingested {b.ingested_at}")
    for path in b.prediction_files:
        line(f"  file       {path}")
    if b.ledger_seq is not None:
        line(f"  ledger     entry {b.ledger_seq}")
    w = found.window
    line(
        f"window       {w.start} – {w.end}: {w.verdict} (version {w.version})"
        if w
        else "window       not judged yet"
    )
    a = found.approval
    if a is None:
        line("approval     none recorded")
    else:
        if a.approved_by:
            line(f"approval     decision {a.decision_id} by {a.approved_by} at {a.approved_at}")
            line(f"  risk       {a.accepted_risk or '(none stated)'}")
            if a.waiver:
                line(f"  waiver     {a.waiver}")
            line(f"  evidence   {a.evidence_sha256 or '(no digest recorded)'}")
        else:
            line(f"approval     none recorded for version {a.version}")
        if a.live_since:
            why = f" ({a.put_live_reason})" if a.put_live_reason else ""
            line(f"  live since {a.live_since} by {a.put_live_by}{why}")
    t = found.terms
    if t is None:
        line("terms        none recorded")
    else:
        by = f" accepted by {t.accepted_by}" if t.accepted_by else ""
        line(f"terms        sha256 {t.sha256}{by} at {t.accepted_at} (ledger entry {t.ledger_seq})")
    if found.other_predictions:
        line(f"also         {', '.join(found.other_predictions)} (older, same key)")
