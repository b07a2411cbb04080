"""The pilot: version 1 runs in shadow on the live pipeline, then its owner decides.

Five days of live applications bring what real pipelines deliver (late rows, resent rows, broken
values, a truncated file, an upstream column rename); the outcomes arrive; the pilot's window is
judged against the owner's contract; and the owner approves going live on that evidence, stating
in her own words the shortfall she accepts.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import polars as pl

from charter.alerts.raising import test_routes
from charter.demo.common import (
    CHARTER,
    ENGINEER,
    LIVE_START,
    OWNER,
    DemoReport,
    Narrate,
    checklist,
    number,
)
from charter.demo.data import applications
from charter.errors import NotAuthorizedError
from charter.lifecycle.decisions import approve
from charter.lifecycle.gate import readiness
from charter.plumbing.ingest import ingest
from charter.plumbing.labels import ingest_labels
from charter.services.monitoring import monitor
from charter.workspace import Workspace


def live_days(ws: Workspace, report: DemoReport, narrate: Narrate) -> None:
    """Five days of live applications, each with one of the ways a live pipeline breaks."""
    landing = ws.root / "landing" / "applications"
    landing.mkdir(parents=True, exist_ok=True)
    labels_dir = ws.root / "data" / "labels"
    labels_dir.mkdir(parents=True, exist_ok=True)
    days = [
        applications(
            2_000,
            seed=100 + d,
            start=LIVE_START + timedelta(days=d),
            span=timedelta(days=1),
            id_offset=1_000_000 + 10_000 * d,
        )
        for d in range(5)
    ]
    outcomes = pl.concat([d.select("application_id", "defaulted") for d in days])
    outcomes.write_parquet(labels_dir / "outcomes-pilot.parquet")
    live = [d.drop("defaulted") for d in days]
    files = [landing / f"{LIVE_START + timedelta(days=d):%Y-%m-%d}.parquet" for d in range(5)]

    live[0].write_parquet(files[0])
    _ingest_and_tell(ws, narrate, report, "Day 1", "a clean day")

    late = live[0].head(40).with_columns(pl.col("application_id").str.replace("APP-01", "APP-91"))
    pl.concat([live[1], late]).write_parquet(files[1])
    _ingest_and_tell(
        ws, narrate, report, "Day 2", "40 applications submitted a day earlier arrive late"
    )

    first = pl.int_range(pl.len())
    broken = (
        live[2]
        .head(30)
        .with_columns(
            income=pl.when(first < 10).then(-1.0).otherwise(pl.col("income")),
            employment=pl.when(first.is_between(10, 19))
            .then(pl.lit("student"))
            .otherwise(pl.col("employment")),
            age=pl.when(first >= 20).then(150).otherwise(pl.col("age")),
        )
    )
    resent = live[1].slice(100, 25)
    pl.concat([live[2].slice(30), broken, resent]).write_parquet(files[2])
    _ingest_and_tell(
        ws,
        narrate,
        report,
        "Day 3",
        "25 rows of day 2 are sent again and 30 carry impossible values",
    )

    live[3].write_parquet(files[3])
    files[3].write_bytes(files[3].read_bytes()[:4096])
    _ingest_and_tell(
        ws, narrate, report, "Day 4", "the upstream job dies halfway through writing its file"
    )

    live[4].rename({"debt_ratio": "dti"}).write_parquet(files[4])
    _ingest_and_tell(
        ws, narrate, report, "Day 5", "upstream renames debt_ratio to dti without telling anyone"
    )

    labelled = ingest_labels(ws, CHARTER, labels_dir / "outcomes-pilot.parquet").to_dict()
    narrate(
        "Ground truth",
        f"{labelled['rows_in']:,} outcomes arrive weeks later and are recorded; "
        f"{labelled['unknown_keys']:,} belong to applications with no logged prediction "
        f"(quarantined or in the unreadable file) and wait for them; "
        f"{labelled['coverage']:.0%} of logged predictions now have their outcome",
    )
    report.add(
        "labels", **{k: labelled[k] for k in ("rows_in", "labels_new", "unknown_keys", "coverage")}
    )


def _ingest_and_tell(
    ws: Workspace, narrate: Narrate, report: DemoReport, day: str, what: str
) -> None:
    result = ingest(ws, CHARTER).to_dict()
    told = [f"{what}:"]
    for batch in result["batches"]:
        told.append(
            f"{batch['rows_in']:,} in = {batch['rows_scored']:,} scored + "
            f"{batch['rows_quarantined']:,} quarantined ({batch['rows_late']:,} late)"
        )
        rules = batch.get("violations") or {}
        if rules:
            told.append(
                "broken rules: " + ", ".join(f"{rule} x{count}" for rule, count in rules.items())
            )
        for change in batch.get("schema_changes") or []:
            told.append(f"schema {change['kind']}: {change['column']}")
    for failed in result["files_failed"]:
        told.append(f"file failed and kept for retry: {failed['error']}")
    narrate(day, " ".join(told))
    report.add(
        day.lower().replace(" ", "_"),
        **{k: result[k] for k in ("rows_in", "rows_scored", "rows_quarantined", "rows_late")},
        files_failed=result["files_failed"],
    )


def pilot_decision(ws: Workspace, report: DemoReport, narrate: Narrate) -> None:
    """The pilot's window is judged, the alert route is test-fired, and the owner decides."""
    judged = monitor(ws, CHARTER, since=LIVE_START)
    for window in judged.windows:
        narrate(f"Pilot week of {window.start:%d %b}", describe(window.data))
    fired = test_routes(ws, CHARTER)
    narrate(
        "Alert route",
        "test-fired before anything goes live: "
        + ", ".join(f"{r.route} {'delivered' if r.ok else 'FAILED'}" for r in fired),
    )
    ready = readiness(ws, CHARTER, 1)
    narrate("Readiness", checklist(ready))
    try:
        approve(ws, CHARTER, 1, by=ENGINEER, accept_risk="it looks fine")
    except NotAuthorizedError as refused:
        narrate("Refused", f"{refused.message} (recorded in the audit ledger)")
    # The waiver answers the missing rollback target; the rest is the risk the owner accepts.
    short = [i for i in ready.shortfall if i.name != "rollback_target"]
    risk = (
        f"I accept going live on {'; '.join(i.evidence for i in short)}: the days short "
        "are upstream failures (a file that could not be read, a file that "
        "scored no row), and the contract passed on the pilot week."
    )
    waiver = "the first credit-default model: the manual referral process is the fallback"
    decision = approve(ws, CHARTER, 1, by=OWNER, accept_risk=risk, waiver=waiver)
    narrate(
        "Owner approves",
        f"{decision.decided_by} puts version 1 live (decision {decision.id}); risk accepted, "
        f"verbatim in the ledger: “{decision.accepted_risk}”; first-version waiver: {waiver}",
    )
    report.add(
        "pilot_decision",
        version=1,
        ready=ready.ready,
        shortfall=[i.name for i in ready.shortfall],
        accepted=[i.name for i in short],
        refused=ENGINEER,
        decided_by=decision.decided_by,
        accepted_risk=decision.accepted_risk,
        waiver=decision.waiver,
    )


def describe(window: Mapping[str, Any]) -> str:
    """A judged window in one line: version, verdict, each rule's value, drifted inputs."""
    rules = "; ".join(
        f"{r['metric']}{' in ' + r['segment'] if r['segment'] else ''} "
        f"{number(r.get('value'))} ({r['status']})"
        for r in window["rules"]
    )
    drifted = ", ".join(window.get("drifted") or []) or "none"
    return (
        f"version {window['version']} ({window.get('status')}): {window['verdict'].upper()}: "
        f"{rules}; inputs drifted: {drifted}"
    )
