"""``charter monitor``, ``status``, ``report`` and ``reference``: thin over :mod:`charter.services.monitoring`
and :mod:`charter.monitoring`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from charter.cli.app import JsonOption, app, workspace
from charter.cli.evidence import AsOfOption, parse_moment
from charter.cli.output import WIDE_ENOUGH, emit, print_fitted
from charter.cli.progress import progress_bar

if TYPE_CHECKING:
    from datetime import datetime

    from charter.monitoring.service import WindowResult
    from charter.workspace import Workspace

WindowOption = Annotated[
    str | None,
    typer.Option(
        "--window",
        metavar="WINDOW",
        help="Window, e.g. 1d, 7d, 1w, 1mo, 1q (default: the charter's sufficiency.window); "
        "another window than the charter's explores and raises no alerts.",
    ),
]
NameArgument = Annotated[str, typer.Argument(metavar="NAME", help="The charter.")]
STYLE = {"pass": "green", "warn": "yellow", "breach": "bold red", "insufficient_evidence": "dim"}


@app.command()
def monitor(
    ctx: typer.Context,
    name: NameArgument,
    since: Annotated[
        str | None,
        typer.Option(metavar="WHEN", help="First window: the one holding this ISO date/time."),
    ] = None,
    until: Annotated[
        str | None,
        typer.Option(metavar="WHEN", help="Only windows starting before this ISO date/time."),
    ] = None,
    window: WindowOption = None,
    as_json: JsonOption = False,
) -> None:
    """Evaluate every window of every version: quality, drift, performance, verdict; store it."""
    from charter.services.monitoring import monitor as run_monitor

    with progress_bar(as_json) as progress:
        result = run_monitor(
            workspace(ctx), name, since=since, until=until, window=window, progress=progress
        )

    def human(console: Console) -> None:
        if not result.windows:
            console.print(f"{result.charter}: no logged predictions in range; nothing to monitor")
            return
        title = f"{result.charter}: {len(result.windows)} windows"
        _print_windows(console, title, result.windows)
        _print_reasons(console, result.windows)
        console.print(f"{result.verdicts_changed} verdicts new or changed (recorded in the ledger)")
        if result.exploratory:
            print_fitted(
                console,
                f"exploratory window {result.to_dict()['window']} (the charter judges "
                "sufficiency.window): no alerts raised or resolved",
            )
        for alert in result.raised:
            seen = f" (again, {alert.count}x)" if alert.repeated else ""
            print_fitted(console, f"alert {alert.id} [{alert.severity}] {alert.message}{seen}")
        for alert in result.resolved:
            print_fitted(console, f"alert {alert.id} resolved itself: {alert.resolve_note}")

    emit(result.to_dict(), as_json=as_json, human=human)


@app.command()
def status(
    ctx: typer.Context,
    name: NameArgument,
    window: WindowOption = None,
    last: Annotated[int, typer.Option(min=1, metavar="N", help="Windows to show per version.")] = 1,
    as_of: AsOfOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show the latest stored windows of each version (run `charter monitor` to update them);
    with --as-of, what the ledger says was true then."""
    from charter.governance.changes import list_changes
    from charter.monitoring.service import latest_windows
    from charter.plumbing.scoring_failures import failure_note, failure_summary
    from charter.schemas.monitoring import StatusResult
    from charter.services.oversight import suspension

    ws = workspace(ctx)
    if as_of is not None:
        if window is not None or last != 1:
            raise typer.BadParameter(
                "--window and --last choose stored windows, which --as-of does not show (the "
                "ledger keeps each window's verdict: see windows_judged)",
                param_hint="--as-of",
            )
        _status_at(ws, name, parse_moment(as_of, "--as-of"), as_json=as_json)
        return
    found = latest_windows(ws, name, window=window, count=last)
    failed = failure_summary(ws, name)
    stopped = suspension(ws, name)

    def human(console: Console) -> None:
        if stopped is not None:
            from charter.cli.oversight import show_suspension

            show_suspension(console, stopped)
        if not found:
            console.print(f"{name}: no windows yet; run `charter monitor {name}`")
        else:
            _print_windows(console, f"{name}: latest windows", found)
            _print_reasons(console, found)
        for entry in failed:
            console.print(f"FAILED {failure_note(name, entry)}", markup=False)

    body = StatusResult(
        charter=name,
        windows=[w.to_schema() for w in found],
        scoring_failures=failed,
        pending_changes=[c.to_schema() for c in list_changes(workspace(ctx), name)],
        suspended=stopped,
    )
    emit(body.to_json_dict(), as_json=as_json, human=human)


