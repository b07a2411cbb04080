"""``charter alerts``: list, acknowledge and resolve a charter's alerts; test-fire its routes.

A thin translation of :mod:`charter.alerts.raising`. Both word orders work, because the issue
and the on-call habit spell them differently: ``charter alerts NAME list|ack|resolve`` and
``charter alerts test NAME`` are the documented forms, and ``charter alerts list NAME`` or
``charter alerts NAME test`` mean the same. The first word that names a command is the command,
so a charter called ``test`` or ``list`` is written after the command: ``charter alerts list test``.
"""

from __future__ import annotations

import json
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from typer.core import TyperGroup

from charter.cli.app import JsonOption, app, workspace
from charter.cli.output import WIDE_ENOUGH, emit, print_fitted

if TYPE_CHECKING:
    from charter.alerts.delivery import DeliveryResult
    from charter.alerts.outbox import DeliveryPass
    from charter.alerts.raising import AlertInfo


class _NameOrCommandFirst(TyperGroup):
    """Accept ``alerts NAME COMMAND ARGS`` by swapping it into ``alerts COMMAND NAME ARGS``."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if (
            len(args) >= 2
            and args[0] not in self.commands
            and not args[0].startswith("-")
            and args[1] in self.commands
        ):
            args = [args[1], args[0], *args[2:]]
        return super().parse_args(ctx, args)


alerts_app = typer.Typer(
    cls=_NameOrCommandFirst,
    help=(
        "A charter's alerts: `charter alerts NAME list|ack|resolve`, and "
        "`charter alerts test NAME` to test-fire every alert route."
    ),
    no_args_is_help=True,
    subcommand_metavar="NAME COMMAND [ARGS]... | test NAME",
)
app.add_typer(alerts_app, name="alerts")


class Status(StrEnum):
    open = "open"
    acked = "acked"
    resolved = "resolved"
    active = "active"
    all = "all"


NameArg = Annotated[str, typer.Argument(metavar="NAME", help="The charter.")]
IdArg = Annotated[int, typer.Argument(metavar="ID", help="The alert id, as `list` shows it.")]
AsOption = Annotated[
    str | None,
    typer.Option("--as", metavar="EMAIL", help="Who acts (default: CHARTER_ACTOR, $USER@host)."),
]
NoteOption = Annotated[str | None, typer.Option("--note", help="Why, for the record.")]


@alerts_app.command("list")
def list_command(
    ctx: typer.Context,
    name: NameArg,
    status: Annotated[
        Status, typer.Option("--status", help="Which alerts; active means open or acked.")
    ] = Status.open,
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="At most this many.")] = None,
    as_json: JsonOption = False,
) -> None:
    """List the charter's alerts, most recently seen first (default: the open ones)."""
    from charter.alerts.raising import list_alerts
    from charter.schemas.alerts import AlertList

    found = list_alerts(workspace(ctx), name, status.value, limit=limit)
    listing = AlertList(charter=name, status=status.value, alerts=[a.to_schema() for a in found])
    emit(
        listing.to_json_dict(),
        as_json=as_json,
        human=lambda console: _print_alerts(console, name, status.value, found),
    )


@alerts_app.command("ack")
def ack_command(
    ctx: typer.Context,
    name: NameArg,
    alert_id: IdArg,
    by: AsOption = None,
    note: NoteOption = None,
    as_json: JsonOption = False,
) -> None:
    """Acknowledge an open alert: someone is on it. Exit 1 if it is not open."""
    from charter.alerts.raising import ack_alert

    ws = workspace(ctx)
    alert = ack_alert(ws, name, alert_id, by=by or ws.context.who, note=note)
    emit(
        alert.to_dict(),
        as_json=as_json,
        human=lambda c: c.print(f"alert {alert.id} of {name} acknowledged by {alert.acked_by}"),
    )


@alerts_app.command("resolve")
def resolve_command(
    ctx: typer.Context,
    name: NameArg,
    alert_id: IdArg,
    by: AsOption = None,
    note: NoteOption = None,
    as_json: JsonOption = False,
) -> None:
    """Resolve an open or acknowledged alert; its next occurrence opens a new alert."""
    from charter.alerts.raising import resolve_alert

    ws = workspace(ctx)
    alert = resolve_alert(ws, name, alert_id, by=by or ws.context.who, note=note)
    emit(
        alert.to_dict(),
        as_json=as_json,
        human=lambda c: c.print(f"alert {alert.id} of {name} resolved by {alert.resolved_by}"),
    )


