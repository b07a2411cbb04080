"""Stored monitoring results: window rows, per-(batch, window) summaries, and reading them back.

``monitor_windows`` holds one row per (charter, version, window start, window end): the result
JSON, the verdict, and the window's merged summaries with the *basis* they were binned on and a
digest of the batches merged. ``monitor_batch_summaries`` holds the summary of each
(batch, version, window) group. A run asks :class:`ResultStore` for the summaries of the windows
it evaluates; the store answers, cheapest first:

1. the window's own merged summaries, when its basis and batches are unchanged;
2. else the merge of the stored batch summaries of this basis;
3. computing only the missing (batch, window) groups, reading each of their batch files once.

:meth:`ResultStore.commit` then writes, in one transaction, the new batch summaries and every
window whose result changed, with a ``window.evaluated`` ledger entry when its verdict is new or
moved. A window whose result is unchanged is not written at all.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, defer

from charter.engines.base import Engine
from charter.monitoring.cutting import Cutter
from charter.monitoring.reference import pack, unpack
from charter.monitoring.windows import (
    LoggedBatch,
    SummaryPlan,
    Window,
    WindowSummary,
    as_cutter,
    batches_digest,
    from_us,
    merge_window,
    size_us,
    summarise_batches,
    to_us,
)
from charter.schemas import monitoring as schemas
from charter.store.tables import MonitorBatchSummary, MonitorWindow
from charter.workspace import Workspace

WindowKey = tuple[str, int, int]  # version, start µs, end µs


@dataclass(frozen=True)
class WindowResult:
    """One evaluated window of one version; :meth:`to_dict` is the JSON scripts rely on."""

    version: str
    start: datetime
    end: datetime
    verdict: str
    data: Mapping[str, Any]

    def to_schema(self) -> schemas.Window:
        return schemas.Window.model_validate(dict(self.data))

    def to_dict(self) -> dict[str, Any]:
        return self.to_schema().to_json_dict()


@dataclass(frozen=True)
class Need:
    """A window a run evaluates: its version, bounds and the batches (in log order) in it."""

    version: str
    window: Window
    batch_ids: Sequence[str]

    @property
    def key(self) -> WindowKey:
        return (self.version, *self.window.key)


class ResultStore:
    """The store's side of one run of one charter (see the module docstring)."""

    def __init__(self, ws: Workspace, name: str, engine: Engine | None = None) -> None:
        self.ws, self.name, self.engine = ws, name, engine
        with ws.db.read() as session:
            found = session.scalars(
                sa.select(MonitorWindow)
                .where(MonitorWindow.charter == name)
                .options(defer(MonitorWindow.summaries), defer(MonitorWindow.result))
            )
            self.rows = {(w.version, *_key(w)): (w.id, w.basis, w.batches) for w in found}
        self.new_parts: dict[tuple[str, str, Window], tuple[str, WindowSummary]] = {}
        self.merged: dict[WindowKey, tuple[WindowSummary, str, str]] = {}

    def summaries(
        self,
        needs: Sequence[Need],
        plans: Mapping[str, SummaryPlan],
        batches: Sequence[LoggedBatch],
        step_us: int | Cutter,
    ) -> dict[WindowKey, WindowSummary]:
        """The merged summary of every needed window."""
        out: dict[WindowKey, WindowSummary] = {}
        reuse = {
            self.rows[n.key][0]: n
            for n in needs
            if self.rows.get(n.key, (0, "", ""))[1:]
            == (plans[n.version].basis, batches_digest(n.batch_ids))
        }
        with self.ws.db.read() as session:
            for chunk in _chunks(list(reuse), 200):
                query = sa.select(MonitorWindow.id, MonitorWindow.summaries)
                for row_id, blob in session.execute(query.where(MonitorWindow.id.in_(chunk))):
                    need = reuse[row_id]
                    out[need.key] = WindowSummary.from_dict(unpack(blob), plans[need.version])
        rest = [n for n in needs if n.key not in out]
        parts = self._stored_parts(rest, plans)
        wanted = {
            (b, n.version, to_us(n.window.start))
            for n in rest
            for b in n.batch_ids
            if (b, n.version, n.window) not in parts
        }
        for (batch_id, version, start), part in summarise_batches(
            batches, plans, step_us, wanted, engine=self.engine
        ).items():
            window = Window.cut(start, as_cutter(step_us))
            parts[(batch_id, version, window)] = part
            self.new_parts[(batch_id, version, window)] = (plans[version].basis, part)
        for n in rest:
            found = [parts[(b, n.version, n.window)] for b in n.batch_ids]
            out[n.key] = merge_window(found, plans[n.version])
        for n in needs:
            self.merged[n.key] = (
                out[n.key],
                plans[n.version].basis,
                batches_digest(n.batch_ids),
            )
        return out

    def _stored_parts(
        self, needs: Sequence[Need], plans: Mapping[str, SummaryPlan]
    ) -> dict[tuple[str, str, Window], WindowSummary]:
        wanted: dict[str, set[str]] = defaultdict(set)
        windows: dict[str, set[Window]] = defaultdict(set)
        for n in needs:
            wanted[n.version].update(n.batch_ids)
            windows[n.version].add(n.window)
        parts = {}
        with self.ws.db.read() as session:
            for version, ids in wanted.items():
                plan = plans[version]
                for chunk in _chunks(sorted(ids), 500):
                    for row in session.scalars(
                        sa.select(MonitorBatchSummary).where(
                            MonitorBatchSummary.charter == self.name,
                            MonitorBatchSummary.version == version,
                            MonitorBatchSummary.basis == plan.basis,
                            MonitorBatchSummary.batch_id.in_(chunk),
                        )
                    ):
                        window = Window(*(from_us(k) for k in _key(row)))
                        if window in windows[version]:
                            parts[(row.batch_id, version, window)] = WindowSummary.from_dict(
                                unpack(row.body), plan
                            )
        return parts

    def commit(self, results: Sequence[WindowResult]) -> int:
        """Write new batch summaries and changed windows; ledger the verdicts that moved.
        Returns how many verdicts were new or changed."""
        now, changed = datetime.now(UTC), 0
        with self.ws.db.session() as session:
            self.ws.db.serialize(session, f"monitor:{self.name}")
            self._insert_parts(session, now)
            current = {
                (w.version, *_key(w)): w
                for w in session.scalars(
                    sa.select(MonitorWindow)
                    .where(MonitorWindow.charter == self.name)
                    .options(defer(MonitorWindow.summaries))
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
                    payload = _ledger_payload(result, previous)
                    self.ws.ledger.append(
                        session,
                        "window.evaluated",
                        payload,
                        actor=self.ws.context.who,
                        charter=self.name,
                    )
        return changed

    def _insert_parts(self, session: Session, now: datetime) -> None:
        for (batch_id, version, window), (basis, part) in self.new_parts.items():
            exists = session.scalar(  # another run may have stored it meanwhile
                sa.select(MonitorBatchSummary.id).where(
                    MonitorBatchSummary.charter == self.name,
                    MonitorBatchSummary.version == version,
                    MonitorBatchSummary.batch_id == batch_id,
                    MonitorBatchSummary.window_start == window.start,
                    MonitorBatchSummary.window_end == window.end,
                    MonitorBatchSummary.basis == basis,
                )
            )
            if exists is None:
                session.add(
                    MonitorBatchSummary(
                        charter=self.name,
                        version=version,
                        batch_id=batch_id,
                        window_start=window.start,
                        window_end=window.end,
                        basis=basis,
                        rows=part.freshness.rows,
                        body=pack(part.to_dict()),
                        created_at=now,
                    )
                )
        current = {(version, basis) for (_, version, _), (basis, _) in self.new_parts.items()}
        for version, basis in current:  # summaries binned on an older reference: never read again
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
    return to_us(row.window_start), to_us(row.window_end)


def _chunks(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


# -- reading stored results ---------------------------------------------------------------------
def version_key(version: str) -> tuple[int, int, str]:
    """Numbered versions in numeric order, then ``external`` and ``unscored``."""
    return (0, int(version), "") if version.isdigit() else (1, 0, version)


def stored_windows(
    ws: Workspace,
    name: str,
    *,
    size: timedelta | Cutter,
    latest: int | None = None,
    start: datetime | None = None,
) -> list[WindowResult]:
    """Every stored window of ``name`` of this size (or cut this way), oldest first; with
    ``latest``, only the ``latest`` newest of each version; with ``start``, only the windows
    starting then (one per version).

    The windows' keys are read first and only the chosen windows' results (the large part: drift
    and quality of every input) are read and decoded, so a page showing the latest weeks does not
    decode a year of them.
    """
    return stored_windows_of(ws, {name: size}, latest=latest, start=start)[name]


def stored_windows_of(
    ws: Workspace,
    sizes: Mapping[str, timedelta | Cutter],
    *,
    latest: int | None = None,
    start: datetime | None = None,
    verdicts_only: bool = False,
) -> dict[str, list[WindowResult]]:
    """:func:`stored_windows` of every charter of ``sizes`` (name -> its window size or cut),
    in one query for the keys and one per 500 chosen windows (the overview). With
    ``verdicts_only``, each window's ``data`` is empty: only its version, span and verdict are
    read (what a verdict strip needs), never the results of every input."""
    names = list(sizes)
    with ws.db.read() as session:
        keys = session.execute(
            sa.select(
                MonitorWindow.id,
                MonitorWindow.charter,
                MonitorWindow.version,
                MonitorWindow.window_start,
                MonitorWindow.window_end,
                MonitorWindow.verdict,
            ).where(MonitorWindow.charter.in_(names))
        ).all()
        per_charter: dict[str, list[Any]] = {n: [] for n in names}
        for key in keys:
            per_charter[key.charter].append(key)
        chosen = {
            n: _chosen(found, sizes[n], latest=latest, start=start)
            for n, found in per_charter.items()
        }
        if verdicts_only:
            by_id = {key.id: key for key in keys}
            return {n: [_verdict_of(by_id[i]) for i in ids] for n, ids in chosen.items()}
        rows: dict[int, MonitorWindow] = {}
        every = [i for ids in chosen.values() for i in ids]
        for chunk in _chunks(every, 500):
            found = session.scalars(
                sa.select(MonitorWindow)
                .where(MonitorWindow.id.in_(chunk))
                .options(defer(MonitorWindow.summaries))
            ).all()
            rows.update((row.id, row) for row in found)
        out: dict[str, list[WindowResult]] = {}
        for n, ids in chosen.items():
            out[n] = []
            for row_id in ids:
                row = rows[row_id]
                start_us, end_us = _key(row)
                begin, end = from_us(start_us), from_us(end_us)
                out[n].append(WindowResult(row.version, begin, end, row.verdict, dict(row.result)))
    return out


def _verdict_of(key: Any) -> WindowResult:
    start_us, end_us = to_us(key.window_start), to_us(key.window_end)
    return WindowResult(key.version, from_us(start_us), from_us(end_us), key.verdict, {})


def _chosen(
    keys: Sequence[Any],
    size: timedelta | Cutter,
    *,
    latest: int | None,
    start: datetime | None,
) -> list[int]:
    """The ids of the windows of ``keys`` cut by ``size`` to read, oldest first."""
    cut = as_cutter(size_us(size)) if isinstance(size, timedelta) else size
    spans = [(to_us(row.window_start), to_us(row.window_end)) for row in keys]
    ours = cut.is_window([k[0] for k in spans], [k[1] for k in spans]) if spans else []
    mine = sorted(
        ((begin, version_key(row.version), row.id) for row, (begin, _), m in
         zip(keys, spans, ours, strict=True) if m),
    )  # fmt: skip
    if start is not None:
        mine = [m for m in mine if m[0] == to_us(start)]
    if latest is not None:
        per_version: dict[tuple[int, int, str], list[int]] = defaultdict(list)
        for _, version, row_id in mine:
            per_version[version].append(row_id)
        wanted = {i for ids in per_version.values() for i in ids[-latest:] if latest > 0}
        mine = [m for m in mine if m[2] in wanted]
    return [m[2] for m in mine]
