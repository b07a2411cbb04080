"""``monitor(ws, name)``: evaluate every window of every version, store the results, report them.

A run:

1. reads the key, score, event time and segment inputs of the prediction log in the requested
   range (columnar, one file per committed batch) and joins the newest labels by key;
2. resolves each version's reference (:mod:`.reference`), building it from a past window when
   the charter asks for one;
3. gets each (version, window) summary from the store (:mod:`.results`): reused when nothing
   changed, else merged from per-(batch, window) summaries, computing only the missing ones;
4. evaluates quality, drift, performance and the verdict (:mod:`.evaluation`);
5. stores, in one transaction, new batch summaries and every changed window, with a
   ``window.evaluated`` ledger entry for each window that is new or whose verdict moved. A re-run
   on unchanged data writes nothing; labels that arrived since change the window's result.

Windows with no rows between a version's first and last window (or over the whole
``since``/``until`` range when both are given) are evaluated too: an empty window is a finding.

This module raises no alerts: :func:`charter.services.monitoring.monitor` (``charter.monitor``,
``charter monitor``, the scheduler) runs it and then raises and resolves the windows' alerts.
"""

from __future__ import annotations

import contextlib
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import polars as pl
import sqlalchemy as sa

from charter.engines.base import DEFAULT_ENGINE, chosen_engine, engine_for
from charter.errors import CharterError, ExpressionError
from charter.monitoring.cutting import Cutter, cutter
from charter.monitoring.evaluation import evaluate
from charter.monitoring.multiclass import class_matrix
from charter.monitoring.reference import (
    REGISTRATION,
    MonitoredColumn,
    Reference,
    build_reference,
    load_reference,
    monitored_columns,
    parse_moment,
    parse_period,
    reference_origin,
    score_range,
    store_reference,
)
from charter.monitoring.results import (
    Need,
    ResultStore,
    WindowResult,
    version_key,
)
from charter.monitoring.results import (
    stored_windows as read_windows,
)
from charter.monitoring.results import (
    stored_windows_of as read_windows_of,
)
from charter.monitoring.windows import (
    INPUT_PREFIX,
    MAX_WINDOWS,
    UNSCORED,
    LoggedBatch,
    SummaryPlan,
    Window,
    by_group,
    logged_batches,
    scan_batch,
    to_us,
)
from charter.plumbing.labels import read_labels
from charter.progress import SILENT, Progress
from charter.schemas import monitoring as schemas
from charter.spec.expressions import parse
from charter.spec.model import Charter
from charter.spec.windows import WindowValue, format_window, parse_window, window_text
from charter.store.tables import ModelVersion
from charter.workspace import Workspace

__all__ = ["MonitorReport", "WindowResult", "latest_windows", "monitor", "stored_windows"]


@dataclass(frozen=True)
class MonitorReport:
    """What a ``monitor`` run evaluated, oldest window first, and how many verdicts moved."""

    charter: str
    window: WindowValue
    windows: list[WindowResult]
    verdicts_changed: int = 0
    exploratory: bool = False  # cut by a window other than the charter's: never alerted on

    def to_schema(self) -> schemas.MonitorResult:
        return schemas.MonitorResult(
            charter=self.charter,
            window=format_window(self.window),
            exploratory=self.exploratory,
            verdicts_changed=self.verdicts_changed,
            windows=[w.to_schema() for w in self.windows],
        )

    def to_dict(self) -> dict[str, Any]:
        return self.to_schema().to_json_dict()


def _as_moment(value: datetime | str | None, where: str) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value if value is None or value.tzinfo else value.replace(tzinfo=UTC)
    return parse_moment(value, where)


def _as_size(value: WindowValue | str | None, charter: Charter) -> WindowValue:
    if value is None:
        return charter.sufficiency.window
    try:
        return parse_window(value)
    except ValueError as exc:
        raise CharterError(f"--window: {exc}") from None


