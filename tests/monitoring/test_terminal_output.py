"""What people read in an 80-column terminal: every line of status, monitor, alerts list and
quarantine show fits; values print as written; an insufficient verdict says why; long runs show
a progress bar on stderr only when stderr is a terminal, never with --json or when piped."""

from __future__ import annotations

import io
from typing import Any

import polars as pl
import pytest
from rich.console import Console

from charter.alerts.raising import raise_alert

pytestmark = pytest.mark.postgres


def _fed(mkit: Any) -> Any:
    """A live version with a reference, one week of rows (two of them quarantined: a negative
    amount) and too few labels for a verdict, and an alert with a long message."""
    mkit.register("live")
    mkit.reference(1)
    frame = mkit.world(300, 75)
    frame = frame.with_columns(
        amount=pl.when(pl.int_range(pl.len()) < 2).then(-5.0).otherwise(pl.col("amount"))
    )
    mkit.land("rows.parquet", frame)
    mkit.labels("few.parquet", frame["id"].to_list()[:20], mkit.true_outcome(frame, 75)[:20])
    raise_alert(
        mkit.ws,
        mkit.name,
        event="breach",
        rule="sufficiency.v1",
        window="2024-02-29T00:00:00+00:00/2024-03-07T00:00:00+00:00",
        severity="critical",
        message="credit-default: sufficiency breach on version 1 (live), window "
        "2024-02-29T00:00:00+00:00/2024-03-07T00:00:00+00:00: roc_auc = 0.512, "
        "recall in channel == 'web' = 0.4 " + "and more " * 12,
    )
    return frame


def test_every_line_fits_80_columns(mkit: Any, cli: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from charter.cli.output import console

    monkeypatch.setenv("COLUMNS", "80")
    assert console.width == 80  # the tests' console is not a terminal: rich gives it 80 columns
    _fed(mkit)
    assert cli("monitor", mkit.name).code == 0
    for command in (
        ("status", mkit.name),
        ("monitor", mkit.name),
        ("alerts", mkit.name, "list"),
        ("quarantine", mkit.name, "show"),
        ("versions", mkit.name),
    ):
        result = cli(*command)
        assert result.code in (0, 5), result.stderr
        lines = result.stdout.splitlines()
        assert lines, command
        too_wide = [line for line in lines if len(line) > 80]
        assert not too_wide, (command, too_wide)
        assert not [line for line in lines if line != line.rstrip()], command


def test_insufficient_says_why_and_quarantined_values_print_as_written(mkit: Any, cli: Any) -> None:
    _fed(mkit)
    assert cli("monitor", mkit.name).code == 0
    status = cli("status", mkit.name)
    assert "insufficient" in status.stdout
    assert (
        "insufficient: " in status.stdout and "labels" in status.stdout.split("insufficient: ")[1]
    )
    shown = cli("quarantine", mkit.name, "show").stdout
    assert "amount=-5.0" in shown and "broke: amount.min" in shown
    assert "datetime.datetime" not in shown and "event_at=2024-" in shown


class _Terminal:
    """stderr as a terminal: the CLI's error console swapped for one that says it is a tty."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        from charter.cli import output

        self.buffer = io.StringIO()
        fake = Console(file=self.buffer, force_terminal=True, width=80, markup=False)
        monkeypatch.setattr(output, "err_console", fake)

    @property
    def text(self) -> str:
        return self.buffer.getvalue()


@pytest.mark.parametrize(
    ("command", "shown"),
    [
        (("monitor", "credit-default"), "monitor credit-default"),
        (("ingest", "credit-default"), "ingest credit-default"),
        (("reference", "credit-default", "1", "{reference}"), "reference credit-default 1"),
    ],
    ids=["monitor", "ingest", "reference"],
)
def test_a_progress_bar_shows_on_a_terminal_only(
    mkit: Any, cli: Any, monkeypatch: pytest.MonkeyPatch, command: tuple[str, ...], shown: str
) -> None:
    mkit.register("live")
    reference = mkit.reference(1)
    mkit.land("rows.parquet", mkit.world(200, 75))
    (mkit.ws.root / "landing" / mkit.name / "more.parquet").write_bytes(b"")
    mkit.world(50, 76).write_parquet(mkit.ws.root / "landing" / mkit.name / "more.parquet")
    args = [part.format(reference=reference) for part in command]
    piped = cli(*args)  # the tests' stderr is not a terminal: no bar
    assert shown not in piped.stderr
    terminal = _Terminal(monkeypatch)
    as_json = cli(*args, "--json")
    assert terminal.text == ""  # never with --json, even on a terminal
    if command[0] == "ingest":  # new rows for the second run to read
        mkit.world(40, 77).write_parquet(mkit.ws.root / "landing" / mkit.name / "last.parquet")
    person = cli(*args)
    assert person.code in (0, 5), person.stderr
    assert shown in terminal.text  # drawn on stderr ...
    assert shown not in person.stdout and as_json.stdout.startswith("{")  # ... never on stdout
