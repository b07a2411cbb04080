"""``monitor(ws, name)``: evaluate every window of every version, store the results, report them.

A run:

1. reads the key, score, event time and segment inputs of the prediction log in the requested
   range (columnar, one file per committed batch) and joins the newest labels by key;
2. resolves each version's reference (:mod:`.reference`), building it from a past window when
   the charter asks for one;
3. gets each (version, window) summary by merging per-(batch, window) summaries, computing only
   those of batches not summarised on this basis yet (:mod:`.windows`), or reusing the window's
   merged summary when its batches and basis are unchanged;
4. evaluates quality, drift, performance and the verdict (:mod:`.evaluation`);
5. in one transaction: stores the new batch summaries, upserts each window by
   (charter, version, start, end) and appends ``window.evaluated`` to the ledger for each window
   that is new or whose verdict changed. A re-run on unchanged data writes nothing; labels that
   arrived since change the window's result, and its verdict entry when the verdict moves.

Windows with no rows between a version's first and last window (or over the whole
``since``/``until`` range when both are given) are evaluated too: an empty window is a finding.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import polars as pl
import sqlalchemy as sa
from sqlalchemy.orm import Session

from charter.errors import CharterError
from charter.monitoring.evaluation import evaluate
from charter.monitoring.reference import (
    REGISTRATION,
    Reference,
    build_reference,
    load_reference,
    monitored_columns,
    pack,
    parse_moment,
    parse_period,
    reference_origin,
    score_range,
    store_reference,
    unpack,
)
from charter.monitoring.windows import (
    INPUT_PREFIX,
    MAX_WINDOWS,
    UNSCORED,
    LoggedBatch,
    SummaryPlan,
    Window,
    WindowSummary,
    align,
    batches_digest,
    from_us,
    logged_batches,
    merge_window,
    scan_batch,
    size_us,
    summarise_batches,
    to_us,
)
from charter.plumbing.labels import read_labels
from charter.spec.durations import format_duration, parse_duration
from charter.spec.model import Charter
from charter.store.tables import ModelVersion, MonitorBatchSummary, MonitorWindow
from charter.workspace import Workspace

GroupKey = tuple[str, str, int]  # batch id, version, window start (µs)


@dataclass(frozen=True)
class WindowResult:
    """One evaluated window of one version; :meth:`to_dict` is the JSON scripts rely on."""

    version: str
    start: datetime
    end: datetime
    verdict: str
    data: Mapping[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return dict(self.data)


@dataclass(frozen=True)
class MonitorReport:
    """What a ``monitor`` run evaluated, oldest window first, and how many verdicts moved."""

    charter: str
    window: timedelta
    windows: list[WindowResult]
    verdicts_changed: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "charter": self.charter,
            "window": format_duration(self.window),
            "verdicts_changed": self.verdicts_changed,
            "windows": [w.to_dict() for w in self.windows],
        }


def _as_moment(value: datetime | str | None, where: str) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value if value is None or value.tzinfo else value.replace(tzinfo=UTC)
    return parse_moment(value, where)


def _as_size(value: timedelta | str | None, charter: Charter) -> timedelta:
    if value is None:
        return charter.sufficiency.window
    if isinstance(value, timedelta):
        return value
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise CharterError(f"--window: {exc}") from None


def monitor(
    ws: Workspace,
    name: str,
    *,
    since: datetime | str | None = None,
    until: datetime | str | None = None,
    window: timedelta | str | None = None,
) -> MonitorReport:
    """Evaluate, store and return the windows of ``name`` whose start lies in [since, until)
    (``since`` is rounded down to its window's start); see the module docstring."""
    charter = ws.load(name).charter
    name = charter.name
    size = _as_size(window, charter)
    step = size_us(size)
    lo, hi = _as_moment(since, "--since"), _as_moment(until, "--until")
    lo_us = None if lo is None else to_us(align(lo, size))
    hi_us = None if hi is None else to_us(hi)
    batches = logged_batches(ws, name)
    columns = monitored_columns(charter)
    segment_inputs = sorted({c.name for c in columns} | set(charter.data.feature_columns()))
    rows = _rows(ws, name, batches, step, segment_inputs, lo_us, hi_us)
    labels = read_labels(ws, name)
    rows = rows.join(labels, on="key", how="left") if rows.height else _with_label(rows)
    versions = _order(rows["version"].unique().to_list())
    run = _Run(ws, charter, batches, step, columns, labels)
    groups: dict[tuple[str, int], list[str]] = defaultdict(list)
    for batch_id, version, start in (
        rows.select("batch_id", "version", "window").unique(maintain_order=True).iter_rows()
    ):
        groups[(version, start)].append(batch_id)
    order = {b.batch_id: i for i, b in enumerate(batches)}
    by_window = rows.partition_by(["version", "window"], as_dict=True)
    results, stored = [], _Stored(ws, name)
    for version in versions:
        plan = run.plan(version)
        starts = _window_starts([w for v, w in groups if v == version], step, lo_us, hi_us)
        for start in starts:
            win = Window.at(start, step)
            ids = sorted(groups.get((version, start), []), key=order.__getitem__)
            summary = stored.window_summary(version, win, plan, ids, run)
            part = by_window.get((version, start), rows.clear())
            body = evaluate(charter, version, summary, part, plan.reference, segment_inputs)
            results.append(_result(name, version, run.status(version), win, body, plan))
            stored.remember(version, win, summary, plan.basis(), ids)
    changed = stored.commit(results)
    results.sort(key=lambda r: (r.start, _version_key(r.version)))
    return MonitorReport(name, size, results, changed)


def _with_label(rows: pl.DataFrame) -> pl.DataFrame:
    return rows.with_columns(pl.lit(None, pl.Float64).alias("label"))


def _rows(
    ws: Workspace,
    name: str,
    batches: Sequence[LoggedBatch],
    step: int,
    inputs: Sequence[str],
    lo_us: int | None,
    hi_us: int | None,
) -> pl.DataFrame:
    frames = [scan_batch(b, step, inputs, start_us=lo_us, end_us=hi_us).collect() for b in batches]
    frames = [f for f in frames if f.height]
    if not frames:
        schema: dict[str, Any] = {
            "batch_id": pl.String,
            "version": pl.String,
            "window": pl.Int64,
            "key": pl.String,
            "score": pl.Float64,
            "late": pl.Boolean,
            "event_us": pl.Int64,
            "delay_us": pl.Int64,
        }
        schema.update({INPUT_PREFIX + n: pl.Null for n in inputs})
        return pl.DataFrame(schema=schema)
    return pl.concat(frames, how="diagonal_relaxed")


def _version_key(version: str) -> tuple[int, int, str]:
    return (0, int(version), "") if version.isdigit() else (1, 0, version)


def _order(versions: Iterable[str]) -> list[str]:
    return sorted(versions, key=_version_key)


def _window_starts(
    seen: Sequence[int], step: int, lo_us: int | None, hi_us: int | None
) -> list[int]:
    """Windows with rows, and the empty ones between them (or across an explicit range)."""
    if lo_us is not None and hi_us is not None:
        first, last = lo_us, (hi_us - 1) // step * step
    elif seen:
        first, last = min(seen), max(seen)
    else:
        return []
    count = (last - first) // step + 1
    if count > MAX_WINDOWS:
        raise CharterError(
            f"{count} windows of {format_duration(timedelta(microseconds=step))} in the range: "
            f"more than {MAX_WINDOWS}",
            hint="Use a larger --window, or narrow the range with --since and --until.",
        )
    return list(range(first, last + 1, step)) if count > 0 else []


def _result(
    name: str, version: str, status: str, win: Window, body: dict[str, Any], plan: SummaryPlan
) -> WindowResult:
    data = {
        "charter": name,
        "version": version,
        "status": status,
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
        step: int,
        columns: Sequence[Any],
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
        return build_reference(
            self.charter,
            inputs,
            scores=rows["score"].to_numpy() if scored else None,
            labels=rows["label"].to_numpy() if scored else None,
            origin=self.origin,
            source={"period": self.charter.operations.monitor.reference},
        )


class _Stored:
    """The store's side of a run: cached summaries read, new ones and results written once."""

    def __init__(self, ws: Workspace, name: str) -> None:
        self.ws, self.name = ws, name
        with ws.db.read() as session:
            found = session.scalars(sa.select(MonitorWindow).where(MonitorWindow.charter == name))
            self.windows = {(w.version, *_key(w)): w for w in found}
        self.new_parts: dict[GroupKey, tuple[Window, str, WindowSummary]] = {}
        self.merged: dict[tuple[str, int, int], tuple[WindowSummary, str, str]] = {}

    def window_summary(
        self, version: str, win: Window, plan: SummaryPlan, ids: list[str], run: _Run
    ) -> WindowSummary:
        basis, digest = plan.basis(), batches_digest(ids)
        row = self.windows.get((version, *win.key))
        if row is not None and row.basis == basis and row.batches == digest:
            return WindowSummary.from_dict(unpack(row.summaries), plan)
        parts = self._parts(version, win, plan, basis, ids, run)
        return merge_window([parts[b] for b in ids], plan)

    def _parts(
        self, version: str, win: Window, plan: SummaryPlan, basis: str, ids: list[str], run: _Run
    ) -> dict[str, WindowSummary]:
        parts: dict[str, WindowSummary] = {}
        with self.ws.db.read() as session:
            for chunk in _chunks(ids, 500):
                for row in session.scalars(
                    sa.select(MonitorBatchSummary).where(
                        MonitorBatchSummary.charter == self.name,
                        MonitorBatchSummary.version == version,
                        MonitorBatchSummary.basis == basis,
                        MonitorBatchSummary.batch_id.in_(chunk),
                    )
                ):
                    if _key(row) == win.key:
                        parts[row.batch_id] = WindowSummary.from_dict(unpack(row.body), plan)
        missing = [b for b in run.batches if b.batch_id in set(ids) - set(parts)]
        wanted = {(b.batch_id, version, to_us(win.start)) for b in missing}
        for (batch_id, _, _), part in summarise_batches(
            missing, {version: plan}, run.step, wanted
        ).items():
            parts[batch_id] = part
            self.new_parts[(batch_id, version, to_us(win.start))] = (win, basis, part)
        return parts

    def remember(
        self, version: str, win: Window, summary: WindowSummary, basis: str, ids: list[str]
    ) -> None:
        self.merged[(version, *win.key)] = (summary, basis, batches_digest(ids))

    def commit(self, results: Sequence[WindowResult]) -> int:
        """Write new batch summaries and changed windows; ledger the verdicts that moved."""
        now, changed = datetime.now(UTC), 0
        with self.ws.db.session() as session:
            self.ws.db.serialize(session, f"monitor:{self.name}")
            self._insert_parts(session, now)
            current = {
                (w.version, *_key(w)): w
                for w in session.scalars(
                    sa.select(MonitorWindow).where(MonitorWindow.charter == self.name)
                )
            }
            for result in results:
                key = (result.version, to_us(result.start), to_us(result.end))
                summary, basis, digest = self.merged[key]
                row = current.get(key)
                if row is not None and row.result == result.data and row.batches == digest:
                    continue
                previous = None if row is None else row.verdict
                if row is None:
                    row = MonitorWindow(
                        charter=self.name,
                        version=result.version,
                        window_start=result.start,
                        window_end=result.end,
                        changed_at=now,
                    )
                    session.add(row)
                row.verdict, row.result = result.verdict, dict(result.data)
                row.rows = int(result.data["quality"]["rows"])
                row.labelled = int(result.data["labels"]["labelled"])
                row.basis, row.batches = basis, digest
                row.summaries, row.evaluated_at = pack(summary.to_dict()), now
                if previous != result.verdict:
                    row.changed_at = now
                    changed += 1
                    self.ws.ledger.append(
                        session,
                        "window.evaluated",
                        _ledger_payload(result, previous),
                        actor=self.ws.actor,
                        charter=self.name,
                    )
        return changed

    def _insert_parts(self, session: Session, now: datetime) -> None:
        for (batch_id, version, _), (win, basis, part) in self.new_parts.items():
            exists = session.scalar(
                sa.select(MonitorBatchSummary.id).where(
                    MonitorBatchSummary.charter == self.name,
                    MonitorBatchSummary.version == version,
                    MonitorBatchSummary.batch_id == batch_id,
                    MonitorBatchSummary.window_start == win.start,
                    MonitorBatchSummary.window_end == win.end,
                    MonitorBatchSummary.basis == basis,
                )
            )
            if exists is None:
                session.add(
                    MonitorBatchSummary(
                        charter=self.name,
                        version=version,
                        batch_id=batch_id,
                        window_start=win.start,
                        window_end=win.end,
                        basis=basis,
                        rows=part.freshness.rows,
                        body=pack(part.to_dict()),
                        created_at=now,
                    )
                )
        stale = {(v, basis) for (_, v, _), (_, basis, _) in self.new_parts.items()}
        for version, basis in stale:  # summaries binned on an older reference are never read again
            session.execute(
                sa.delete(MonitorBatchSummary).where(
                    MonitorBatchSummary.charter == self.name,
                    MonitorBatchSummary.version == version,
                    MonitorBatchSummary.basis != basis,
                )
            )


def _ledger_payload(result: WindowResult, previous: str | None) -> dict[str, Any]:
    data = result.data
    return {
        "version": result.version,
        "start": data["start"],
        "end": data["end"],
        "verdict": result.verdict,
        "previous": previous,
        "labels": data["labels"]["labelled"],
        "rules": [
            {k: r.get(k) for k in ("metric", "segment", "status", "value", "labels")}
            for r in data["rules"]
        ],
        "drifted": data["drifted"],
    }


def _key(row: MonitorWindow | MonitorBatchSummary) -> tuple[int, int]:
    return to_us(_aware(row.window_start)), to_us(_aware(row.window_end))


def _aware(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; every stored time is UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _chunks(items: Sequence[str], size: int) -> Iterable[Sequence[str]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


# -- reading stored results ---------------------------------------------------------------------
def stored_windows(
    ws: Workspace, name: str, *, window: timedelta | str | None = None
) -> list[WindowResult]:
    """Every stored window of the charter's window size (or ``window``), oldest first."""
    charter = ws.load(name).charter
    step = size_us(_as_size(window, charter))
    with ws.db.read() as session:
        rows = session.scalars(
            sa.select(MonitorWindow).where(MonitorWindow.charter == charter.name)
        ).all()
    out = []
    for row in rows:
        start_us, end_us = _key(row)
        if end_us - start_us == step:
            start, end = from_us(start_us), from_us(end_us)
            out.append(WindowResult(row.version, start, end, row.verdict, dict(row.result)))
    out.sort(key=lambda r: (r.start, _version_key(r.version)))
    return out


def latest_windows(
    ws: Workspace, name: str, *, window: timedelta | str | None = None, count: int = 1
) -> list[WindowResult]:
    """The ``count`` latest stored windows of each version, newest version first."""
    per_version: dict[str, list[WindowResult]] = defaultdict(list)
    for result in stored_windows(ws, name, window=window):
        per_version[result.version].append(result)
    out = []
    for version in sorted(per_version, key=_version_key, reverse=True):
        out += per_version[version][-count:]
    return out
