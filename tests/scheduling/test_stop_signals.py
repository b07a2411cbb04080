"""A stop signal lets the running step finish, even while a Polars query runs.

Polars installs its own C-level SIGINT handler when first imported and raises KeyboardInterrupt
inside the running query. The steps import Polars lazily, after the scheduler's handlers are in
place: without care, the first Ctrl+C of `charter run` cut the step short (exit 130) instead of
letting it finish (exit 0). This runs in a fresh interpreter, where Polars is not yet imported.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent(
    """
    import os, signal, threading, time
    from charter.scheduling.scheduler import stop_on_signals

    stop = threading.Event()
    with stop_on_signals(stop):
        import polars as pl  # a step imports Polars lazily, after the handlers are in place

        frame = pl.DataFrame({"x": range(2_000_000)}).lazy()
        threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT)).start()
        queries = 0
        while not stop.is_set() or queries < 3:  # the step goes on after the signal
            frame.select(pl.col("x").sort(descending=True).head(3)).collect()
            queries += 1
    print(f"finished after the signal: {queries} queries", flush=True)
    """
)


def test_sigint_during_a_polars_query_stops_after_the_step() -> None:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "KeyboardInterrupt" not in done.stderr
    assert "SIGINT received: stopping after the current step" in done.stderr
    assert done.stdout.startswith("finished after the signal")