def monitor(
    ws: Workspace,
    name: str,
    *,
    since: datetime | str | None = None,
    until: datetime | str | None = None,
    window: WindowValue | str | None = None,
    progress: Progress = SILENT,
    engine: str | None = None,
) -> MonitorReport:
    """Evaluate, store and return the windows of ``name`` whose start lies in [since, until)
    (``since`` is rounded down to its window's start); see the module docstring. ``progress``
    hears of each logged batch read and each window evaluated.

    The per-(batch, version, window) summaries not stored yet are computed by ``engine``, else
    ``CHARTER_ENGINE``, else the charter's ``data.engine`` (the local engine by default); either
    engine's summaries merge with the other's."""
    charter = ws.load(name).charter
    chosen = chosen_engine(engine, ws.settings, charter.data.engine)
    name = charter.name
    size = _as_size(window, charter)
    step = cutter(size, charter)
    lo, hi = _as_moment(since, "--since"), _as_moment(until, "--until")
    lo_us = None if lo is None else step.floor(to_us(lo))
    hi_us = None if hi is None else to_us(hi)
    batches = logged_batches(ws, name)
    columns = monitored_columns(charter)
    inputs = charter.data.feature_columns()
    progress.begin(f"monitor {name}: reading the log", len(batches))
    wanted = _performance_inputs(charter, inputs)
    groups, sizes, held = _groups(batches, step, wanted, lo_us, hi_us, progress)
    labels = read_labels(ws, name)
    run = _Run(ws, charter, batches, step, columns, labels)
    needs = [
        Need(version, Window.cut(start, step), groups.get((version, start), []))
        for version in sorted({v for v, _ in groups}, key=version_key)
        for start in _window_starts([w for v, w in groups if v == version], step, lo_us, hi_us)
    ]
    plans = {version: run.plan(version) for version in {n.version for n in needs}}
    store = ResultStore(
        ws, name, None if chosen == DEFAULT_ENGINE else engine_for(chosen, ws.settings)
    )
    results = []
    progress.begin(f"monitor {name}: evaluating windows", len(needs))
    parts = [needs] if held is not None else _in_memory_parts(needs, sizes)
    for part in parts:
        summaries = store.summaries(part, plans, batches, step)
        rows = held if held is not None else _rows(batches, step, wanted, part)
        held = None
        rows = rows.join(labels, on="key", how="left") if rows.height else _with_label(rows)
        by_window = by_group(rows)
        for need in part:
            progress.advance(note=f"version {need.version}, {need.window.start:%Y-%m-%d}")
            start = to_us(need.window.start)
            window_rows = by_window.get((need.version, start), rows.clear())
            reference = plans[need.version].reference
            body = evaluate(
                charter, need.version, summaries[need.key], window_rows, reference, inputs
            )
            status = run.status(need.version)
            results.append(_result(name, need.version, status, need.window, body, step.text))
        del rows, by_window  # the next part's rows take their place
    progress.end()
    changed = store.commit(results)
    results.sort(key=lambda r: (r.start, version_key(r.version)))
    exploratory = format_window(size) != window_text(charter.sufficiency)
    return MonitorReport(name, size, results, changed, exploratory)


ROWS_IN_MEMORY = 4_000_000
"""Logged rows one monitor run holds at once (with their scores, keys and the inputs a window's
evaluation reads). Windows are evaluated in consecutive groups of at most this many rows (a
window larger than that alone), so the log of a charter with 50,000,000 rows is monitored in
bounded memory; each group re-scans only the batches that have rows in it."""


_SCANS_AT_ONCE = 64
"""Logged batches one ``collect_all`` reads together (while their rows fit in memory)."""


def _in_memory_parts(
    needs: Sequence[Need], sizes: Mapping[tuple[str, int], int]
) -> list[list[Need]]:
    """``needs`` in consecutive groups of window starts (all versions of a start together) with
    at most :data:`ROWS_IN_MEMORY` rows each, or one start alone."""
    by_start: dict[int, list[Need]] = defaultdict(list)
    for need in needs:
        by_start[to_us(need.window.start)].append(need)
    parts: list[list[Need]] = []
    held = 0
    for start in sorted(by_start):
        rows = sum(sizes.get((n.version, start), 0) for n in by_start[start])
        if not parts or (held + rows > ROWS_IN_MEMORY and held > 0):
            parts.append([])
            held = 0
        parts[-1].extend(by_start[start])
        held += rows
    return parts


