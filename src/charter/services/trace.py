"""A prediction's trace: what one logged prediction rests on, for an auditor or an owner.

:func:`trace` (by prediction id) and :func:`trace_key` (the newest prediction of a key) read the
row from the prediction log (committed batches only) and put beside it: the batch and the file
it came from, every version's score and whether it was acted on, the sufficiency window its
event time falls in and that window's verdict, how the answering version came to be live at that
moment (the status change and the owner's approval, with the risk accepted and the evidence
digest), and the charter terms in force then.

"At that moment" is read off the audit ledger, not the clock: the batch's ``batch.ingested``
entry has a sequence number, and the approval, the status change and the accepted terms are the
latest entries *before* it. The CLI (``charter trace``), ``GET /v1/predictions/{id}`` and the
dashboard's trace page all show this one result (:class:`~charter.schemas.trace.Trace`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import polars as pl

from charter.errors import PredictionNotFoundError
from charter.monitoring.service import stored_windows
from charter.plumbing.lake import lake_for
from charter.plumbing.predictions import COMPANION, committed_files
from charter.schemas.trace import (
    Trace,
    TraceApproval,
    TraceBatch,
    TraceScore,
    TraceTerms,
    TraceWindow,
)
from charter.store import Session, batches, ledger
from charter.store.tables import AuditEntry, IngestBatch
from charter.workspace import Workspace

MAX_ID = 200
__all__ = ["trace", "trace_key"]


def trace(ws: Workspace, prediction_id: str) -> Trace:
    """The trace of the prediction ``prediction_id`` (``<batch id>-<row>``)."""
    batch_id, _, row = prediction_id.rpartition("-")
    if len(prediction_id) > MAX_ID or not batch_id or not row.isdigit():
        raise PredictionNotFoundError(
            f"{prediction_id[:MAX_ID]!r} is not a prediction id (<batch id>-<row>)",
            hint="A prediction id is what ingestion logged and the API answered, e.g. "
            "3f2a…-17; `charter trace NAME --key KEY` finds one by its key.",
        )
    with ws.db.read() as session:
        batch = batches.get(session, batch_id)
        companion = batches.predictions_path(session, f"{batch_id}{COMPANION}")
    if batch is None or not batch.predictions_path:
        raise _not_found(prediction_id)
    paths = [*batch.predictions_path.split("\n"), *(companion.split("\n") if companion else [])]
    rows = _scan(ws, paths, pl.col("prediction_id") == prediction_id)
    if rows.height == 0:
        raise _not_found(prediction_id)
    return _compose(ws, batch, rows, others=[])


def trace_key(ws: Workspace, name: str, key: str) -> Trace:
    """The trace of the newest prediction the charter logged for ``key`` (the others listed)."""
    charter = ws.load(name).charter
    files = committed_files(ws, charter.name)
    found = _scan(ws, files, pl.col("key") == key) if files else pl.DataFrame()
    if found.height == 0:
        raise PredictionNotFoundError(
            f"{charter.name} logged no prediction with key {key!r}",
            hint=f"The key is the charter's data.key ({charter.data.key}), as text.",
        )
    ids = found.sort("ingested_at").get_column("prediction_id").unique(maintain_order=True)
    newest = str(ids[-1])
    result = trace(ws, newest)
    return result.model_copy(update={"other_predictions": [str(i) for i in ids[:-1]]})


# -- composing ----------------------------------------------------------------------------------
def _compose(ws: Workspace, batch: IngestBatch, rows: pl.DataFrame, others: list[str]) -> Trace:
    first = rows.row(0, named=True)
    scores = [_score(r) for r in rows.iter_rows(named=True)]
    answering = next((s for s in scores if s.status == "live"), None)
    with ws.db.read() as session:
        entry = _batch_entry(session, batch)
        seq = entry[0] if entry else None
        logged = entry[1] if entry else {}
        approval = (
            _approval(session, batch.charter, int(answering.version), seq)
            if answering is not None and answering.version and answering.version.isdigit()
            else None
        )
        terms = _terms(session, batch.charter, seq)
    event_time: datetime | None = first["event_time"]
    window = _window(ws, batch.charter, answering, event_time)
    acted = any(s.acted_on for s in scores)
    body: dict[str, Any] = {
        "prediction_id": first["prediction_id"],
        "charter": batch.charter,
        "batch_id": batch.batch_id,
        "source": {"kind": batch.source_kind, "source": batch.source},
        "key": first["key"],
        "event_time": event_time.isoformat() if event_time else None,
        "ingested_at": first["ingested_at"].isoformat() if first["ingested_at"] else None,
        "late": first["late"],
        "inputs": first.get("inputs"),
        "scores": scores,
        "answering_version": answering.version if answering is not None else None,
        "acted_on": acted,
        "suspension_id": logged.get("suspension_id"),
        "batch": TraceBatch(
            batch_id=batch.batch_id,
            kind=batch.source_kind,
            source=batch.source,
            ingested_at=batch.ingested_at,
            rows_in=batch.rows_in,
            rows_scored=batch.rows_scored,
            rows_quarantined=batch.rows_quarantined,
            prediction_files=(batch.predictions_path or "").split("\n"),
            ledger_seq=seq,
        ),
        "window": window,
        "approval": approval,
        "terms": terms,
        "other_predictions": others,
    }
    return Trace(summary=_summary(body, answering), **body)


def _score(row: dict[str, Any]) -> TraceScore:
    acted = row.get("acted_on")
    if acted is None and row.get("model_status") is not None and row["model_status"] != "external":
        acted = row["model_status"] == "live"  # logged before the acted_on column existed
    return TraceScore(
        version=row["model_version"], status=row["model_status"], score=row["score"], acted_on=acted
    )


def _scan(ws: Workspace, keys: Sequence[str], where: pl.Expr) -> pl.DataFrame:
    """The log rows of the lake files ``keys`` that match ``where``."""
    return lake_for(ws).scan_all([k for k in keys if k]).filter(where).collect()


def _not_found(prediction_id: str) -> PredictionNotFoundError:
    return PredictionNotFoundError(
        f"no prediction {prediction_id!r} in the log",
        hint="Only predictions of committed batches are traced.",
    )


# -- the ledger at that moment ------------------------------------------------------------------
def _entries(
    session: Session, charter: str, actions: Sequence[str], before: int | None
) -> list[tuple[AuditEntry, dict[str, Any]]]:
    """The charter's entries with ``actions`` before ``before`` (every one: None), newest first."""
    rows = ledger.charter_entries_before(session, charter, actions, before)
    return [(r, json.loads(r.payload)) for r in rows]