@alerts_app.command("test")
def test_command(ctx: typer.Context, name: NameArg, as_json: JsonOption = False) -> None:
    """Send a marked test alert through every route of the charter. Exit 1 if any route failed."""
    from charter.alerts.raising import last_successful_test
    from charter.alerts.raising import test_routes as fire_test_routes
    from charter.schemas.alerts import AlertTest

    ws = workspace(ctx)
    results = fire_test_routes(ws, name)
    last = last_successful_test(ws, name)
    body = AlertTest(
        charter=name,
        ok=all(r.ok for r in results),
        routes=[r.to_schema() for r in results],
        last_successful_test=last,
    )
    emit(
        body.to_json_dict(),
        as_json=as_json,
        human=lambda console: _print_tests(console, name, results),
    )
    if not body.ok:
        raise typer.Exit(1)


@alerts_app.command("deliver")
def deliver_command(
    ctx: typer.Context,
    name: Annotated[
        str | None, typer.Argument(metavar="[NAME]", help="Only this charter (default: all).")
    ] = None,
    once: Annotated[
        bool, typer.Option("--once", help="One pass, then exit (the default).")
    ] = False,
    every: Annotated[
        float | None,
        typer.Option("--every", metavar="SECONDS", min=0.1, help="Pass again every SECONDS."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Send the queued alert deliveries that are due (webhooks, email), one attempt each.

    For cron: `charter alerts deliver --once` every minute; or `--every 30` to keep running
    (one JSON line per pass with --json). `charter run` does this in its deliver step.
    """
    import time

    from charter.alerts.outbox import deliver_pending

    if once and every is not None:
        raise typer.BadParameter("--once and --every exclude each other", param_hint="--every")
    ws = workspace(ctx)
    if every is None:
        first = deliver_pending(ws, name=name)
        emit(first.to_dict(), as_json=as_json, human=lambda c: _print_pass(c, first))
        return
    while True:
        done = deliver_pending(ws, name=name)
        if as_json:
            typer.echo(json.dumps(done.to_dict()))
        else:
            _print_pass(Console(), done)
        time.sleep(every)


def _print_pass(console: Console, done: DeliveryPass) -> None:
    for d in done.deliveries:
        outcome = {"sent": "sent", "failed": f"FAILED: {d.error}"}.get(d.state)
        if outcome is None:
            outcome = f"retry at {d.next_attempt_at:%H:%M:%S} ({d.error})"
        console.print(f"  alert #{d.alert_id} {d.route:<8} {d.target}: {outcome}")
    console.print(f"{done.charter or 'all charters'}: {done.summary}")


def _print_alerts(console: Console, name: str, status: str, found: list[AlertInfo]) -> None:
    if not found:
        console.print(f"{name}: no {'' if status == 'all' else status + ' '}alerts")
        return
    if console.width < WIDE_ENOUGH:  # a table would wrap a word per line: a line per alert
        for a in found:
            print_fitted(
                console,
                f"#{a.id} {a.severity} {a.status} {a.event} · {a.rule} · window {a.window or '-'}"
                f" · {a.count}x, last {a.last_seen:%Y-%m-%d %H:%M}",
            )
            print_fitted(console, a.message, indent=4)
        return
    table = Table(box=None, pad_edge=False)
    for column in ("id", "severity", "status", "event", "rule", "window", "seen", "last seen"):
        table.add_column(column)
    table.add_column("message", overflow="fold")
    for a in found:
        table.add_row(
            str(a.id),
            a.severity,
            a.status,
            a.event,
            a.rule,
            a.window or "-",
            f"{a.count}x",
            a.last_seen.strftime("%Y-%m-%d %H:%M"),
            a.message,
        )
    console.print(table)


def _print_tests(console: Console, name: str, results: list[DeliveryResult]) -> None:
    for r in results:
        outcome = "ok" if r.ok else f"FAILED: {r.error}"
        tries = f" after {len(r.attempts)} attempts" if len(r.attempts) > 1 else ""
        console.print(f"  {r.route:<8} {r.target}: {outcome}{tries}")
    passed = sum(r.ok for r in results)
    console.print(f"{name}: {passed} of {len(results)} alert routes delivered the test alert")