def _status_at(ws: Workspace, name: str, moment: datetime, *, as_json: bool) -> None:
    from charter.evidence.point_in_time import point_in_time
    from charter.schemas.monitoring import StatusResult

    then = point_in_time(ws, name, moment)
    body = StatusResult(
        charter=name,
        windows=[],
        scoring_failures=[],
        pending_changes=[],
        suspended=None,
        as_of=then.as_of,
        point_in_time=then,
    )

    def human(console: Console) -> None:
        def say(text: str) -> None:
            console.print(text, markup=False, highlight=False)

        say(
            f"{name} as of {then.as_of.isoformat()}: rebuilt from the ledger up to entry "
            f"{then.head_seq} (signed {then.signed_at})"
        )
        live = "none" if then.live_version is None else f"version {then.live_version}"
        say(f"  live: {live}   (version.registered, version.status_changed)")
        terms = (then.terms_sha256 or "unknown")[:12]
        say(
            f"  owner: {then.owner or 'unknown'}   terms {terms} ({then.terms_found}; "
            "charter.created, charter.terms_accepted)"
        )
        if then.suspended:
            say(f"  SUSPENDED by {then.suspended_by}: {then.suspension_reason}")
        say(f"  open alerts: {len(then.open_alerts)}   (alert.raised, alert.resolved)")
        for a in then.open_alerts:
            say(f"    alert {a.alert_id} [{a.severity}] {a.message}")
        say(f"  windows judged: {len(then.windows_judged)}   (window.evaluated)")
        for w in then.windows_judged:
            say(f"    v{w.version} {w.start} → {w.end}: {w.verdict}")
        if then.pending_change_ids:
            ids = ", ".join(str(i) for i in then.pending_change_ids)
            say(f"  pending charter changes: {ids}")
        say("  not reconstructed:")
        for item in then.not_reconstructed:
            say(f"    - {item}")

    emit(body.to_json_dict(), as_json=as_json, human=human)


@app.command()
def report(
    ctx: typer.Context,
    name: NameArgument,
    html: Annotated[
        Path, typer.Option("--html", metavar="FILE", help="Where to write the HTML report.")
    ],
    window: WindowOption = None,
    as_json: JsonOption = False,
) -> None:
    """Write a self-contained HTML report (inline SVG charts, no network) of the stored windows."""
    from charter.monitoring.report import write_report
    from charter.schemas.monitoring import ReportResult

    written = write_report(workspace(ctx), name, html, window=window)

    def human(console: Console) -> None:
        console.print(
            f"Wrote {written['file']}: {written['windows']} windows of "
            f"{len(written['versions'])} versions"
        )

    emit(ReportResult(**written).to_json_dict(), as_json=as_json, human=human)


@app.command()
def reference(
    ctx: typer.Context,
    name: NameArgument,
    version: Annotated[
        str, typer.Argument(metavar="VERSION", help="Version number, or 'external'.")
    ],
    file: Annotated[
        Path,
        typer.Argument(metavar="FILE", help="Labelled data (Parquet, CSV, JSON Lines)."),
    ],
    as_json: JsonOption = False,
) -> None:
    """Summarise labelled data as a version's monitoring reference (scored by that version)."""
    from charter.cli.lifecycle import MAX_VERSION
    from charter.monitoring.reference import set_reference
    from charter.schemas.monitoring import ReferenceResult

    if version.isdigit() and not 1 <= int(version) <= MAX_VERSION:
        raise typer.BadParameter(
            f"{version} is not in the range 1<=x<={MAX_VERSION}", param_hint="'VERSION'"
        )

    with progress_bar(as_json) as progress:
        ref = set_reference(workspace(ctx), name, version, file, progress=progress)
    body = ReferenceResult(
        charter=name, version=version, fingerprint=ref.fingerprint, **ref.describe()
    ).to_json_dict()

    def human(console: Console) -> None:
        console.print(
            f"Reference of {name} version {version}: {ref.rows} rows, {ref.labelled} labelled, "
            f"CBPE {body['cbpe']}"
        )

    emit(body, as_json=as_json, human=human)


