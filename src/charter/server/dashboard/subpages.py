"""What a charter's sub-pages show: its audit trail, its pipeline, its versions, its drift details, a histogram.

Linked from the charter's page (:func:`charter.server.dashboard.pages.charter_page`), each
composed from the domain's read functions (no SQL here, no rule of its own):

- :func:`audit_page`: the charter's ledger entries, filtered and paginated
  (:mod:`charter.audit.trail`), with the whole ledger's verification (``charter audit verify``);
- :func:`pipeline_page`: volume per day, freshness, late rows, quarantine by rule, failed files
  and schema changes (:mod:`charter.plumbing.pipeline_health`), each chart with its table;
- :func:`versions_page`: every version with its lineage and the decisions taken on it;
- :func:`drift_page`: every cell of the drift heat map with its numbers, window by window;
- :func:`histogram_page`: one input of one window against the reference
  (:mod:`charter.monitoring.histograms`), the drift heat map's click-through.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from urllib.parse import urlencode

from charter.audit.ledger import VerifyReport
from charter.audit.trail import PER_PAGE, TrailEntry, TrailFilter, TrailPage, charter_trail
from charter.errors import CharterError
from charter.lifecycle.decisions import DecisionInfo, list_decisions
from charter.monitoring.histograms import Histogram, window_histogram
from charter.plumbing.batch_history import BatchInfo, recent_batches
from charter.plumbing.pipeline_health import PipelineHealth, pipeline_health
from charter.registry.versions import VersionInfo
from charter.server.dashboard.pages import (
    SCORE,
    DriftMap,
    Summary,
    ago,
    drift_head,
    shown_drift,
    summary,
)
from charter.server.dashboard.svg import PALETTE, Bars, bar_chart
from charter.server.views import load
from charter.workspace import Workspace

FACT_CHARS = 160  # a payload value longer than this is cut on the page (the ledger keeps it whole)


def head(ws: Workspace, name: str) -> Summary:
    """The charter's summary (``name`` from a URL: a charter's name or 404)."""
    found = summary(ws, name, charter=load(ws, name).charter)
    if found.error is not None or found.charter is None:
        raise CharterError(found.error or "the charter file cannot be read")
    return found


def named(ws: Workspace, name: str) -> Summary:
    """The charter's name and terms only, for a page that shows no more of its summary (the
    audit trail, a histogram): no window, version or alert read (``name`` from a URL)."""
    charter = load(ws, name).charter
    return Summary(charter.name, charter)


# -- the audit trail ----------------------------------------------------------------------------
def _day(value: str | None, what: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CharterError(f"{what}: {value!r} is not a date (YYYY-MM-DD)") from None


def trail_filter(params: Mapping[str, str]) -> TrailFilter:
    """The filter a query string asks for; a bad date or page is refused, naming it."""
    page = params.get("page") or "1"
    if not page.isdigit() or int(page) < 1:
        raise CharterError(f"page: {page!r} is not a page number (1, 2, ...)")
    since, until = _day(params.get("since"), "since"), _day(params.get("until"), "until")
    if since and until and since > until:
        raise CharterError(f"since ({since}) is after until ({until})")
    return TrailFilter(
        action=params.get("action") or None,
        actor=params.get("actor") or None,
        since=since,
        until=until,
        page=int(page),
        per_page=PER_PAGE,
    )


@dataclass
class AuditPage:
    summary: Summary
    trail: TrailPage
    verified: VerifyReport

    @property
    def verdict(self) -> str:
        """The ledger's verification in one sentence."""
        v = self.verified
        if v.ok:
            return (
                f"The ledger verifies: {v.entries} entries, the chain intact, {v.checkpoints} "
                f"signed checkpoints valid, {v.state_rows} bound state rows as recorded."
            )
        problems = [v.first_bad.reason] if v.first_bad else []  # it names the entry
        problems += [str(p.get("reason", p)) for p in v.state_problems]
        return "The ledger does NOT verify: " + "; ".join(problems) + "."

    @staticmethod
    def facts(entry: TrailEntry) -> list[tuple[str, str]]:
        """An entry's payload as (key, text) pairs, empty values left out, long ones cut."""
        out = []
        for key, value in entry.payload.items():
            if value in (None, "", [], {}):
                continue
            text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
            out.append((key, text if len(text) <= FACT_CHARS else text[: FACT_CHARS - 1] + "…"))
        return out

    def link(self, page: int) -> str:
        """The query string of page ``page`` under the same filter."""
        f = self.trail.chosen
        chosen = {
            "action": f.action, "actor": f.actor, "since": f.since and f.since.isoformat(),
            "until": f.until and f.until.isoformat(), "page": str(page),
        }  # fmt: skip
        return "?" + urlencode({k: v for k, v in chosen.items() if v})


def audit_page(ws: Workspace, name: str, params: Mapping[str, str]) -> AuditPage:
    chosen = trail_filter(params)
    top = named(ws, name)
    return AuditPage(top, charter_trail(ws.ledger, top.name, chosen), ws.ledger.verify())


# -- the pipeline -------------------------------------------------------------------------------
@dataclass
class PipelinePage:
    summary: Summary
    health: PipelineHealth
    batches: list[BatchInfo]  # the latest, oldest first
    daily_svg: str
    batch_svg: str
    late_svg: str
    rules_svg: str

    @property
    def freshness(self) -> str:
        f = self.health.freshness
        if f.age is None:
            return f"No batch yet: nothing to judge against {f.rule} ({ago(f.expected)})."
        verdict = "within" if f.status == "fresh" else "older than"
        return (
            f"The {f.judged_on} is {ago(f.age)} old: {verdict} the {ago(f.expected)} the "
            f"charter expects ({f.rule})."
        )