def _performance_inputs(charter: Charter, inputs: Sequence[str]) -> list[str]:
    """The logged inputs a window's evaluation reads: those segments name, and every monitored
    input for a regressor (DLE estimates its error from them) or with multivariate drift."""
    named = _segment_columns(charter, inputs)
    if charter.task != "regression" and charter.operations.monitor.multivariate is None:
        return named
    return sorted(set(named) | {c.name for c in monitored_columns(charter)})


def _segment_columns(charter: Charter, inputs: Sequence[str]) -> list[str]:
    """The logged inputs that some rule's segment names: the only inputs performance reads."""
    named: set[str] = set()
    for rule in charter.sufficiency.metrics:
        if rule.segment is not None:
            with contextlib.suppress(ExpressionError):  # judged (and explained) per rule later
                named |= parse(rule.segment).columns()
    return sorted(named & set(inputs))


def _with_label(rows: pl.DataFrame) -> pl.DataFrame:
    return rows.with_columns(pl.lit(None, pl.Float64).alias("label"))


def _groups(
    batches: Sequence[LoggedBatch],
    step: Cutter,
    inputs: Sequence[str],
    lo_us: int | None,
    hi_us: int | None,
    progress: Progress = SILENT,
) -> tuple[dict[tuple[str, int], list[str]], dict[tuple[str, int], int], pl.DataFrame | None]:
    """The batches of each (version, window) in range, in log order, its rows, and, while they
    number at most :data:`ROWS_IN_MEMORY`, the rows themselves as :func:`_rows` reads them (one
    scan per batch; past the limit, only the version and time columns are read)."""
    groups: dict[tuple[str, int], list[str]] = defaultdict(list)
    sizes: dict[tuple[str, int], int] = defaultdict(int)
    frames: list[pl.DataFrame] | None = []
    cells: list[pl.DataFrame] = []  # (batch, version, window) of the held rows, counted at the end
    total = largest = 0
    index = 0
    while index < len(batches):
        # Batches are read several at a time (one ``collect_all``: Polars reads them in
        # parallel, and a year of small daily files costs a third as much): while rows are
        # held, as many as fit below the limit at the largest batch seen so far; once only
        # counted, a count holds next to nothing.
        if frames is None:
            at_once = _SCANS_AT_ONCE
        else:
            at_once = (ROWS_IN_MEMORY - total) // largest if largest else 1
        chunk = range(index, min(index + max(1, min(_SCANS_AT_ONCE, at_once)), len(batches)))
        index = chunk.stop
        scans = []
        for at in chunk:
            progress.advance(note=batches[at].batch_id[:12])
            scans.append(scan_batch(batches[at], step, inputs, start_us=lo_us, end_us=hi_us))
        if frames is None:
            counts = pl.collect_all([scan.group_by("version", "window").len() for scan in scans])
            for at, counted in zip(chunk, counts, strict=True):
                counted = counted.select(pl.lit(at, pl.Int64).alias("batch"), pl.all())
                _count(counted, batches, groups, sizes)
            continue
        read = pl.collect_all([scan.select(_columns(inputs)) for scan in scans])
        for at, frame in zip(chunk, read, strict=True):
            total += frame.height
            largest = max(largest, frame.height)
            if frame.height:
                frames.append(frame)
                cells.append(frame.select(pl.lit(at, pl.Int64).alias("batch"), "version", "window"))
        if total > ROWS_IN_MEMORY:
            frames = None  # too many to hold: each part reads its own rows (see monitor)
            _count(
                pl.concat(cells).group_by("batch", "version", "window").len(),
                batches,
                groups,
                sizes,
            )
            cells = []
    if cells:  # one count of every held row, rather than one per batch
        _count(
            pl.concat(cells).group_by("batch", "version", "window").len(), batches, groups, sizes
        )
    held = None if frames is None else _concat(frames, inputs)
    return groups, sizes, held


def _count(
    counted: pl.DataFrame,
    batches: Sequence[LoggedBatch],
    groups: dict[tuple[str, int], list[str]],
    sizes: dict[tuple[str, int], int],
) -> None:
    """Add ``batch, version, window, len`` counts to ``groups`` (each (version, window)'s batches
    in log order) and ``sizes``."""
    for index, version, start, rows in counted.sort("batch", "version", "window").iter_rows():
        groups[(version, start)].append(batches[index].batch_id)
        sizes[(version, start)] += rows