def _batch_entry(session: Session, batch: IngestBatch) -> tuple[int, dict[str, Any]] | None:
    rows = ledger.entries_containing(
        session, batch.charter, "batch.ingested", f'"batch_id":"{batch.batch_id}"'
    )
    for row in rows:
        payload = json.loads(row.payload)
        if payload.get("batch_id") == batch.batch_id:
            return row.seq, payload
    return None


def _approval(
    session: Session, charter: str, version: int, before: int | None
) -> TraceApproval | None:
    """How ``version`` was live before ledger entry ``before``: the change that put it live and
    the latest approval of it before then."""
    went = next(
        (
            (e, p)
            for e, p in _entries(session, charter, ["version.status_changed"], before)
            if p.get("version") == version and p.get("to") == "live"
        ),
        None,
    )
    approved = next(
        (
            (e, p)
            for e, p in _entries(session, charter, ["decision.approved"], before)
            if p.get("version") == version
        ),
        None,
    )
    if went is None and approved is None:
        return None
    entry, payload = approved if approved is not None else (None, {})
    return TraceApproval(
        version=version,
        live_since=datetime.fromisoformat(went[0].recorded_at) if went else None,
        put_live_by=went[0].actor if went else None,
        put_live_reason=went[1].get("reason") if went else None,
        decision_id=payload.get("decision_id"),
        approved_by=payload.get("by"),
        approved_at=datetime.fromisoformat(entry.recorded_at) if entry is not None else None,
        automatic=payload.get("automatic"),
        accepted_risk=payload.get("accepted_risk"),
        waiver=payload.get("waiver"),
        evidence_sha256=payload.get("evidence_sha256"),
        ledger_seq=entry.seq if entry is not None else None,
    )