BATCHES = 40  # batches in the per-batch charts


def _rows_bars(items: list[Any]) -> list[Bars]:
    return [
        Bars("scored", [b.rows_scored for b in items], PALETTE[0]),
        Bars("quarantined", [b.rows_quarantined for b in items], PALETTE[1]),
    ]


def pipeline_page(ws: Workspace, name: str, days: int = 30) -> PipelinePage:
    top = head(ws, name)
    assert top.charter is not None
    health = pipeline_health(ws, top.charter, days=days)
    batches = list(reversed(recent_batches(ws, top.name, limit=BATCHES)))
    days_shown = [f"{d.day:%m-%d}" for d in health.days]
    daily = bar_chart(
        f"Rows per day of ingestion (last {days} days)",
        days_shown,
        _rows_bars(health.days),
        stacked=True,
    )
    at = [f"{b.ingested_at:%m-%d %H:%M}" for b in batches]
    per_batch = bar_chart(
        f"Rows per batch (the latest {len(batches)})", at, _rows_bars(batches), stacked=True
    )
    late = bar_chart(
        f"Late rows per batch (the latest {len(batches)})",
        at,
        [Bars("late", [b.rows_late for b in batches], PALETTE[2])],
    )
    rules = list(health.quarantine_by_rule.items())
    by_rule = bar_chart(
        "Rows quarantined by rule",
        [r for r, _ in rules],
        [Bars("rows", [n for _, n in rules], PALETTE[1])],
    )
    return PipelinePage(top, health, batches, daily, per_batch, late, by_rule)


# -- versions with lineage ----------------------------------------------------------------------
@dataclass(frozen=True)
class Lineage:
    """One version and what it was made from, read off its registered lineage."""

    version: VersionInfo
    decisions: list[DecisionInfo] = field(default_factory=list)

    def _get(self, *path: str) -> Any:
        found: Any = self.version.lineage
        for key in path:
            found = found.get(key) if isinstance(found, Mapping) else None
        return found

    @property
    def retrain(self) -> Mapping[str, Any]:
        return self._get("metadata", "retrain") or {}

    @property
    def parent(self) -> str:
        parent = self.retrain.get("parent_version")
        return f"v{parent}" if parent else "none (registered by hand)"

    @property
    def training_window(self) -> str:
        window = self.retrain.get("window") or {}
        if not window:
            return "not recorded"
        return f"{str(window.get('start'))[:10]} to {str(window.get('end'))[:10]}"

    @property
    def training_data(self) -> Mapping[str, Any]:
        return self._get("training_data") or {}

    @property
    def code(self) -> str:
        code = self._get("code") or {}
        if not code.get("commit"):
            return "not in git"
        dirty = " (with uncommitted changes)" if code.get("dirty") else ""
        return f"{str(code['commit'])[:12]}{dirty}"

    @property
    def model_class(self) -> str:
        return str(self._get("model", "class") or self.version.flavor)

    @property
    def parameters(self) -> Mapping[str, Any]:
        return self._get("parameters") or {}

    @property
    def approvals(self) -> list[DecisionInfo]:
        return [d for d in self.decisions if d.status == "approved"]


def versions_page(ws: Workspace, name: str) -> tuple[Summary, list[Lineage]]:
    top = head(ws, name)
    decisions = list_decisions(ws, top.name, status=None)
    found = [
        Lineage(v, [d for d in decisions if d.version == v.version])
        for v in sorted(top.versions, key=lambda v: v.version, reverse=True)
    ]
    return top, found


# -- the drift heat map's numbers ---------------------------------------------------------------
@dataclass
class DriftPage:
    summary: Summary
    drift: DriftMap | None  # None: no drift measured yet


def drift_page(ws: Workspace, name: str) -> DriftPage:
    """The drift map a charter's page shows, whose every cell the details page lists with its
    numbers."""
    top = drift_head(ws, name)
    return DriftPage(top, shown_drift(top))


# -- a histogram against the reference ----------------------------------------------------------
@dataclass
class HistogramPage:
    summary: Summary
    histogram: Histogram
    svg: str
    drift: Mapping[str, Any]  # the window's stored drift of this input: method -> result

    @property
    def input(self) -> str:
        return self.histogram.column or SCORE


def histogram_page(
    ws: Workspace, name: str, version: str, start: str, column: str
) -> HistogramPage:
    """``column`` is an input's name or ``model score``; ``start`` the window's ISO start."""
    top = named(ws, name)
    try:
        moment = datetime.fromisoformat(start)
    except ValueError:
        raise CharterError(f"window: {start!r} is not an ISO 8601 time") from None
    chosen = None if column == SCORE else column
    found = window_histogram(ws, top.name, version, moment, chosen)
    labels = [b.short for b in found.bins]
    svg = bar_chart(
        f"{column}: window of {found.start:%Y-%m-%d} against the reference (share of rows)",
        labels,
        [
            Bars("reference", [b.reference_share for b in found.bins], PALETTE[0]),
            Bars(
                f"window of {found.start:%Y-%m-%d}",
                [b.current_share for b in found.bins],
                PALETTE[2],
            ),
        ],
        width=880,
        height=280,
    )
    return HistogramPage(top, found, svg, found.drift)
