"""Weeks in production: degradation, retraining, a challenger, promotion, and a rollback.

Each week brings 7,000 applications as seven daily files (one batch each); the outcomes arrive,
the weeks are judged, and the lifecycle does what a scheduler pass would do. The story:

1. version 1 is live; what drives default moves away from what it learnt: pass, warn, breach;
2. the breach triggers retraining on the latest labelled week; version 2 runs in shadow beside it;
3. the owner is on leave: past the 5-day deadline the scheduler raises the stalled decision to her
   and the stewards, after 8 days it escalates; back, she reads the gate's evidence and approves
   (resolving those alerts); version 1 becomes the standby; she then pre-authorises versions that
   pass the gate (``auto_if_sufficient``);
4. upstream starts reporting income in thousands: the drift alert fires and triggers retraining;
   version 3, trained on those weeks, passes the gate and goes live under the pre-authorisation;
5. upstream fixes the unit: version 3, which learnt the broken one, breaches two weeks running
   while the standby passes on the same weeks, and charter rolls back on its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import polars as pl

from charter.alerts.raising import get_alert, list_alerts
from charter.demo.common import (
    CHARTER,
    ENGINEER,
    LIVE_START,
    OWNER,
    DemoReport,
    Narrate,
    checklist,
)
from charter.demo.data import applications
from charter.demo.pilot import describe
from charter.errors import CharterError, NotAuthorizedError
from charter.governance.changes import accept_change
from charter.lifecycle.authorization import authorize
from charter.lifecycle.decisions import approve, promote
from charter.monitoring.results import WindowResult
from charter.plumbing.ingest import ingest
from charter.plumbing.labels import ingest_labels
from charter.registry.versions import list_versions
from charter.retraining.retrain import retrain
from charter.services.lifecycle import review
from charter.services.monitoring import monitor
from charter.workspace import Workspace

ROWS_PER_WEEK = 7_000


@dataclass(frozen=True)
class Week:
    """One week of live applications: which week after the pilot, and what the world does."""

    number: int
    shift: float  # population drift (lower incomes, more debt)
    concept: float  # what drives default moves away from what version 1 learnt
    thousands: bool = False  # upstream reports income in thousands

    @property
    def start(self) -> datetime:
        return LIVE_START + timedelta(weeks=self.number)


def run_weeks(
    ws: Workspace, report: DemoReport, narrate: Narrate, weeks: Sequence[Week]
) -> list[WindowResult]:
    """Land, ingest, label and judge ``weeks``; raise the alerts they call for; narrate them."""
    landing = ws.root / "landing" / "applications"
    outcomes = []
    for week in weeks:
        frame = applications(
            ROWS_PER_WEEK,
            seed=200 + week.number,
            start=week.start,
            span=timedelta(days=7),
            shift=week.shift,
            concept=week.concept,
            id_offset=2_000_000 + 100_000 * week.number,
        )
        if week.thousands:
            frame = frame.with_columns(pl.col("income") / 1000)
        outcomes.append(frame.select("application_id", "defaulted"))
        day = pl.col("submitted_at").dt.date()
        for (date,), rows in frame.drop("defaulted").group_by(day, maintain_order=True):
            rows.write_parquet(landing / f"{date:%Y-%m-%d}.parquet")
        ingest(ws, CHARTER)
    labels = ws.root / "data" / "labels" / f"outcomes-{weeks[0].start:%Y-%m-%d}.parquet"
    pl.concat(outcomes).write_parquet(labels)
    ingest_labels(ws, CHARTER, labels)
    run = monitor(ws, CHARTER, since=weeks[0].start)
    judged, raised = run.windows, run.raised
    for window in judged:
        data = window.to_dict()
        narrate(f"Week of {window.start:%d %b}", describe(data))
        report.add(
            "window",
            start=data["start"],
            version=int(window.version),
            status=data.get("status"),
            verdict=window.verdict,
            rules={f"{r['metric']}|{r['segment'] or ''}": r["status"] for r in data["rules"]},
            drifted=data.get("drifted") or [],
        )
    for alert in raised:
        narrate("Alert", f"[{alert.severity}] {alert.message}")
    return judged


def weeks_live(ws: Workspace, report: DemoReport, narrate: Narrate) -> None:
    """Version 1 live while the world moves: pass, pass, warn, breach."""
    weeks = [Week(1, 0.0, 0.0), Week(2, 0.1, 0.15), Week(3, 0.2, 0.3), Week(4, 0.3, 0.6)]
    run_weeks(ws, report, narrate, weeks)


def retraining(ws: Workspace, report: DemoReport, narrate: Narrate, *, expected: int) -> int:
    """The charter's triggers are judged on the live version's newest window; one fired."""
    outcome = retrain(ws, CHARTER)
    if outcome.version != expected:
        raise CharterError(
            f"the demo expected retraining to register version {expected}, but: {outcome.message}"
        )
    window = outcome.window
    span = f"{window.start:%d %b}–{window.end:%d %b}" if window else "?"
    narrate(
        "Retraining",
        f"trigger {', '.join(outcome.triggers)} fired on version {outcome.parent}'s week {span}: "
        f"training:fit learnt from its {outcome.rows:,} labelled applications; version "
        f"{outcome.version} registered with that week as lineage and put in shadow",
    )
    report.add(
        "retrain",
        triggers=list(outcome.triggers),
        parent=outcome.parent,
        version=outcome.version,
        rows=outcome.rows,
    )
    return expected


def challenger_and_promotion(ws: Workspace, report: DemoReport, narrate: Narrate) -> None:
    """Version 2 in shadow beside version 1 for two weeks, then the owner's decision."""
    run_weeks(ws, report, narrate, [Week(5, 0.3, 0.6), Week(6, 0.3, 0.6)])
    opened = promote(ws, CHARTER, 2)
    narrate(
        "Promotion",
        f"{ENGINEER} asks the owner to decide (decision {opened.decision.id}):\n"
        + checklist(opened.readiness),
    )
    try:
        approve(ws, CHARTER, 2, by=ENGINEER)
    except NotAuthorizedError as refused:
        narrate("Refused", f"{refused.message} (recorded in the audit ledger)")
    stalled = _owner_away(ws, narrate, opened.decision.opened_at)
    decision = approve(ws, CHARTER, 2, by=OWNER)
    after = [get_alert(ws, CHARTER, a) for a in stalled]
    narrate(
        "Owner approves",
        f"back from leave, {decision.decided_by} puts version 2 live on the evidence, which "
        f"resolves the {len(stalled)} stalled-decision alerts; {_statuses(ws)}",
    )
    report.add(
        "promotion",
        version=2,
        ready=opened.readiness.ready,
        decided_by=decision.decided_by,
        statuses=_status_map(ws),
        stalled_alerts=[a.rule for a in after],
        stalled_alerts_after=[a.status for a in after],
    )
    path = ws.charter_path(CHARTER)
    path.write_text(
        path.read_text().replace("approval: owner}", "approval: auto_if_sufficient}", 1)
    )
    change = accept_change(ws, CHARTER, None, by=OWNER)  # a live charter's terms: her call
    note = "a retrained version that passes the whole gate may go live without waiting for me"
    mode = authorize(ws, CHARTER, by=OWNER, note=note)
    narrate(
        "Pre-authorisation",
        f"the charter file now says approval: auto_if_sufficient; {OWNER} accepts the change "
        f"({change.summary}) and records her decision: “{note}”. {mode.explanation}",
    )
    report.add("authorization", mode=mode.mode, automatic=mode.automatic)