def _terms(session: Session, charter: str, before: int | None) -> TraceTerms | None:
    """The terms in force before entry ``before``: the latest accepted, else the latest text
    recorded (ledgers older than change control)."""
    accepted = _entries(session, charter, ["charter.terms_accepted"], before)
    if accepted:
        entry, payload = accepted[0]
        return TraceTerms(
            sha256=payload["sha256"],
            accepted_by=payload.get("accepted_by"),
            accepted_at=datetime.fromisoformat(entry.recorded_at),
            how=payload.get("how"),
            change_id=payload.get("change_id"),
            ledger_seq=entry.seq,
        )
    recorded = _entries(session, charter, ["charter.created", "charter.changed"], before)
    if not recorded:
        return None
    entry, payload = recorded[0]
    return TraceTerms(
        sha256=payload["sha256"],
        accepted_by=None,
        accepted_at=datetime.fromisoformat(entry.recorded_at),
        how=entry.action,
        change_id=None,
        ledger_seq=entry.seq,
    )


def _window(
    ws: Workspace, charter: str, answering: TraceScore | None, event_time: datetime | None
) -> TraceWindow | None:
    if answering is None or answering.version is None or event_time is None:
        return None
    for found in reversed(stored_windows(ws, charter)):
        if found.version == answering.version and found.start <= event_time < found.end:
            return TraceWindow(
                version=found.version,
                start=found.start,
                end=found.end,
                verdict=found.verdict,
                rules=[dict(r) for r in found.data.get("rules", [])],
            )
    return None


# -- in words -----------------------------------------------------------------------------------
def _summary(body: dict[str, Any], answering: TraceScore | None) -> str:
    """The trace in plain words, first for people (the numbers follow)."""
    what = f"Prediction {body['prediction_id']} of {body['charter']}"
    if body["key"] is not None:
        what += f" (key {body['key']})"
    batch: TraceBatch = body["batch"]
    when = batch.ingested_at.strftime("%d %b %Y %H:%M UTC")
    parts = [f"{what} arrived on {when} in a {batch.kind} batch from {batch.source}."]
    if answering is None:
        parts.append("No live version scored it: nothing was acted on.")
    else:
        acted = "and acted on" if answering.acted_on else "but NOT acted on"
        if body["suspension_id"] is not None:
            acted += " (the charter was suspended)"
        parts.append(f"Version {answering.version} scored it {answering.score:.4g}, {acted}.")
    approval: TraceApproval | None = body["approval"]
    if approval is not None and approval.approved_by is not None:
        day = approval.approved_at.strftime("%d %b %Y") if approval.approved_at else "?"
        said = f"Version {approval.version} was live under the approval of {approval.approved_by}"
        said += f" on {day}"
        if approval.accepted_risk:
            said += f", who accepted: {approval.accepted_risk}"
        parts.append(said + ".")
    elif answering is not None:
        parts.append(f"No owner approval of version {answering.version} is recorded before it.")
    window: TraceWindow | None = body["window"]
    if window is not None:
        span = f"{window.start:%d %b} – {window.end:%d %b %Y}"
        parts.append(f"Its window ({span}) was judged {window.verdict}.")
    elif answering is not None:
        parts.append("Its window has not been judged yet.")
    return " ".join(parts)
