"""What each dashboard page shows, composed from charter's services (no SQL, no rule of its own).

Every function takes the workspace of the signed-in caller and returns plain data for a template:
the overview (:func:`overview`), one charter's page (:func:`charter_page`) and one decision's
page (:func:`decision_page`). Sentences are
written here, once, in plain language; the numbers behind them are one click below on the page.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from charter.alerts.raising import SEVERITIES, AlertInfo, list_alerts, open_alert_counts
from charter.errors import CharterError
from charter.identity import canonical
from charter.lifecycle.decisions import (
    DecisionInfo,
    get_decision,
    list_decisions,
    open_decisions_of,
)
from charter.lifecycle.evidence import Evidence, decision_evidence
from charter.monitoring.report import Band, Series, rule_chart
from charter.monitoring.service import WindowResult, windows_of
from charter.plumbing.batch_history import (
    BatchInfo,
    batch_totals,
    batch_totals_of,
    recent_batches,
)
from charter.registry.suspension import current_suspensions
from charter.registry.versions import VersionInfo, list_versions, list_versions_of
from charter.schemas.oversight import Suspension
from charter.server.dashboard.svg import PALETTE, bands_for, versions_chart
from charter.server.views import load
from charter.services.oversight import as_schema, may_resume, may_suspend, suspension_under
from charter.spec.model import Charter
from charter.tokens import TokenInfo
from charter.workspace import Workspace

STRIP = 8  # windows in the overview's verdict strip
CHART_WINDOWS = 26  # windows per chart on a charter's page (half a year of weekly windows)
SHOWN_VERSIONS = ("live", "shadow", "standby")
SHOWN_ALERTS = 20  # the latest seen alerts on a charter's page


def ago(delta: timedelta) -> str:
    """``3 days``, ``5 hours``, ``12 minutes``: the largest whole unit of ``delta``."""
    seconds = abs(int(delta.total_seconds()))
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            n = seconds // size
            return f"{n} {unit}{'s' if n != 1 else ''}"
    return "less than a minute"


def day(moment: datetime | None) -> str:
    return "never" if moment is None else f"{moment:%d %b %Y}".lstrip("0")


@dataclass(frozen=True)
class Waiting:
    """An open decision: how long it has waited and how long is left before its deadline."""

    decision: DecisionInfo
    waited: timedelta
    left: timedelta

    @property
    def overdue(self) -> bool:
        return self.left < timedelta(0)

    @property
    def text(self) -> str:
        when = f"{ago(self.left)} overdue" if self.overdue else f"{ago(self.left)} left"
        return f"version {self.decision.version}: waiting {ago(self.waited)} ({when})"


@dataclass
class Summary:
    """One charter on the overview; ``rank`` sorts what needs a person first."""

    name: str
    charter: Charter | None = None
    error: str | None = None
    versions: list[VersionInfo] = field(default_factory=list)
    strip: list[WindowResult] = field(default_factory=list)
    alerts: dict[str, int] = field(default_factory=dict)
    waiting: list[Waiting] = field(default_factory=list)
    newest_batch: datetime | None = None
    quarantined_share: float | None = None
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    suspension: Suspension | None = None  # the model stopped deciding (charter suspend)
    # each version's latest windows (their verdicts only, unless read for a charter's page)
    recent: list[WindowResult] = field(default_factory=list)

    @property
    def live(self) -> VersionInfo | None:
        return next((v for v in self.versions if v.status == "live"), None)

    @property
    def rank(self) -> tuple[int, ...]:
        latest = self.strip[-1].verdict if self.strip else None
        return (
            -int(self.error is not None),
            -int(self.suspension is not None),
            -sum(w.overdue for w in self.waiting),
            -len(self.waiting),
            -self.alerts.get("critical", 0),
            -int(latest == "breach"),
            -self.alerts.get("warning", 0),
            -int(latest == "warn"),
        )

    @property
    def needs_person(self) -> bool:
        return self.rank != (0,) * len(self.rank)

    @property
    def freshness(self) -> str:
        if self.newest_batch is None:
            return "no batch yet"
        return f"newest batch {ago(self.now - self.newest_batch)} ago"

    @property
    def headline(self) -> str:
        """``Version 3 has been live since 4 Jun 2026; sufficient in 5 of the last 6 windows; …``"""
        if self.error is not None:
            return f"The charter file cannot be read: {self.error}"
        live = self.live
        if self.suspension is not None:  # first: nothing it scores is acted on
            stop = self.suspension
            return (
                f"Suspended since {day(stop.suspended_at)} by {stop.suspended_by} "
                f"({stop.reason}): nothing it scores is acted on until the owner resumes it"
            )
        parts = [
            f"Version {live.version} has been live since {day(live.status_changed_at)}"
            if live
            else "No version is live yet"
        ]
        if self.strip:
            good = sum(w.verdict == "pass" for w in self.strip)
            parts.append(f"sufficient in {good} of the last {len(self.strip)} windows")
        else:
            parts.append("no monitoring window yet")
        if self.waiting:
            first = self.waiting[0]
            count = (
                "one decision waits"
                if len(self.waiting) == 1
                else f"{len(self.waiting)} decisions wait"
            )
            when = "overdue" if first.overdue else f"{ago(first.left)} left"
            parts.append(f"{count} for the owner ({when})")
        return "; ".join(parts)


def _waiting(charter: Charter, decisions: list[DecisionInfo], now: datetime) -> list[Waiting]:
    deadline = charter.operations.decision_deadline
    found = [Waiting(d, now - d.opened_at, deadline - (now - d.opened_at)) for d in decisions]
    return sorted(found, key=lambda w: w.left)


def _strip_of(windows: list[WindowResult], versions: list[VersionInfo]) -> list[WindowResult]:
    """The latest windows of the live version (of the newest version judged, before go-live)."""
    live = next((str(v.version) for v in versions if v.status == "live"), None)
    chosen = [w for w in windows if w.version == live] if live else []
    if not chosen and windows:
        chosen = [w for w in windows if w.version == windows[-1].version]
    return chosen[-STRIP:]


def summary(
    ws: Workspace,
    name: str,
    now: datetime | None = None,
    *,
    latest: int = STRIP,
    charter: Charter | None = None,
    results: bool = False,
) -> Summary:
    """One charter's line on the overview (an unreadable charter file becomes an error line).

    Only the ``latest`` windows of each version are read (``recent``): the strip shows the
    last :data:`STRIP`, a charter's page charts more; only their verdicts unless ``results``
    (a charter's page: its charts and drift map need every rule and input). ``charter``: the
    terms in force, when the caller loaded them already (a charter is loaded once per page).
    """
    moment = now or datetime.now(UTC)
    try:
        charter = charter or ws.load(name).charter
    except CharterError as exc:
        return Summary(name, error=exc.message, now=moment)
    try:
        suspended = suspension_under(ws, charter)
    except CharterError as exc:  # a tampered suspension row: shown, never hidden
        return Summary(name, error=exc.message, now=moment)
    versions = list_versions(ws, charter.name)
    totals = batch_totals(ws, charter.name)
    severities = open_alert_counts(ws, [charter.name])[charter.name]
    statuses = {charter.name: {str(v.version): v.status for v in versions}}
    recent = windows_of(
        ws, [charter], statuses, latest=max(latest, STRIP), verdicts_only=not results
    )[charter.name]
    return Summary(
        charter.name,
        charter,
        versions=versions,
        strip=_strip_of(recent, versions),
        alerts={s: severities.get(s, 0) for s in reversed(SEVERITIES)},
        waiting=_waiting(charter, list_decisions(ws, charter.name), moment),
        newest_batch=totals.newest_ingested_at,
        quarantined_share=totals.quarantined_share,
        now=moment,
        suspension=suspended,
        recent=recent,
    )


def summaries(ws: Workspace, names: list[str], now: datetime | None = None) -> list[Summary]:
    """:func:`summary` of every charter of ``names``, with one query per kind for all of them
    (the overview with fifty charters reads as much as with one). When a row does not match
    the ledger, the charters are read one by one, so the refusal is that charter's line only."""
    moment = now or datetime.now(UTC)
    loaded = ws.load_many(names)
    charters = [item.charter for item in loaded if not isinstance(item, CharterError)]
    known = [c.name for c in charters]
    try:
        stops = current_suspensions(ws, known)
        versions = list_versions_of(ws, known)
    except CharterError:
        return [_alone(ws, name, moment) for name in names]
    totals = batch_totals_of(ws, known)
    alerts = open_alert_counts(ws, known)
    decisions = open_decisions_of(ws, known)
    statuses = {n: {str(v.version): v.status for v in vs} for n, vs in versions.items()}
    windows = windows_of(ws, charters, statuses, latest=STRIP, verdicts_only=True)
    out = []
    for name, item in zip(names, loaded, strict=True):
        if isinstance(item, CharterError):
            out.append(Summary(name, error=item.message, now=moment))
            continue
        c = item.charter
        stop = stops[c.name]
        out.append(
            Summary(
                c.name,
                c,
                versions=versions[c.name],
                strip=_strip_of(windows[c.name], versions[c.name]),
                alerts={s: alerts[c.name].get(s, 0) for s in reversed(SEVERITIES)},
                waiting=_waiting(c, decisions[c.name], moment),
                newest_batch=totals[c.name].newest_ingested_at,
                quarantined_share=totals[c.name].quarantined_share,
                now=moment,
                suspension=as_schema(stop, c) if stop is not None else None,
                recent=windows[c.name],
            )
        )
    return out


def _alone(ws: Workspace, name: str, moment: datetime) -> Summary:
    try:
        return summary(ws, name, moment)
    except CharterError as exc:  # a tampered version row: this charter's line says so
        return Summary(name, error=exc.message, now=moment)


def overview(ws: Workspace) -> list[Summary]:
    """Every charter, what needs a person first, then by name."""
    found = summaries(ws, ws.charter_names())
    return sorted(found, key=lambda s: (s.rank, s.name))


def can_decide(token: TokenInfo, charter: Charter) -> bool:
    """An owner-role token of the charter's owner or of a delegate it names."""
    return token.allows("owner") and token.identity in {canonical(d) for d in charter.deciders()}


def oversight_rights(token: TokenInfo, charter: Charter | None) -> dict[str, bool]:
    """Which of the oversight forms a page offers: ``can_suspend`` (the owner, a delegate or a
    steward) and ``can_resume`` (the owner or a delegate), each with an owner-role token, as
    ``charter suspend|resume --token`` needs. The service decides again when the form is sent."""
    if charter is None or not token.allows("owner"):
        return {"can_suspend": False, "can_resume": False}
    return {
        "can_suspend": may_suspend(charter, token.identity),
        "can_resume": may_resume(charter, token.identity),
    }


@dataclass(frozen=True)
class RuleSeries:
    """One sufficiency rule of one version over its latest windows: a chart and its table."""

    title: str
    version: str
    status: str
    svg: str
    rows: list[dict[str, Any]]


@dataclass(frozen=True)
class DriftCell:
    """One input in one window: the judged drift method's value against its warn/breach levels.

    ``others`` are the methods computed but not judged (name, value, p-value); ``stats`` the
    window's summary of the input (mean, std, min, max or distinct/unseen values, nulls).
    """

    feature: str
    window: str
    anchor: str
    status: str
    method: str | None = None
    value: float | None = None
    warn: float | None = None
    breach: float | None = None
    others: tuple[tuple[str, float | None, float | None], ...] = ()
    stats: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class DriftMap:
    """Inputs × windows of one version, each cell its drift level (a table, coloured)."""

    version: str
    status: str
    windows: list[str]
    features: list[str]
    cells: dict[str, list[DriftCell]]
    starts: list[str] = field(default_factory=list)  # each window's ISO start (for its link)

    @property
    def details(self) -> list[DriftCell]:
        """Every cell, window by window: the targets of the map's links."""
        return [self.cells[f][i] for i in range(len(self.windows)) for f in self.features]


SCORE = "model score"  # the row of the score's own drift
_STATS = ("mean", "std", "min", "max", "distinct", "unseen", "null_fraction")


def _drift_cell(
    feature: str, window: str, anchor: str, methods: dict[str, Any], stats: dict[str, Any]
) -> DriftCell:
    judged = next(((n, m) for n, m in methods.items() if m.get("judged")), None)
    others = tuple(
        (n, m.get("value"), m.get("p_value")) for n, m in methods.items() if not m.get("judged")
    )
    kept = {k: stats[k] for k in _STATS if k in stats}
    if judged is None:
        return DriftCell(feature, window, anchor, "not_computable", others=others, stats=kept)
    name, m = judged
    status = m.get("status") or "not_computable"
    return DriftCell(
        feature, window, anchor, status, name, m.get("value"), m.get("warn"), m.get("breach"),
        others, kept,
    )  # fmt: skip


def drift_map(version: str, status: str, windows: list[WindowResult]) -> DriftMap | None:
    """The drift heat map of ``windows`` (one version's, oldest first); None without drift."""
    shown = [w for w in windows if w.data.get("drift")]
    if not shown:
        return None
    inputs = sorted({c for w in shown for c in w.data["drift"]})
    features = [*inputs, SCORE]
    labels = [f"{w.start:%Y-%m-%d}" for w in shown]
    cells: dict[str, list[DriftCell]] = {f: [] for f in features}
    for i, w in enumerate(shown):
        quality = w.data.get("quality", {})
        for j, feature in enumerate(features):
            if feature == SCORE:
                methods, stats = w.data.get("score_drift") or {}, quality.get("score") or {}
            else:
                methods = w.data["drift"].get(feature) or {}
                stats = quality.get("columns", {}).get(feature) or {}
            anchor = f"drift-v{version}-w{i}-f{j}"
            cells[feature].append(_drift_cell(feature, labels[i], anchor, methods, stats))
    return DriftMap(version, status, labels, features, cells, [w.start.isoformat() for w in shown])


def shown_drift(head: Summary) -> DriftMap | None:
    """The drift map a charter's page shows: the live version's latest windows (the newest
    judged version's before go-live), from ``head.recent`` (a :func:`summary` with results)."""
    if not head.strip:
        return None
    version = head.strip[-1].version
    mine = [w for w in head.recent if w.version == version][-CHART_WINDOWS:]
    return drift_map(version, str(head.strip[-1].data.get("status", "")), mine)


def drift_head(ws: Workspace, name: str) -> Summary:
    """The summary a charter's page starts from: the latest :data:`CHART_WINDOWS` windows of
    each version with their results (``name`` from a URL: a charter's name or 404)."""
    head = summary(ws, name, latest=CHART_WINDOWS, charter=load(ws, name).charter, results=True)
    if head.error is not None:
        raise CharterError(head.error)
    return head


@dataclass
class CharterPage:
    summary: Summary
    rules: list[RuleSeries]
    alerts: list[AlertInfo]
    batches: list[BatchInfo]
    digests: dict[int, str] = field(default_factory=dict)  # waiting version -> evidence digest
    drift: DriftMap | None = None
    compared: list[RuleComparison] = field(default_factory=list)  # versions on the same chart


def _rule_title(rule: dict[str, Any]) -> str:
    sign, bound = (
        ("≥", rule["at_least"]) if rule["at_least"] is not None else ("≤", rule["at_most"])
    )
    segment = f" in {rule['segment']}" if rule.get("segment") else ""
    return f"{rule['metric']}{segment} {sign} {bound}"


def _rule_series(version: str, status: str, windows: list[WindowResult]) -> list[RuleSeries]:
    judged = [w for w in windows if w.data.get("rules")]
    if not judged:
        return []
    out = []
    for index, rule in enumerate(judged[-1].data["rules"]):
        bound = rule["at_least"] if rule["at_least"] is not None else rule["at_most"]
        rows = []
        for w in judged:
            rules = w.data["rules"]
            found = rules[index] if index < len(rules) else {}
            rows.append(
                {
                    "window": f"{w.start:%Y-%m-%d}",
                    "value": found.get("value"),
                    "status": found.get("status"),
                    "labels": found.get("labels"),
                    "threshold": found.get("threshold", bound),
                }
            )
        title = _rule_title(rule)
        out.append(RuleSeries(title, version, status, rule_chart(judged, index), rows))
    return out


@dataclass(frozen=True)
class RuleComparison:
    """One sufficiency rule with every shown version on the same windows (a challenger against
    the champion), over the owner's pass / warn / breach bands: a chart and its table.

    ``versions`` are (version, status), live first; each row is a window with one cell per
    version, in that order (``None``: that version has no judged window there).
    """

    title: str
    svg: str
    versions: list[tuple[str, str]]
    rows: list[dict[str, Any]]
    bands: list[Band]


# The champion drawn solid; challengers and the standby dashed, with open points.
_STYLE = {"live": (PALETTE[0], False), "shadow": (PALETTE[3], True), "standby": (PALETTE[6], True)}


def _compared(shown: list[tuple[str, str]], windows: list[WindowResult]) -> list[RuleComparison]:
    """Per rule, the shown versions' values on the union of their latest windows."""
    mine = {v: [w for w in windows if w.version == v and w.data.get("rules")] for v, _ in shown}
    judged = sorted((w for ws_ in mine.values() for w in ws_), key=lambda w: w.start)
    if len(shown) < 2 or not judged:
        return []
    starts = sorted({w.start for w in judged})[-CHART_WINDOWS:]
    labels = [f"{start:%Y-%m-%d}" for start in starts]
    at = {(w.version, w.start): w for w in judged}
    out = []
    for index, rule in enumerate(judged[-1].data["rules"]):
        title = _rule_title(rule)

        def cell(version: str, start: datetime, index: int = index, title: str = title) -> Any:
            w = at.get((version, start))
            rules = w.data["rules"] if w is not None else []
            found = rules[index] if index < len(rules) else None
            return found if found is not None and _rule_title(found) == title else None

        grid = {v: [cell(v, start) for start in starts] for v, _ in shown}
        lines = [
            Series(f"v{v} ({status})", [c and c.get("value") for c in grid[v]], *_STYLE[status])
            for v, status in shown
        ]
        bands = bands_for(rule["at_least"], rule["at_most"], rule.get("warn_at"))
        rows = [
            {"window": label, "cells": [grid[v][i] or {} for v, _ in shown]}
            for i, label in enumerate(labels)
        ]
        chart = versions_chart(f"{title}: versions compared", labels, lines, bands)
        out.append(RuleComparison(title, chart, shown, rows, bands))
    return out


def charter_page(ws: Workspace, name: str) -> CharterPage:
    """One charter: its summary, each rule over time per shown version, alerts and batches.

    ``name`` comes from a URL: it must be a charter's name (never a path), else 404.
    """
    head = drift_head(ws, name)
    windows = head.recent
    rules: list[RuleSeries] = []
    for v in head.versions:
        if v.status in SHOWN_VERSIONS:
            mine = [w for w in windows if w.version == str(v.version)][-CHART_WINDOWS:]
            rules += _rule_series(str(v.version), v.status, mine)
    order = {status: i for i, status in enumerate(SHOWN_VERSIONS)}
    shown = sorted(
        ((str(v.version), v.status) for v in head.versions if v.status in SHOWN_VERSIONS),
        key=lambda vs: (order[vs[1]], -int(vs[0])),
    )
    drift = shown_drift(head)
    alerts = list_alerts(ws, head.name, "all", limit=SHOWN_ALERTS)  # the latest seen first
    digests = {
        w.decision.version: decision_evidence(ws, head.name, w.decision.version).digest
        for w in head.waiting
    }
    batches = recent_batches(ws, head.name, limit=15)
    compared = _compared(shown, windows)
    return CharterPage(head, rules, alerts, batches, digests, drift, compared)


@dataclass
class DecisionPage:
    """One decision: what is asked, the evidence with its digest, who decides and by when."""

    summary: Summary
    decision: DecisionInfo
    evidence: Evidence | None  # None once decided: the evidence then is the ledger's
    deadline: datetime
    now: datetime

    @property
    def asked(self) -> str:
        d, live = self.decision, self.summary.live
        then = f"; version {live.version} (live now) becomes the standby" if live else ""
        status = self.evidence.status if self.evidence else "shadow"
        return f"Put version {d.version} live, from {status}{then}"

    @property
    def deciders(self) -> list[str]:
        return self.summary.charter.deciders() if self.summary.charter else []

    @property
    def left(self) -> str:
        gap = self.deadline - self.now
        return f"{ago(gap)} overdue" if gap < timedelta(0) else f"{ago(gap)} left"

    def rule_rows(self, index: int) -> list[dict[str, Any]]:
        """Rule ``index`` side by side per window: the challenger's and the live version's."""
        out = []
        for span in self.evidence.spans if self.evidence else ():
            mine = span.challenger.rules[index] if span.challenger else {}
            theirs = span.live.rules[index] if span.live else {}
            out.append(
                {"window": f"{span.start:%Y-%m-%d}", "shared": span.shared, "challenger": mine,
                 "live": theirs}
            )  # fmt: skip
        return out


def decision_page(ws: Workspace, name: str, decision_id: int) -> DecisionPage:
    """A decision's page; the evidence (and its digest) is gathered only while it is open."""
    head = summary(ws, name, charter=load(ws, name).charter)
    if head.error is not None or head.charter is None:
        raise CharterError(head.error or "the charter file cannot be read")
    decision = get_decision(ws, head.name, decision_id)
    evidence = (
        decision_evidence(ws, head.name, decision.version) if decision.status == "open" else None
    )
    deadline = decision.opened_at + head.charter.operations.decision_deadline
    return DecisionPage(head, decision, evidence, deadline, head.now)