def _columns(inputs: Sequence[str]) -> list[str]:
    return [
        "version",
        "window",
        "key",
        "score",
        "class_scores",
        *(INPUT_PREFIX + n for n in inputs),
    ]


def _concat(frames: list[pl.DataFrame], inputs: Sequence[str]) -> pl.DataFrame:
    if frames:
        return pl.concat(frames, how="diagonal_relaxed")
    schema: dict[str, Any] = {
        "version": pl.String,
        "window": pl.Int64,
        "key": pl.String,
        "score": pl.Float64,
        "class_scores": pl.List(pl.Float64),
    }
    schema.update({INPUT_PREFIX + n: pl.Null for n in inputs})
    return pl.DataFrame(schema=schema)


def _rows(
    batches: Sequence[LoggedBatch], step: Cutter, inputs: Sequence[str], needs: Sequence[Need]
) -> pl.DataFrame:
    """What performance needs of the windows of ``needs`` (version, window, key, score and the
    segment inputs; one columnar scan per batch with rows in them)."""
    starts = sorted({to_us(n.window.start) for n in needs})
    wanted = {b for n in needs for b in n.batch_ids}
    frames: list[pl.DataFrame] = []
    for batch in batches:
        if batch.batch_id not in wanted or not starts:
            continue
        scan = scan_batch(batch, step, inputs, start_us=starts[0], end_us=starts[-1] + 1)
        frame = scan.filter(pl.col("window").is_in(starts)).select(_columns(inputs)).collect()
        if frame.height:
            frames.append(frame)
    return _concat(frames, inputs)


def _window_starts(
    seen: Sequence[int], step: Cutter, lo_us: int | None, hi_us: int | None
) -> list[int]:
    """Windows with rows, and the empty ones between them (or across an explicit range)."""
    if lo_us is not None and hi_us is not None:
        first, last = lo_us, hi_us - 1
    elif seen:
        first, last = min(seen), max(seen)
    else:
        return []
    if last < first:
        return []
    starts = step.starts(first, last, MAX_WINDOWS)
    if starts is None:
        raise CharterError(
            f"more than {MAX_WINDOWS} windows of {step.text} in the range",
            hint="Use a larger --window, or narrow the range with --since and --until.",
        )
    return starts


def _result(
    name: str, version: str, status: str, win: Window, body: dict[str, Any], size: str
) -> WindowResult:
    data = {
        "charter": name,
        "version": version,
        "status": status,
        "window": size,
        "start": win.start.isoformat(),
        "end": win.end.isoformat(),
        **body,
    }
    return WindowResult(version, win.start, win.end, str(body["verdict"]), data)


class _Run:
    """What the versions of one run share: the charter, the log, references and statuses."""

    def __init__(
        self,
        ws: Workspace,
        charter: Charter,
        batches: Sequence[LoggedBatch],
        step: Cutter,
        columns: Sequence[MonitoredColumn],
        labels: pl.DataFrame,
    ) -> None:
        self.ws, self.charter, self.batches, self.step = ws, charter, batches, step
        self.columns, self.labels = columns, labels
        self.origin = reference_origin(charter)
        with ws.db.read() as session:
            found = session.execute(
                sa.select(ModelVersion.version, ModelVersion.status).where(
                    ModelVersion.charter == charter.name
                )
            ).all()
        self.statuses: dict[str, str] = {str(r.version): str(r.status) for r in found}
        self._plans: dict[str, SummaryPlan] = {}

    def status(self, version: str) -> str:
        return self.statuses.get(version, version if not version.isdigit() else "unknown")

    def plan(self, version: str) -> SummaryPlan:
        if version not in self._plans:
            reference = self.reference(version)
            self._plans[version] = SummaryPlan(self.columns, score_range(self.charter), reference)
        return self._plans[version]

    def reference(self, version: str) -> Reference | None:
        found = load_reference(self.ws, self.charter.name, version, self.origin)
        if found is not None or self.origin == REGISTRATION:
            return found
        built = self._window_reference(version)
        if built is not None:
            with self.ws.db.session() as session:
                self.ws.db.serialize(session, f"monitor:{self.charter.name}")
                store_reference(self.ws, session, self.charter.name, version, built)
        return built

    def _window_reference(self, version: str) -> Reference | None:
        start, end = parse_period(self.charter.operations.monitor.reference)
        lo, hi = to_us(start), to_us(end)
        names = [c.name for c in self.columns]
        frames = [
            scan_batch(b, 1, names)
            .filter(pl.col("version") == version, pl.col("event_us").is_between(lo, hi, "left"))
            .collect()
            for b in self.batches
        ]
        frames = [f for f in frames if f.height]
        if not frames:
            return None
        rows = pl.concat(frames, how="diagonal_relaxed").join(self.labels, on="key", how="left")
        inputs = rows.select(pl.col(INPUT_PREFIX + n).alias(n) for n in names)
        scored = version != UNSCORED
        classes = self.charter.classes()
        probabilities = class_matrix(rows["class_scores"], len(classes)) if classes else None
        return build_reference(
            self.charter,
            inputs,
            scores=rows["score"].to_numpy() if scored else None,
            labels=rows["label"].to_numpy() if scored else None,
            origin=self.origin,
            source={"period": self.charter.operations.monitor.reference},
            probabilities=probabilities if scored else None,
        )


