"""``charter shadow|promote|readiness|approve|reject|rollback|retire|authorize|decisions|review``.

A thin translation of :mod:`charter.lifecycle.transitions`, :mod:`~charter.lifecycle.gate`,
:mod:`~charter.lifecycle.decisions` and :mod:`~charter.lifecycle.authorization`: every rule (who
may decide, what the gate requires, what a rollback may restore) lives there. A refusal is a :class:`~charter.errors.CharterError`, so it
prints one clear message and exits 1, after the service recorded it in the audit ledger.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from charter.cli.app import JsonOption, app, workspace
from charter.cli.evidence import AsOfOption, parse_moment
from charter.cli.output import emit

if TYPE_CHECKING:
    from charter.lifecycle.decisions import DecisionInfo
    from charter.lifecycle.gate import ApprovalMode, Readiness
    from charter.lifecycle.transitions import RollbackResult
    from charter.schemas.lifecycle import Decision

NameArg = Annotated[str, typer.Argument(metavar="NAME", help="The charter.")]
# Versions are INTEGER columns (32 bits on PostgreSQL): a larger number names no version, and is
# refused here as a usage error rather than by the database (the API refuses it with 422: the
# same bound, charter.server.routes_manage.MAX_VERSION; a test keeps them equal). The CLI does not
# import the server or the store to learn it: startup stays light.
MAX_VERSION = 2**31 - 1
VersionArg = Annotated[
    int,
    typer.Argument(metavar="VERSION", min=1, max=MAX_VERSION, help="The model version number."),
]
AsOption = Annotated[
    str | None,
    typer.Option(
        "--as", metavar="EMAIL", help="Who decides: the charter's owner or a named delegate."
    ),
]
TokenOption = Annotated[
    str | None,
    typer.Option(
        "--token",
        envvar="CHARTER_TOKEN",
        metavar="TOKEN",
        help="An owner-role API token (charter tokens create): the decider is its identity. "
        "Required when CHARTER_REQUIRE_AUTHENTICATED_DECISIONS=true.",
    ),
]
WaiverOption = Annotated[
    str | None,
    typer.Option(
        "--first-version-waiver",
        metavar="REASON",
        help="No version is live yet, so there is nothing to roll back to: say why this one may "
        "go live anyway. Recorded on the decision and in the audit ledger.",
    ),
]


def _print(console: Console, text: str) -> None:
    console.print(text, markup=False)  # evidence may hold [segments] that are not Rich markup


@app.command("shadow")
def shadow_command(
    ctx: typer.Context, name: NameArg, version: VersionArg, as_json: JsonOption = False
) -> None:
    """Put a registered version in shadow: every ingested batch scores it beside the live one."""
    from charter.lifecycle.transitions import shadow

    info = shadow(workspace(ctx), name, version)
    emit(
        info.to_dict(),
        as_json=as_json,
        human=lambda c: _print(c, f"{info.charter} version {info.version} is in shadow"),
    )


@app.command("readiness")
def readiness_command(
    ctx: typer.Context,
    name: NameArg,
    version: Annotated[
        int | None,
        typer.Argument(
            metavar="[VERSION]",
            min=1,
            max=MAX_VERSION,
            help="Default: the newest version in shadow.",
        ),
    ] = None,
    as_of: AsOfOption = None,
    as_json: JsonOption = False,
) -> None:
    """The promotion gate's checklist for a version, each item with its evidence; with
    --as-of, the checklist as it stood then, rebuilt from the ledger."""
    ws = workspace(ctx)
    if as_of is None:
        from charter.lifecycle.gate import readiness

        result = readiness(ws, name, version)
    else:
        from charter.evidence.readiness_at import readiness_at

        result = readiness_at(ws, name, version, parse_moment(as_of, "--as-of"))
    emit(result.to_dict(), as_json=as_json, human=lambda c: _show_readiness(c, result))


def _show_readiness(console: Console, result: Readiness) -> None:
    short = len(result.shortfall)
    verdict = "READY" if result.ready else f"NOT READY ({short} of {len(result.items)} short)"
    then = ""
    if result.as_of is not None and result.rebuilt_from is not None:
        then = (
            f" as of {result.as_of.isoformat()}, rebuilt from the ledger up to entry "
            f"{result.rebuilt_from.head_seq}"
        )
    _print(console, f"{result.charter} version {result.version} ({result.status}){then}: {verdict}")
    for item in result.items:
        _print(console, f"  {'✓' if item.ok else '✗'} {item.name:<16} {item.evidence}")
    for note in result.notes:
        _print(console, f"  note: {note}")
    _show_approval(console, result.approval)


def _show_approval(console: Console, mode: ApprovalMode) -> None:
    _print(console, f"approval: {mode.mode}: {mode.explanation}")


@app.command("promote")
def promote_command(
    ctx: typer.Context,
    name: NameArg,
    version: VersionArg,
    waiver: WaiverOption = None,
    as_json: JsonOption = False,
) -> None:
    """Ask the owner to decide: open a promotion decision with the gate's evidence."""
    from charter.lifecycle.decisions import promote

    result = promote(workspace(ctx), name, version, waiver=waiver)

    def human(console: Console) -> None:
        decision = result.decision
        said = {
            "opened": f"Opened decision {decision.id}",
            "already_open": f"Decision {decision.id} was already open",
            "live": f"Version {version} is live: it passed the gate under the owner's "
            f"pre-authorisation (decision {decision.id})",
        }[result.outcome]
        _print(console, f"{said} for {name} version {version}.")
        _show_readiness(console, result.readiness)
        if result.outcome != "live":
            _print(
                console,
                f"The owner decides: charter approve {name} {version} --as EMAIL "
                f'[--accept-risk "…"] | charter reject {name} {version} --as EMAIL --reason "…"',
            )

    emit(result.to_dict(), as_json=as_json, human=human)


