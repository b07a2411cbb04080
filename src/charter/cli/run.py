"""``charter run`` and ``charter retrain``: thin translations of the scheduler and retraining."""

from __future__ import annotations

import contextlib
import json
import logging
import sys
import threading
from collections.abc import Iterator
from datetime import timedelta
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from charter.attention import human_lines
from charter.cli.app import JsonOption, app, workspace
from charter.cli.output import emit

if TYPE_CHECKING:
    from charter.retraining.retrain import RetrainOutcome
    from charter.scheduling.scheduler import PassReport


def _interval(value: str | None) -> timedelta | None:
    from charter.spec.durations import parse_duration

    if value is None:
        return None
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None


@app.command()
def run(
    ctx: typer.Context,
    once: Annotated[
        bool, typer.Option("--once", help="Run one pass over every charter, then exit.")
    ] = False,
    interval: Annotated[
        str | None,
        typer.Option(
            "--interval",
            metavar="DURATION",
            help="Run every charter this often (e.g. 30s, 5m) instead of its "
            "operations.monitor.every.",
        ),
    ] = None,
    charters: Annotated[
        list[str] | None,
        typer.Option("--charter", metavar="NAME", help="Only this charter (repeatable)."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Ingest, label, monitor, retrain and review every charter on its cadence.

    One scheduler per store: a second `charter run` is refused. SIGTERM or SIGINT stops after the
    current step and exits 0. With --once: one pass, exit 0 if every step succeeded, 5 if it ran
    but needs attention (rows quarantined, a file or a model version failed), 1 if a step failed
    otherwise (or the pass was interrupted).
    """
    from charter.scheduling.locks import SchedulerLock
    from charter.scheduling.scheduler import Scheduler, stop_on_signals
    from charter.spec.durations import format_duration

    every = _interval(interval)
    ws = workspace(ctx)
    stop = threading.Event()
    with _logging_to_stderr(), SchedulerLock(ws) as lock, stop_on_signals(stop):
        scheduler = Scheduler(ws, charters=charters or (), interval=every, lock=lock, stop=stop)
        if once:
            report = scheduler.run_once()
            emit(report.to_dict(), as_json=as_json, human=lambda c: _human_pass(c, report))
            code = report.exit_code
            if code:
                raise typer.Exit(code)
            return
        if every is not None:
            logging.getLogger("charter.scheduler").info(
                "every charter runs every %s", format_duration(every)
            )
        scheduler.run_forever(on_pass=_json_line if as_json else None)


@app.command("retrain")
def retrain_command(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(metavar="NAME", help="The charter to retrain.")],
    as_json: JsonOption = False,
) -> None:
    """Retrain now on the newest labelled window; the new version goes to shadow.

    Exit 1 if the training entrypoint failed (recorded in the ledger and alerted; nothing else
    changes). A window already trained on is skipped (exit 0).
    """
    from charter.retraining.retrain import retrain

    outcome = retrain(workspace(ctx), name, manual=True)
    emit(outcome.to_dict(), as_json=as_json, human=lambda c: _human_retrain(c, outcome))
    if outcome.status == "failed":
        raise typer.Exit(1)


@contextlib.contextmanager
def _logging_to_stderr() -> Iterator[None]:
    """The scheduler reports as it goes, in log lines on stderr (stdout is for --json)."""
    root = logging.getLogger("charter")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def _json_line(report: PassReport) -> None:
    sys.stdout.write(json.dumps(report.to_dict(), default=str) + "\n")
    sys.stdout.flush()


def _human_pass(console: Console, report: PassReport) -> None:
    for step in report.steps:
        mark = {"ok": "ok", "skipped": "--", "failed": "FAILED"}.get(step.status, step.status)
        console.print(f"{step.charter:<24} {step.step:<8} {mark:<7} {step.summary}")
    failed = len(report.failed)
    state = "interrupted" if report.interrupted else "finished"
    for line in human_lines(report.attention):
        console.print(line, markup=False)
    console.print(
        f"pass {state}: {len(report.steps)} steps, {failed} failed"
        + ("" if report.ok else "; see the alerts (`charter alerts NAME list`)")
    )


def _human_retrain(console: Console, outcome: RetrainOutcome) -> None:
    console.print(f"{outcome.charter}: {outcome.message}")
    if outcome.error and outcome.error.get("cause"):
        console.print(f"cause: {outcome.error['cause']}")
    for note in outcome.notes:
        console.print(f"note: {note}")