def _owner_away(ws: Workspace, narrate: Narrate, opened_at: datetime) -> list[int]:
    """The owner is on leave: the scheduler's passes 6 and 9 days later (the demo moves their
    clock) raise the stalled decision past the 5-day deadline, then escalate it after 8 days."""
    raised: list[int] = []
    for days in (6, 9):
        later = review(ws, CHARTER, now=opened_at + timedelta(days=days))
        for alert_id in later.alerts:
            alert = get_alert(ws, CHARTER, alert_id)
            told = alert.details.get("to") or [OWNER, *alert.details.get("stewards", [])]
            narrate(
                f"Day {days}, no decision",
                f"[{alert.severity}] {alert.message} (to {', '.join(told)})",
            )
        raised += later.alerts
    return raised


def upstream_unit_change(ws: Workspace, report: DemoReport, narrate: Narrate) -> None:
    """Income arrives in thousands: drift, retraining on it, and a pre-authorised promotion."""
    run_weeks(ws, report, narrate, [Week(7, 0.3, 0.6, thousands=True)])
    retraining(ws, report, narrate, expected=3)
    run_weeks(ws, report, narrate, [Week(8, 0.3, 0.6, thousands=True)])
    passed = review(ws, CHARTER)
    narrate("Scheduler pass", f"{passed.summary}; {_statuses(ws)}")
    report.add("auto_promotion", promoted=passed.promoted, statuses=_status_map(ws))


def unit_fixed(ws: Workspace, report: DemoReport, narrate: Narrate) -> None:
    """Upstream fixes the unit; version 3 learnt the broken one; the standby still works."""
    run_weeks(ws, report, narrate, [Week(9, 0.3, 0.6), Week(10, 0.3, 0.6)])
    passed = review(ws, CHARTER)
    rolled = passed.rolled_back
    narrate(
        "Automatic rollback",
        (rolled.reason.removeprefix("automatic: ") if rolled else "none") + f"; {_statuses(ws)}",
    )
    report.add(
        "rollback",
        automatic=bool(rolled and rolled.automatic),
        rolled_back=rolled.rolled_back if rolled else None,
        restored=rolled.restored if rolled else None,
        evidence=list(rolled.evidence) if rolled else [],
        statuses=_status_map(ws),
    )
    alerts = list_alerts(ws, CHARTER, "all")
    report.add("alerts", events=sorted(a.event for a in alerts))
    counts: dict[str, int] = {}
    for alert in alerts:
        counts[alert.event] = counts.get(alert.event, 0) + 1
    narrate("Alerts", ", ".join(f"{n} {event}" for event, n in sorted(counts.items())))


def _status_map(ws: Workspace) -> dict[str, str]:
    return {str(v.version): v.status for v in list_versions(ws, CHARTER)}


def _statuses(ws: Workspace) -> str:
    return ", ".join(f"v{v} {s}" for v, s in _status_map(ws).items())