# -- reading stored results ---------------------------------------------------------------------
def stored_windows(
    ws: Workspace,
    name: str,
    *,
    window: WindowValue | str | None = None,
    latest: int | None = None,
    start: datetime | None = None,
) -> list[WindowResult]:
    """Every stored window of the charter's window size (or ``window``), oldest first; with
    ``latest``, only the ``latest`` newest windows of each version; with ``start``, only those
    starting then.

    Each window's ``status`` is its version's status in the registry *now* (a rollback since the
    last ``monitor`` run shows at once); the status when it was evaluated stays in
    ``status_at_evaluation``.
    """
    charter = ws.load(name).charter
    size = cutter(_as_size(window, charter), charter)
    found = read_windows(ws, charter.name, size=size, latest=latest, start=start)
    return with_current_status(found, current_statuses(ws, charter.name))


def windows_of(
    ws: Workspace,
    charters: Sequence[Charter],
    statuses: Mapping[str, Mapping[str, str]],
    *,
    latest: int | None = None,
    verdicts_only: bool = False,
) -> dict[str, list[WindowResult]]:
    """:func:`stored_windows` of charters already loaded, each in its own window size, with the
    versions' statuses the caller read from the registry (``statuses``: name -> version ->
    status): no charter loaded twice, one query for all (the dashboard). ``verdicts_only``:
    each window's version, span and verdict, its ``data`` only the status."""
    sizes = {c.name: cutter(c.sufficiency.window, c) for c in charters}
    found = read_windows_of(ws, sizes, latest=latest, verdicts_only=verdicts_only)
    return {n: with_current_status(w, dict(statuses.get(n, {}))) for n, w in found.items()}


def current_statuses(ws: Workspace, name: str) -> dict[str, str]:
    """Every version of ``name`` and its status in the registry, read now."""
    with ws.db.read() as session:
        rows = session.execute(
            sa.select(ModelVersion.version, ModelVersion.status).where(ModelVersion.charter == name)
        ).all()
    return {str(r.version): str(r.status) for r in rows}


def with_current_status(
    results: Sequence[WindowResult], statuses: dict[str, str]
) -> list[WindowResult]:
    """``results`` with each numbered version's status replaced by ``statuses`` (the registry's)."""
    out = []
    for r in results:
        data = dict(r.data)
        then = data.get("status")
        data["status_at_evaluation"] = then
        data["status"] = statuses.get(r.version, then)
        out.append(WindowResult(r.version, r.start, r.end, r.verdict, data))
    return out


def latest_windows(
    ws: Workspace, name: str, *, window: WindowValue | str | None = None, count: int = 1
) -> list[WindowResult]:
    """The ``count`` latest stored windows of each version, newest version first."""
    per_version: dict[str, list[WindowResult]] = defaultdict(list)
    for result in stored_windows(ws, name, window=window):
        per_version[result.version].append(result)
    out = []
    for version in sorted(per_version, key=version_key, reverse=True):
        out += per_version[version][-count:]
    return out
