"""Helpers shared by the monitoring-statistics benchmarks (drift, cbpe).

Timing alternates the contenders repetition by repetition, so a noisy neighbour on the shared
2-core machine slows all of them alike; each is reported by its minimum and median. Peak memory
is measured per contender in a fresh process (``--rss NAME``), because a process's peak RSS
only ever grows and one run would report the largest contender for all.
"""

from __future__ import annotations

import gc
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).with_name("RESULTS.md")
# NannyML reports usage to a web service unless told not to; off, so the timed runs never wait on
# (or spend a thread retrying) the network, which the benchmark machine may not reach.
os.environ.setdefault("NML_DISABLE_USAGE_LOGGING", "1")


def alternate(tasks: Mapping[str, Callable[[], object]], repeat: int) -> dict[str, list[float]]:
    """Run every task once per repetition, in turn; return each task's wall times."""
    times: dict[str, list[float]] = {name: [] for name in tasks}
    for rep in range(repeat):
        for name, task in tasks.items():
            gc.collect()
            start = time.perf_counter()
            task()
            times[name].append(time.perf_counter() - start)
            print(f"  rep {rep + 1}/{repeat} {name}: {times[name][-1]:.3f}s", flush=True)
    return times


def best_and_median(times: Sequence[float]) -> tuple[float, float]:
    return min(times), statistics.median(times)


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _status_mib(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


def reset_peak_rss() -> float:
    """Forget the peak so far (generating the data peaks high) and return the current RSS.

    Writing 5 to ``/proc/self/clear_refs`` resets the kernel's high-water mark (Linux >= 4.0).
    """
    Path("/proc/self/clear_refs").write_text("5")
    return _status_mib("VmRSS")


def report_rss(baseline_mib: float, result: object = None) -> None:
    """Print the peak RSS since :func:`reset_peak_rss`, and an optional JSON-ready result, as
    one JSON line for :func:`measure_rss`."""
    peak = _status_mib("VmHWM")
    print(
        json.dumps({"peak_mib": peak, "baseline_mib": baseline_mib, "result": result}), flush=True
    )


def measure_rss(module: str, name: str, extra: Sequence[str] = ()) -> tuple[float, float, Any]:
    """Peak RSS of ``python -m module --rss name``, its RSS once the data was loaded, and the
    result it reported."""
    done = subprocess.run(
        [sys.executable, "-m", module, "--rss", name, *extra],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "CHARTER_BENCH_NO_VENV": "1"},
    )
    last = done.stdout.strip().splitlines()[-1]
    data = json.loads(last)
    return float(data["peak_mib"]), float(data["baseline_mib"]), data.get("result")


def append_results(section: str) -> None:
    """Append one section to RESULTS.md (append only: other benchmarks write there too)."""
    with RESULTS.open("a", encoding="utf-8") as out:
        out.write("\n" + section.rstrip() + "\n")
