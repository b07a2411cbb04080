"""The crosswalk: each clause an auditor asks about, the records of the pack that answer it, and
what is missing, said plainly.

The requirements are charter's own short paraphrases of the texts, not quotations: the EU AI Act
(Regulation (EU) 2024/1689) Articles 12, 14, 19 and 26; ISO/IEC 42001:2023 Annex A controls
A.3.2, A.6.2.5, A.6.2.6 and A.6.2.8; and the US banking agencies' model risk management guidance
SR 26-2 (which superseded SR 11-7), on ongoing monitoring and on accountable ownership. A clause
is ``met`` when every check on it found its records, else ``gap`` with one line per missing
record. A check can only see what the pack holds: a ``met`` says the records exist and are
consistent, not that a regulator would agree.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

FRAMEWORKS = ("eu-ai-act", "iso-42001", "sr-26-2")

Sections = Mapping[str, Any]
Finding = tuple[list[str], list[str]]  # (evidence lines, gap lines)


@dataclass(frozen=True)
class Clause:
    framework: str
    clause: str
    title: str
    requirement: str
    records: tuple[str, ...]
    check: Callable[[Sections], Finding]


# -- checks: each returns what it found and what is missing ---------------------------------------
def _ledger(s: Sections) -> Finding:
    head = s["manifest_ledger"]
    if not head["head_seq"]:
        return [], ["the ledger has no signed entry up to the pack's head"]
    return [
        f"hash-chained ledger, entries 1..{head['head_seq']}, head signed by key "
        f"{head['key_id']} at {head['signed_at']}"
    ], []


def _log_coverage(s: Sections) -> Finding:
    c = s["coverage"]
    found, gaps = [], []
    if not c["days"]:
        gaps.append("no prediction is logged up to the pack's head")
    else:
        total = sum(d["predictions"] for d in c["days"])
        found.append(
            f"prediction log: {total} predictions on {len(c['days'])} days "
            f"({c['first_day']} to {c['last_day']})"
        )
    if c["gaps"]:
        gaps.append(
            f"{len(c['gaps'])} day(s) with no prediction logged: "
            + ", ".join(c["gaps"][:10])
            + (" ..." if len(c["gaps"]) > 10 else "")
        )
    bad = {k: v for k, v in c["file_states"].items() if k in ("missing", "altered")}
    if bad:
        gaps.append(
            "prediction-log files not as the ledger recorded them: "
            + ", ".join(f"{v} {k}" for k, v in sorted(bad.items()))
        )
    return found, gaps


def _retention(s: Sections) -> Finding:
    r = s["coverage"]["retention"]
    if not r["known"]:
        return [], [r["statement"]]
    return [r["statement"]], []


def _owner(s: Sections) -> Finding:
    people = s["people"]
    if not people.get("owner"):
        return [], ["no owner is named in the terms in force"]
    found = [f"owner {people['owner']}"]
    if people.get("delegates"):
        found.append("delegates " + ", ".join(people["delegates"]))
    if people.get("stewards"):
        found.append("stewards " + ", ".join(people["stewards"]))
    return found, []


def _human_decisions(s: Sections) -> Finding:
    ds = s["decisions"]["decisions"]
    human = [d for d in ds if d["status"] in ("approved", "rejected") and not d["automatic"]]
    if not human:
        return [], ["no promotion decided by a person: no decision names an approver"]
    return [
        f"{len(human)} decision(s) by a person: "
        + "; ".join(f"version {d['version']} {d['status']} by {d['decided_by']}" for d in human)
    ], []


def _decisions_with_risk(s: Sections) -> Finding:
    found, gaps = _human_decisions(s)
    ds = s["decisions"]["decisions"]
    decided = [d for d in ds if d["status"] in ("approved", "rejected")]
    if not decided:
        return found, gaps
    auto = [d for d in decided if d["automatic"]]
    if auto:
        found.append(f"{len(auto)} automatic promotion(s) under the owner's pre-authorisation")
    missing = [
        d
        for d in decided
        if d["status"] == "approved" and d["shortfall"] and not d["accepted_risk"]
    ]
    if missing:
        gaps.append(
            "approved over a gate shortfall without a written accepted risk: "
            + ", ".join(f"decision {d['decision_id']}" for d in missing)
        )
    return found, gaps


def _oversight(s: Sections) -> Finding:
    found, gaps = _owner(s)
    o = s["oversight"]
    acts = o["counts"]
    if acts:
        found.append("interventions: " + ", ".join(f"{n} {a}" for a, n in acts.items()))
    else:
        found.append("no rollback, suspension or retirement was needed up to the head")
    if o["overrides"]:
        found.append(f"{len(o['overrides'])} approval(s) over a gate shortfall, risk accepted")
    more, missing = _human_decisions(s)
    return found + more, gaps + missing


def _monitoring(s: Sections) -> Finding:
    history = s["sufficiency"]["verdicts"]
    if not history:
        return [], ["no window was judged against the sufficiency contract"]
    counts = s["sufficiency"]["counts"]
    return [
        f"{len(history)} judged window(s): " + ", ".join(f"{n} {v}" for v, n in counts.items())
    ], []


def _alert_response(s: Sections) -> Finding:
    a = s["alerts"]["summary"]
    if not a["raised"]:
        return ["no alert was raised up to the head"], []
    found = [
        f"{a['raised']} alert(s), {a['resolved']} resolved, {a['open']} open; median "
        f"time to resolve {a['median_seconds_to_resolve']} s"
    ]
    unattended = [
        x["alert_id"]
        for x in s["alerts"]["alerts"]
        if x["acknowledged_at"] is None and x["resolved_at"] is None
    ]
    gaps = []
    if unattended:
        shown = ", ".join(f"#{i}" for i in unattended[:10]) + (
            " ..." if len(unattended) > 10 else ""
        )
        gaps.append(f"{len(unattended)} alert(s) neither acknowledged nor resolved: {shown}")
    return found, gaps


def _ongoing(s: Sections) -> Finding:
    found, gaps = _monitoring(s)
    more, missing = _alert_response(s)
    runs = s["retraining"]["runs"]
    if runs:
        more.append(f"{len(runs)} retraining run(s) with their training window as lineage")
    return found + more, gaps + missing


def _change_control(s: Sections) -> Finding:
    h = s["charter_history"]
    if not h["terms"]:
        return [], ["no charter text was recorded in force"]
    found = [f"{len(h['terms'])} text(s) of the charter in force, each with who accepted it"]
    undecided = [c for c in h["changes"] if c["status"] == "pending"]
    if h["changes"]:
        found.append(f"{len(h['changes'])} change(s) with field-level diffs")
    gaps = [
        f"change {c['change_id']} is still pending: the file differs from the terms in force"
        for c in undecided
    ]
    return found, gaps


def _deployment(s: Sections) -> Finding:
    found, gaps = _decisions_with_risk(s)
    checks = s["shadow_and_challenger"]["gate_items"]
    if checks:
        found.append(
            f"{len(checks)} gate checklist(s) recorded with shadow and champion-challenger evidence"
        )
    else:
        gaps.append("no promotion gate checklist was recorded")
    return found, gaps


def _accountability(s: Sections) -> Finding:
    found, gaps = _owner(s)
    more, missing = _decisions_with_risk(s)
    hist, hist_gaps = _change_control(s)
    return found + more + hist, gaps + missing + hist_gaps


def _data_quality(s: Sections) -> Finding:
    d = s["data_contract"]["totals"]
    if not d["batches"]:
        return [], ["no input batch was validated against the data contract"]
    return [
        f"{d['batches']} batches, {d['rows_in']} rows in, {d['rows_quarantined']} "
        f"quarantined with their broken rule"
    ], []


def _all(*checks: Callable[[Sections], Finding]) -> Callable[[Sections], Finding]:
    def run(s: Sections) -> Finding:
        found: list[str] = []
        gaps: list[str] = []
        for check in checks:
            more, missing = check(s)
            found += more
            gaps += missing
        return found, gaps

    return run


CLAUSES: tuple[Clause, ...] = (
    Clause(
        "eu-ai-act",
        "Art 12",
        "Record-keeping",
        "The system automatically records events (logs) over its lifetime, so that its "
        "functioning can be traced and situations of risk identified.",
        ("ledger", "coverage", "data_contract"),
        _all(_ledger, _log_coverage, _data_quality),
    ),
    Clause(
        "eu-ai-act",
        "Art 14",
        "Human oversight",
        "Natural persons can oversee the system: understand its capacities and limits, "
        "decide not to use it or override its output, and interrupt it (a stop procedure).",
        ("people", "decisions", "oversight"),
        _oversight,
    ),
    Clause(
        "eu-ai-act",
        "Art 19",
        "Automatically generated logs",
        "The automatically generated logs are kept for a period appropriate to the intended "
        "purpose, of at least six months.",
        ("coverage", "ledger"),
        _all(_retention, _log_coverage),
    ),
    Clause(
        "eu-ai-act",
        "Art 26",
        "Obligations of deployers",
        "The deployer assigns human oversight to competent people, monitors the operation of "
        "the system, acts on risks it detects, and keeps the logs under its control for at "
        "least six months.",
        ("people", "sufficiency", "alerts", "coverage"),
        _all(_owner, _monitoring, _alert_response, _retention),
    ),
    Clause(
        "iso-42001",
        "A.3.2",
        "AI roles and responsibilities",
        "Roles and responsibilities for the AI system are defined and allocated.",
        ("people", "charter_history"),
        _all(_owner, _change_control),
    ),
    Clause(
        "iso-42001",
        "A.6.2.5",
        "AI system deployment",
        "A deployment plan exists and the requirements are shown to be met before the "
        "system is deployed.",
        ("decisions", "shadow_and_challenger"),
        _deployment,
    ),
    Clause(
        "iso-42001",
        "A.6.2.6",
        "AI system operation and monitoring",
        "The elements needed for the ongoing operation of the system are defined and "
        "documented, including monitoring of its performance and the response to failures.",
        ("sufficiency", "alerts", "retraining", "oversight"),
        _ongoing,
    ),
    Clause(
        "iso-42001",
        "A.6.2.8",
        "AI system recording of event logs",
        "Event logs are recorded at the phases of the life cycle where they are needed, "
        "at least while the system is in use.",
        ("ledger", "coverage"),
        _all(_ledger, _log_coverage),
    ),
    Clause(
        "sr-26-2",
        "ongoing monitoring",
        "Ongoing monitoring and outcomes analysis",
        "After a model is in use, its performance is monitored on an ongoing basis against "
        "its intended use, outcomes are compared with what the model predicted, and "
        "deterioration is escalated and acted on.",
        ("sufficiency", "alerts", "retraining", "oversight"),
        _ongoing,
    ),
    Clause(
        "sr-26-2",
        "owner accountability",
        "Accountable model ownership",
        "A named owner is accountable for the model's use and performance; decisions to use "
        "the model, and the limitations and residual risks accepted, are documented.",
        ("people", "decisions", "charter_history"),
        _accountability,
    ),
)


def crosswalk(sections: Sections, frameworks: tuple[str, ...]) -> list[dict[str, Any]]:
    """One row per clause of the chosen frameworks: its records, status, evidence and gaps."""
    rows = []
    for clause in CLAUSES:
        if clause.framework not in frameworks:
            continue
        found, gaps = clause.check(sections)
        rows.append(
            {
                "framework": clause.framework,
                "clause": clause.clause,
                "title": clause.title,
                "requirement": clause.requirement,
                "records": list(clause.records),
                "status": "gap" if gaps else "met",
                "evidence": found,
                "gaps": gaps,
            }
        )
    return rows