# -- the terminal table -------------------------------------------------------------------------
def _rule_text(rule: dict[str, Any]) -> str:
    sign, threshold = (
        ("≥", rule["at_least"]) if rule["at_least"] is not None else ("≤", rule["at_most"])
    )
    if threshold == "reference":  # a bound learnt from the reference: show the number
        bound = rule.get("threshold")
        threshold = f"{bound:.3f} ref" if isinstance(bound, int | float) else "ref n/a"
    value = rule["value"]
    shown = f"{value:.3f}" if isinstance(value, int | float) else "n/a"
    segment = f" [{rule['segment']}]" if rule.get("segment") else ""
    text = f"{rule['metric']}{segment} {shown} ({sign}{threshold})"
    estimate = rule.get("estimate") or {}
    if isinstance(estimate.get("value"), int | float):
        text += f" est {estimate['value']:.3f}"
    return text


def _span(w: WindowResult) -> str:
    """``2024-02-29 → 03-07`` for whole days; with times otherwise."""
    if (w.start.hour, w.start.minute, w.end.hour, w.end.minute) == (0, 0, 0, 0):
        end = f"{w.end:%m-%d}" if w.end.year == w.start.year else f"{w.end:%Y-%m-%d}"
        return f"{w.start:%Y-%m-%d} → {end}"
    return f"{w.start:%Y-%m-%d %H:%M} → {w.end:%m-%d %H:%M}"


def _table(title: str, windows: list[WindowResult]) -> Table:
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    for column in ("version", "window", "verdict"):
        table.add_column(column, no_wrap=True)
    table.add_column("rules vs thresholds")
    table.add_column("labels", no_wrap=True)
    table.add_column("drifted")
    for w in windows:
        data = w.data
        labels = data["labels"]
        shown = "insufficient" if w.verdict == "insufficient_evidence" else w.verdict
        table.add_row(
            f"{w.version} {data['status']}",
            _span(w),
            Text(shown, style=STYLE.get(w.verdict, "")),
            "\n".join(_rule_text(r) for r in data["rules"]),
            f"{labels['labelled']}/{labels['rows']}",
            ", ".join(data["drifted"]) or "-",
        )
    return table


def _print_windows(console: Console, title: str, windows: list[WindowResult]) -> None:
    """The windows as a table on a wide terminal; narrower, a line of facts per window and an
    indented line per rule (a table would wrap its rules a word per line)."""
    if console.width >= WIDE_ENOUGH:
        console.print(_table(title, windows), soft_wrap=False)
        return
    console.print(title)
    for w in windows:
        data = w.data
        labels = data["labels"]
        shown = "insufficient" if w.verdict == "insufficient_evidence" else w.verdict
        line = Text(f"{w.version} {data['status']}  {_span(w)}  ")
        line.append(shown, style=STYLE.get(w.verdict, ""))
        line.append(f"  labels {labels['labelled']}/{labels['rows']}")
        if data["drifted"]:
            line.append(f"  drifted: {', '.join(data['drifted'])}")
        console.print(line, overflow="fold", soft_wrap=False)
        for rule in data["rules"]:
            console.print(Text("    " + _rule_text(rule)), overflow="fold", soft_wrap=False)


def _print_reasons(console: Console, windows: list[WindowResult]) -> None:
    """Why each window that did not pass got its verdict (``verdict_reason``)."""
    for w in windows:
        reason = w.data.get("verdict_reason")
        if w.verdict != "pass" and reason:
            shown = "insufficient" if w.verdict == "insufficient_evidence" else w.verdict
            print_fitted(console, Text(f"{w.version} {_span(w)}: {shown}: {reason}", style="dim"))