@app.command("approve")
def approve_command(
    ctx: typer.Context,
    name: NameArg,
    version: VersionArg,
    by: AsOption = None,
    accept_risk: Annotated[
        str | None,
        typer.Option(
            "--accept-risk",
            metavar="TEXT",
            help="The shortfall or residual risk you accept, in your words (required when the "
            "version falls short of the gate); kept verbatim in the audit ledger.",
        ),
    ] = None,
    waiver: WaiverOption = None,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Put a version live as its owner (or a delegate); the live version becomes the standby."""
    from charter.lifecycle.decisions import approve
    from charter.tokens import decider

    ws, who = decider(workspace(ctx), by, token, "approve")
    info = approve(ws, name, version, by=who, accept_risk=accept_risk, waiver=waiver)
    emit(info.to_dict(), as_json=as_json, human=lambda c: _show_decision(c, info))


@app.command("reject")
def reject_command(
    ctx: typer.Context,
    name: NameArg,
    version: VersionArg,
    reason: Annotated[str, typer.Option("--reason", metavar="TEXT", help="Why, for the record.")],
    by: AsOption = None,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Refuse a version's open promotion decision as its owner (or a delegate)."""
    from charter.lifecycle.decisions import reject
    from charter.tokens import decider

    ws, who = decider(workspace(ctx), by, token, "reject")
    info = reject(ws, name, version, by=who, reason=reason)
    emit(info.to_dict(), as_json=as_json, human=lambda c: _show_decision(c, info))


def _show_decision(console: Console, info: DecisionInfo) -> None:
    what = "is live" if info.status == "approved" else "stays where it was"
    _print(
        console,
        f"Decision {info.id} on {info.charter} version {info.version}: {info.status} by "
        f"{info.decided_by}; the version {what}.",
    )
    if info.accepted_risk:
        _print(console, f"  risk accepted: {info.accepted_risk}")
    if info.reason:
        _print(console, f"  reason: {info.reason}")


@app.command("rollback")
def rollback_command(
    ctx: typer.Context,
    name: NameArg,
    to: Annotated[
        int | None,
        typer.Option(
            "--to",
            metavar="VERSION",
            min=1,
            max=MAX_VERSION,
            help="Restore this version (it must have been live before).",
        ),
    ] = None,
    reason: Annotated[
        str | None, typer.Option("--reason", metavar="TEXT", help="Why, for the record.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Restore the standby version (or --to VERSION) at once; the live one becomes rolled_back."""
    from charter.lifecycle.transitions import rollback

    result = rollback(workspace(ctx), name, to=to, reason=reason)
    emit(result.to_dict(), as_json=as_json, human=lambda c: _show_rollback(c, result))


def _show_rollback(console: Console, result: RollbackResult) -> None:
    _print(
        console,
        f"{result.charter}: version {result.restored} is live again; version "
        f"{result.rolled_back} is rolled_back ({result.reason}).",
    )


@app.command("retire")
def retire_command(
    ctx: typer.Context,
    name: NameArg,
    version: VersionArg,
    by: Annotated[
        str,
        typer.Option(
            "--as", metavar="EMAIL", help="Who retires it: the owner, a delegate or a steward."
        ),
    ],
    reason: Annotated[
        str | None, typer.Option("--reason", metavar="TEXT", help="Why, for the record.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Take a shadow or standby version out of scoring (status retired); never the live one."""
    from charter.lifecycle.transitions import retire

    info = retire(workspace(ctx), name, version, by=by, reason=reason)
    emit(
        info.to_dict(),
        as_json=as_json,
        human=lambda c: _print(
            c, f"{info.charter} version {info.version} is retired: it is no longer scored"
        ),
    )


@app.command("authorize")
def authorize_command(
    ctx: typer.Context,
    name: NameArg,
    by: AsOption = None,
    auto_if_sufficient: Annotated[
        bool,
        typer.Option(
            "--auto-if-sufficient",
            help="As the owner, let a version that passes the gate go live without waiting "
            "(the charter must say operations.promotion.approval: auto_if_sufficient).",
        ),
    ] = False,
    revoke: Annotated[
        bool, typer.Option("--revoke", help="Withdraw the pre-authorisation.")
    ] = False,
    note: Annotated[
        str | None, typer.Option("--note", metavar="TEXT", help="Why, for the record.")
    ] = None,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Record (or revoke) the owner's pre-authorisation of promotion: auto_if_sufficient."""
    from charter.lifecycle.authorization import authorize, revoke_authorization
    from charter.tokens import decider

    if auto_if_sufficient == revoke:
        raise typer.BadParameter("give exactly one of --auto-if-sufficient or --revoke")
    ws, who = decider(workspace(ctx), by, token, "authorize")
    if revoke:
        mode = revoke_authorization(ws, name, by=who, note=note)
    else:
        mode = authorize(ws, name, by=who, note=note)
    emit(mode.to_dict(), as_json=as_json, human=lambda c: _show_approval(c, mode))


@app.command("decisions")
def decisions_command(
    ctx: typer.Context,
    name: NameArg,
    show_all: Annotated[bool, typer.Option("--all", help="Closed decisions too.")] = False,
    as_of: AsOfOption = None,
    as_json: JsonOption = False,
) -> None:
    """List a charter's open promotion decisions (or all of them), oldest first; with --as-of,
    those opened by then, each in its state then."""
    from charter.evidence.point_in_time import decisions_at
    from charter.lifecycle.decisions import list_decisions

    status = None if show_all else "open"
    ws = workspace(ctx)
    moment = None if as_of is None else parse_moment(as_of, "--as-of")
    found: list[Decision] = (
        [d.to_schema() for d in list_decisions(ws, name, status=status)]
        if moment is None
        else decisions_at(ws, name, moment, status=status)
    )

    def human(console: Console) -> None:
        if moment is not None:
            _print(
                console,
                f"as of {moment.isoformat()}, rebuilt from the ledger (decision.opened, "
                "decision.approved, decision.rejected, decision.withdrawn, decision.stalled, "
                "decision.escalated)",
            )
        if not found:
            then = " then" if moment is not None else ""
            _print(console, f"{name}: no {'' if show_all else 'open '}decisions{then}")
        for d in found:
            by = f" by {d.decided_by}" if d.decided_by else ""
            _print(
                console,
                f"{d.id:>4}  version {d.version:<4} {d.status:<9}{by}  opened "
                f"{d.opened_at:%Y-%m-%d %H:%M} by {d.opened_by}",
            )

    emit(
        [d.to_json_dict() for d in found],
        as_json=as_json,
        human=human,
    )


@app.command("review")
def review_command(ctx: typer.Context, name: NameArg, as_json: JsonOption = False) -> None:
    """One lifecycle pass (what `charter run` does each cycle): automatic rollback,
    pre-authorised promotion, stalled decisions and escalation."""
    from charter.services.lifecycle import review

    report = review(workspace(ctx), name)
    emit(report.to_dict(), as_json=as_json, human=lambda c: _print(c, f"{name}: {report.summary}"))
