"""The histogram of one input in one stored window, beside its reference's: what drift compares.

Read from what monitoring stored, never from raw rows: the window's merged summaries
(``monitor_windows.summaries``) and the version's reference (``monitor_references``). A numeric
input's fine reference-quantile bins (:mod:`charter.engines.summaries`) are regrouped into
``bins`` equal-width bins over the reference's range, plus a bin each for values below and above
it (summaries cannot tell where outside the range a value fell, only that it did); a
categorical input shows each reference category and, together, the values the reference never
had. Both sides are shares of their non-null values, so windows of any size compare.

A window summarised against another reference than the version's current one (the reference was
replaced since) is refused: its bins are not the current reference's. ``charter monitor`` re-bins
it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import sqlalchemy as sa

from charter.engines.summaries import CategoricalSummary, ColumnSummary, NumericSummary
from charter.errors import CharterError
from charter.monitoring.cutting import cutter
from charter.monitoring.reference import (
    load_reference,
    monitored_columns,
    reference_origin,
    score_range,
    unpack,
)
from charter.monitoring.windows import SummaryPlan, WindowSummary, to_us
from charter.spec.model import Charter
from charter.store.tables import MonitorWindow
from charter.workspace import Workspace

BINS = 20
SCORE = None  # the column argument naming the model's score


@dataclass(frozen=True)
class Bin:
    """One bar pair: ``label`` says what it counts, ``short`` names it on an axis."""

    label: str
    short: str
    reference: int
    current: int
    reference_share: float
    current_share: float


@dataclass(frozen=True)
class Histogram:
    """One input (``column`` None: the score) of one version's window against its reference."""

    charter: str
    version: str
    column: str | None
    start: datetime
    end: datetime
    kind: str
    bins: list[Bin] = field(default_factory=list)
    reference_rows: int = 0
    current_rows: int = 0
    reference_nulls: int = 0
    current_nulls: int = 0
    reference_origin: str = ""
    # the window's stored drift of this column (method -> its result), read with its summaries
    drift: dict[str, Any] = field(default_factory=dict)


def _share(count: int, total: int) -> float:
    return count / total if total else 0.0


def number(value: float) -> str:
    """``12,500`` for large values, three significant digits for small ones."""
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.3g}"


Counts = list[tuple[str, str, int, int]]  # label, short label, reference count, current count


def _numeric(ref: NumericSummary, cur: NumericSummary, bins: int) -> Counts:
    edges = ref.edges
    if edges.size < 2:
        raise CharterError("the reference has too few distinct values to draw a histogram")
    lo, hi = float(edges[0]), float(edges[-1])
    width = (hi - lo) / bins
    mids = (edges[:-1] + edges[1:]) / 2  # fine bin i (1..len-1) lies between edges[i-1], edges[i]
    group = np.clip(((mids - lo) // width).astype(np.int64), 0, bins - 1) + 1
    group = np.concatenate(([0], group, [bins + 1]))  # the outer bins: below and above the range
    r = np.bincount(group, weights=ref.counts, minlength=bins + 2).astype(np.int64)
    c = np.bincount(group, weights=cur.counts, minlength=bins + 2).astype(np.int64)
    cuts = [number(lo + width * i) for i in range(bins + 1)]
    labels = [(f"below {cuts[0]}", f"< {cuts[0]}")]
    labels += [(f"{cuts[i]} to {cuts[i + 1]}", cuts[i]) for i in range(bins)]
    labels.append((f"{cuts[-1]} and above", f"≥ {cuts[-1]}"))
    return [(long, short, int(a), int(b)) for (long, short), a, b in zip(labels, r, c, strict=True)]


def _categorical(ref: CategoricalSummary, cur: CategoricalSummary) -> Counts:
    known = sorted(ref.counts, key=lambda k: (-ref.counts[k], k))
    out = [(k, k, ref.counts[k], cur.counts.get(k, 0)) for k in known]
    unseen = sum(n for k, n in cur.counts.items() if k not in ref.counts) + cur.other_count
    if unseen or ref.other_count:
        out.append(("values the reference did not count", "other", ref.other_count, unseen))
    return out


def _window_row(ws: Workspace, charter: Charter, version: str, start: datetime) -> MonitorWindow:
    name = charter.name
    cut = cutter(charter.sufficiency.window, charter)
    with ws.db.read() as session:
        rows = session.scalars(
            sa.select(MonitorWindow).where(
                MonitorWindow.charter == name,
                MonitorWindow.version == version,
                MonitorWindow.window_start == start,
            )
        ).all()
    ours = cut.is_window([to_us(r.window_start) for r in rows], [to_us(r.window_end) for r in rows])
    found = [r for r, mine in zip(rows, ours, strict=True) if mine]
    if not found:
        raise CharterError(
            f"version {version} of {name} has no stored window starting {start.isoformat()}",
            hint=f"Windows are stored by `charter monitor {name}`.",
        )
    return found[0]


def window_histogram(
    ws: Workspace,
    name: str,
    version: str,
    start: datetime,
    column: str | None,
    *,
    bins: int = BINS,
) -> Histogram:
    """The histogram of ``column`` (None: the score) in ``version``'s window starting ``start``."""
    charter = ws.load(name).charter
    inputs = monitored_columns(charter)
    if column is not None and column not in {c.name for c in inputs}:
        known = ", ".join(c.name for c in inputs)
        raise CharterError(f"{column!r} is not a monitored input of {name} (they are: {known})")
    origin = reference_origin(charter)
    reference = load_reference(ws, charter.name, version, origin)
    if reference is None:
        raise CharterError(
            f"version {version} of {name} has no monitoring reference ({origin})",
            hint=f"Set one: `charter reference {name} {version} FILE`.",
        )
    row = _window_row(ws, charter, version, start)
    plan = SummaryPlan(inputs, score_range(charter), reference)
    if row.basis != plan.basis:
        raise CharterError(
            f"the window starting {start.isoformat()} was summarised against an earlier "
            f"reference of version {version}: its bins are not the current reference's",
            hint=f"Run `charter monitor {name}` to summarise it again.",
        )
    window = WindowSummary.from_dict(unpack(row.summaries), plan)
    ref: ColumnSummary | None = reference.score if column is None else reference.columns[column]
    cur: ColumnSummary = window.score if column is None else window.columns[column]
    if ref is None:
        raise CharterError(f"the reference of version {version} has no scores")
    if isinstance(ref, NumericSummary) and isinstance(cur, NumericSummary):
        counts, kind = _numeric(ref, cur, bins), "numeric"
    elif isinstance(ref, CategoricalSummary) and isinstance(cur, CategoricalSummary):
        counts, kind = _categorical(ref, cur), "categorical"
    else:
        raise CharterError(f"{column!r}: the window and its reference are summarised differently")
    return Histogram(
        charter.name, version, column, row.window_start, row.window_end, kind,
        [Bin(lb, sh, a, b, _share(a, ref.count), _share(b, cur.count)) for lb, sh, a, b in counts],
        ref.count, cur.count, ref.null_count, cur.null_count, origin, _stored_drift(row, column),
    )  # fmt: skip


def _stored_drift(row: MonitorWindow, column: str | None) -> dict[str, Any]:
    """What the window's evaluation stored as the drift of ``column`` (None: the score)."""
    result = row.result or {}
    found = result.get("score_drift") if column is None else (result.get("drift") or {}).get(column)
    return dict(found or {})
