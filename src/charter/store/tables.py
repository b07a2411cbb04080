"""The metadata tables. Changing one means adding an Alembic migration in ``migrations/``."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from charter.store.columns import UTCDateTime
from charter.store.statuses import check_constraint


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        dict[str, Any]: sa.JSON,
        datetime: UTCDateTime(),
    }


class CharterRecord(Base):
    """The last charter file content the store has seen, per charter name."""

    __tablename__ = "charters"

    name: Mapped[str] = mapped_column(sa.String(200), primary_key=True)
    sha256: Mapped[str] = mapped_column(sa.String(64))
    content: Mapped[str] = mapped_column(sa.Text)
    owner_email: Mapped[str] = mapped_column(sa.String(320))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class ModelVersion(Base):
    """A registered model version: the artifact by content hash, its lineage and its status."""

    __tablename__ = "model_versions"
    __table_args__ = (
        check_constraint("model_versions", "status"),
        sa.UniqueConstraint("charter", "version", name="uq_model_versions_charter_version"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    charter: Mapped[str] = mapped_column(sa.String(200), index=True)
    version: Mapped[int]
    sha256: Mapped[str] = mapped_column(sa.String(64))
    flavor: Mapped[str] = mapped_column(sa.String(40))
    # The artifact's key in the workspace's artifact store (``sha256/ab/abcd…/model.joblib``),
    # or, for an artifact kept elsewhere, its absolute URI (see charter.registry.artifacts).
    artifact_uri: Mapped[str] = mapped_column(sa.Text)
    status: Mapped[str] = mapped_column(sa.String(20))
    lineage: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(sa.String(320))
    status_changed_at: Mapped[datetime]
    # When the version first went live (since 0015): only a version that did may be restored.
    went_live_at: Mapped[datetime | None]


class AuditEntry(Base):
    """One link of the hash-chained audit ledger.

    ``hash = sha256(prev_hash || canonical(seq, recorded_at, actor, action, charter, payload))``.
    ``payload`` is stored as the exact canonical JSON text that was hashed. ``prev_hash`` is unique,
    so two writers can never both extend the same head (the chain cannot fork).
    """

    __tablename__ = "audit_entries"

    seq: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True, autoincrement=False)
    recorded_at: Mapped[str] = mapped_column(sa.String(40))
    actor: Mapped[str] = mapped_column(sa.String(320))
    action: Mapped[str] = mapped_column(sa.String(80), index=True)
    charter: Mapped[str | None] = mapped_column(sa.String(200), index=True)
    payload: Mapped[str] = mapped_column(sa.Text)
    prev_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    hash: Mapped[str] = mapped_column(sa.String(64), unique=True)


class AuditCheckpoint(Base):
    """An HMAC signature over the ledger head at ``seq``, made with a key kept outside the database."""

    __tablename__ = "audit_checkpoints"

    seq: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True, autoincrement=False)
    head_hash: Mapped[str] = mapped_column(sa.String(64))
    key_id: Mapped[str] = mapped_column(sa.String(16))
    signed_at: Mapped[str] = mapped_column(sa.String(40))
    signature: Mapped[str] = mapped_column(sa.String(128))  # hex: HMAC 64, ed25519 128


# -- ingestion (plumbing) -----------------------------------------------------------------------
class IngestBatch(Base):
    """A committed input batch: one landing file, or one cursor range of a SQL source.

    The row exists only once the batch's prediction and quarantine files were written and its
    checkpoint committed with it, so readers trust exactly the files named here. ``batch_id`` is
    derived from (charter, source, fingerprint), so a re-run after a crash finds the same id.
    """

    __tablename__ = "ingest_batches"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    batch_id: Mapped[str] = mapped_column(sa.String(64), unique=True)
    charter: Mapped[str] = mapped_column(sa.String(200), index=True)
    source_kind: Mapped[str] = mapped_column(sa.String(20))
    source: Mapped[str] = mapped_column(sa.Text)
    fingerprint: Mapped[str] = mapped_column(sa.String(64))
    cursor_from: Mapped[str | None] = mapped_column(sa.Text)
    cursor_to: Mapped[str | None] = mapped_column(sa.Text)
    rows_in: Mapped[int] = mapped_column(sa.BigInteger)
    rows_scored: Mapped[int] = mapped_column(sa.BigInteger)
    rows_quarantined: Mapped[int] = mapped_column(sa.BigInteger)
    rows_late: Mapped[int] = mapped_column(sa.BigInteger)
    max_event_time: Mapped[datetime | None]
    predictions_path: Mapped[str | None] = mapped_column(sa.Text)
    predictions_sha256: Mapped[str | None] = mapped_column(sa.String(64))
    quarantine_path: Mapped[str | None] = mapped_column(sa.Text)
    quarantine_sha256: Mapped[str | None] = mapped_column(sa.String(64))
    details: Mapped[dict[str, Any]]
    ingested_at: Mapped[datetime]
    #: Whether the batch's keys are in the key index (:class:`KeyRun`): the lake key of its own
    #: run, "" when it logged no key to index, "indexed" when a later run took its keys in; null
    #: for a batch committed before the index existed (its keys are read from its log file).
    key_run: Mapped[str | None] = mapped_column(sa.Text)


class KeyRun(Base):
    """One sorted run of the key index: distinct keys a charter logged, in one Parquet file.

    ``unique_across_batches`` looks a batch's keys up in the runs whose range
    ``[min_key, max_key]`` (text order) meets the batch's, one run at a time, so memory stays
    bounded however many keys the charter logged. A batch's run is recorded in the batch's own
    commit: a batch not committed leaves no key seen. Small runs are merged into larger ones.
    """

    __tablename__ = "key_runs"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    charter: Mapped[str] = mapped_column(sa.String(200), index=True)
    path: Mapped[str] = mapped_column(sa.Text)
    rows: Mapped[int] = mapped_column(sa.BigInteger)
    min_key: Mapped[str] = mapped_column(sa.Text)
    max_key: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime]


class IngestFile(Base):
    """The checkpoint of one landing file: ingested (with its batch) or failed (with the error).

    Size, mtime and fingerprint tell whether the file changed since; a failed file is retried
    when it does, or on ``--retry-failed``.
    """

    __tablename__ = "ingest_files"
    __table_args__ = (
        check_constraint("ingest_files", "status"),
        sa.UniqueConstraint("charter", "path", name="uq_ingest_files_charter_path"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    charter: Mapped[str] = mapped_column(sa.String(200), index=True)
    path: Mapped[str] = mapped_column(sa.Text)
    size: Mapped[int] = mapped_column(sa.BigInteger)
    mtime_ns: Mapped[int] = mapped_column(sa.BigInteger)
    fingerprint: Mapped[str | None] = mapped_column(sa.String(64))
    status: Mapped[str] = mapped_column(sa.String(20))
    batch_id: Mapped[str | None] = mapped_column(sa.String(64))
    error: Mapped[str | None] = mapped_column(sa.Text)
    attempts: Mapped[int]
    updated_at: Mapped[datetime]


class IngestCursor(Base):
    """The high-water mark of a SQL source's cursor column, and its last error if any."""

    __tablename__ = "ingest_cursors"
    __table_args__ = (
        sa.UniqueConstraint("charter", "source", name="uq_ingest_cursors_charter_source"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    charter: Mapped[str] = mapped_column(sa.String(200), index=True)
    source: Mapped[str] = mapped_column(sa.Text)
    high_water: Mapped[str | None] = mapped_column(sa.Text)
    batch_id: Mapped[str | None] = mapped_column(sa.String(64))
    error: Mapped[str | None] = mapped_column(sa.Text)
    updated_at: Mapped[datetime]


class LabelBatch(Base):
    """One delivery of ground truth: where it came from, what it changed, and its Parquet file.

    The file holds one row per new or corrected key of the delivery (``key``, ``label``, and
    since 0009 ``previous``, ``change``, ``row``); reads take the newest label per key across
    committed batches, so a corrected label supersedes the old one, which stays in the log.
    """

    __tablename__ = "label_batches"
    __table_args__ = (sa.Index("ix_label_batches_source", "charter", "source"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    batch_id: Mapped[str] = mapped_column(sa.String(64), unique=True)
    charter: Mapped[str] = mapped_column(sa.String(200), index=True)
    source: Mapped[str] = mapped_column(sa.Text)
    fingerprint: Mapped[str] = mapped_column(sa.String(64))
    rows_in: Mapped[int] = mapped_column(sa.BigInteger)
    labels_new: Mapped[int] = mapped_column(sa.BigInteger)
    labels_changed: Mapped[int] = mapped_column(sa.BigInteger)
    duplicates: Mapped[int] = mapped_column(sa.BigInteger)
    unknown_keys: Mapped[int] = mapped_column(sa.BigInteger)
    invalid: Mapped[int] = mapped_column(sa.BigInteger)
    path: Mapped[str | None] = mapped_column(sa.Text)
    sha256: Mapped[str | None] = mapped_column(sa.String(64))
    received_at: Mapped[datetime]
    # The delivery's invalid rows (row, key, value, reason), kept in their own Parquet file.
    quarantined: Mapped[int] = mapped_column(sa.BigInteger, server_default="0", default=0)
    invalid_by_reason: Mapped[dict[str, int] | None] = mapped_column(sa.JSON)
    quarantine_path: Mapped[str | None] = mapped_column(sa.Text)
    quarantine_sha256: Mapped[str | None] = mapped_column(sa.String(64))


# -- monitoring -----------------------------------------------------------------------------------
class MonitorReference(Base):
    """The summarised reference of one model version: what its windows are compared against.

    ``origin`` is ``registration`` (labelled data given with the version) or ``window:START/END``
    (a past window of the log). ``body`` is zlib-compressed JSON: per-column summaries, the score
    summary, the fitted CBPE estimator or why there is none, and the reference's own metrics.
    """

    __tablename__ = "monitor_references"
    __table_args__ = (
        sa.UniqueConstraint(
            "charter", "version", "origin", name="uq_monitor_references_charter_version_origin"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    charter: Mapped[str] = mapped_column(sa.String(200), index=True)
    version: Mapped[str] = mapped_column(sa.String(40))
    origin: Mapped[str] = mapped_column(sa.String(200))
    fingerprint: Mapped[str] = mapped_column(sa.String(64))
    rows: Mapped[int] = mapped_column(sa.BigInteger)
    labelled: Mapped[int] = mapped_column(sa.BigInteger)
    body: Mapped[bytes] = mapped_column(sa.LargeBinary)
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(sa.String(320))


class MonitorBatchSummary(Base):
    """The summaries of the rows one batch logged for one version inside one window.

    ``basis`` fingerprints what the summaries were binned against (reference edges and
    categories, contract ranges); rows of another basis are stale and recomputed.
    """

    __tablename__ = "monitor_batch_summaries"
    __table_args__ = (
        sa.UniqueConstraint(
            "charter",
            "version",
            "batch_id",
            "window_start",
            "window_end",
            "basis",
            name="uq_monitor_batch_summaries_key",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    charter: Mapped[str] = mapped_column(sa.String(200), index=True)
    version: Mapped[str] = mapped_column(sa.String(40))
    batch_id: Mapped[str] = mapped_column(sa.String(64))
    window_start: Mapped[datetime]
    window_end: Mapped[datetime]
    basis: Mapped[str] = mapped_column(sa.String(64))
    rows: Mapped[int] = mapped_column(sa.BigInteger)
    body: Mapped[bytes] = mapped_column(sa.LargeBinary)
    created_at: Mapped[datetime]


class MonitorWindow(Base):
    """The evaluated result of one window of one version (upserted on every run).

    ``result`` is the JSON the CLI prints; ``summaries`` caches the merged window summaries
    with ``basis`` and ``batches`` (a digest of the batch ids merged) saying when it is valid.
    """

    __tablename__ = "monitor_windows"
    __table_args__ = (
        sa.UniqueConstraint(
            "charter", "version", "window_start", "window_end", name="uq_monitor_windows_key"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    charter: Mapped[str] = mapped_column(sa.String(200), index=True)
    version: Mapped[str] = mapped_column(sa.String(40))
    window_start: Mapped[datetime]
    window_end: Mapped[datetime]
    verdict: Mapped[str] = mapped_column(sa.String(30))
    rows: Mapped[int] = mapped_column(sa.BigInteger)
    labelled: Mapped[int] = mapped_column(sa.BigInteger)
    result: Mapped[dict[str, Any]]
    basis: Mapped[str] = mapped_column(sa.String(64))
    batches: Mapped[str] = mapped_column(sa.String(64))
    summaries: Mapped[bytes] = mapped_column(sa.LargeBinary)
    evaluated_at: Mapped[datetime]
    changed_at: Mapped[datetime]


# -- operations: alerts -------------------------------------------------------------------------
class Alert(Base):
    """An alert raised by a rule, de-duplicated by (charter, rule, window) while unresolved.

    ``dedup_key`` holds that triple while the alert is open or acknowledged and is cleared on
    resolution; being unique, it lets the database itself refuse a second active copy.
    """

    __tablename__ = "alerts"
    __table_args__ = (
        check_constraint("alerts", "status"),
        check_constraint("alerts", "severity"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    charter: Mapped[str] = mapped_column(sa.String(200), index=True)
    event: Mapped[str] = mapped_column(sa.String(40))
    rule: Mapped[str] = mapped_column(sa.String(200))
    window: Mapped[str | None] = mapped_column(sa.String(200))
    severity: Mapped[str] = mapped_column(sa.String(10))
    status: Mapped[str] = mapped_column(sa.String(10), index=True)
    message: Mapped[str] = mapped_column(sa.Text)
    details: Mapped[dict[str, Any]]
    count: Mapped[int]
    dedup_key: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    first_seen: Mapped[datetime]
    last_seen: Mapped[datetime]
    acked_at: Mapped[datetime | None]
    acked_by: Mapped[str | None] = mapped_column(sa.String(320))
    ack_note: Mapped[str | None] = mapped_column(sa.Text)
    resolved_at: Mapped[datetime | None]
    resolved_by: Mapped[str | None] = mapped_column(sa.String(320))
    resolve_note: Mapped[str | None] = mapped_column(sa.Text)


class AlertDelivery(Base):
    """One route's delivery of an alert (or of a test alert), with every attempt it took.

    ``alert_id`` is empty for test fires, which are not alerts; ``target`` never holds a
    webhook's full URL, because for Slack and its kin the URL is the credential.
    """

    __tablename__ = "alert_deliveries"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    alert_id: Mapped[int | None] = mapped_column(sa.ForeignKey("alerts.id"), index=True)
    charter: Mapped[str] = mapped_column(sa.String(200), index=True)
    test: Mapped[bool]
    route: Mapped[str] = mapped_column(sa.String(20))
    target: Mapped[str] = mapped_column(sa.Text)
    ok: Mapped[bool]
    status: Mapped[str | None] = mapped_column(sa.String(200))
    error: Mapped[str | None] = mapped_column(sa.Text)
    attempts: Mapped[int]
    attempt_log: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON)
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime]


class AlertOutboxEntry(Base):
    """One route's pending delivery of an alert: written with the alert, sent by a worker.

    ``route_index`` is the route's position in the charter's ``operations.alerts`` (empty for the
    one-off email route of ``notify``, whose recipients are in ``recipients``); ``route`` and
    ``target`` (masked like ``alert_deliveries.target``) let the worker check that the charter's
    route is still the one the alert was raised for. A webhook URL is never stored here: it is
    read from the charter file when sending. ``state`` is ``pending`` until the route delivered
    (``sent``) or gave up (``failed``); ``attempts`` counts claims, and a claim moves
    ``next_attempt_at`` forward by a lease, so a worker that dies mid-send leaves the delivery due
    again once the lease ends.
    """

    __tablename__ = "alert_outbox"
    __table_args__ = (
        check_constraint("alert_outbox", "state"),
        sa.Index("ix_alert_outbox_due", "state", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    alert_id: Mapped[int] = mapped_column(sa.ForeignKey("alerts.id"), index=True)
    charter: Mapped[str] = mapped_column(sa.String(200), index=True)
    route: Mapped[str] = mapped_column(sa.String(20))
    target: Mapped[str] = mapped_column(sa.Text)
    route_index: Mapped[int | None]
    recipients: Mapped[list[str] | None] = mapped_column(sa.JSON)
    state: Mapped[str] = mapped_column(sa.String(10))
    attempts: Mapped[int]
    attempt_log: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON)
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    next_attempt_at: Mapped[datetime]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


# -- operations: promotion decisions --------------------------------------------------------------
class Decision(Base):
    """A promotion decision: opened with its evidence, closed by an approval or a rejection.

    ``open_key`` holds ``charter:version`` while the decision is open and is cleared when it
    closes; being unique, it lets the database itself refuse a second open decision for one
    version. ``readiness`` is the gate's checklist when the decision opened and
    ``decided_readiness`` the one the decider saw, so the record shows what evidence stood
    behind the decision. ``stalled_at`` and ``escalations`` make each stalled-decision alert and
    each escalation step happen once.
    """

    __tablename__ = "decisions"
    __table_args__ = (check_constraint("decisions", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    charter: Mapped[str] = mapped_column(sa.String(200), index=True)
    version: Mapped[int]
    status: Mapped[str] = mapped_column(sa.String(20), index=True)
    open_key: Mapped[str | None] = mapped_column(sa.String(240), unique=True)
    opened_at: Mapped[datetime]
    opened_by: Mapped[str] = mapped_column(sa.String(320))
    readiness: Mapped[dict[str, Any]]
    waiver: Mapped[str | None] = mapped_column(sa.Text)
    waiver_by: Mapped[str | None] = mapped_column(sa.String(320))
    decided_at: Mapped[datetime | None]
    decided_by: Mapped[str | None] = mapped_column(sa.String(320))
    accepted_risk: Mapped[str | None] = mapped_column(sa.Text)
    reason: Mapped[str | None] = mapped_column(sa.Text)
    decided_readiness: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    authorization_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("promotion_authorizations.id")
    )
    stalled_at: Mapped[datetime | None]
    escalations: Mapped[int]
    alert_ids: Mapped[list[int]] = mapped_column(sa.JSON)


class PromotionAuthorization(Base):
    """The owner's standing decision that a version passing the gate may go live unattended.

    It holds only while the charter still names ``granted_by`` as owner, still says
    ``approval: auto_if_sufficient``, and its sufficiency contract and promotion policy still
    hash to ``terms_sha256``: editing the charter file can narrow it, never widen it.
    """

    __tablename__ = "promotion_authorizations"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    charter: Mapped[str] = mapped_column(sa.String(200), index=True)
    granted_by: Mapped[str] = mapped_column(sa.String(320))
    granted_at: Mapped[datetime]
    terms_sha256: Mapped[str] = mapped_column(sa.String(64))
    terms: Mapped[dict[str, Any]]
    charter_sha256: Mapped[str] = mapped_column(sa.String(64))
    note: Mapped[str | None] = mapped_column(sa.Text)
    revoked_at: Mapped[datetime | None]
    revoked_by: Mapped[str | None] = mapped_column(sa.String(320))
    revoke_note: Mapped[str | None] = mapped_column(sa.Text)


class CharterSuspension(Base):
    """A human stop of a charter (``charter suspend``): while ``resumed_at`` is null, its
    versions still score and are logged, but nothing they answer is acted on."""

    __tablename__ = "charter_suspensions"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    charter: Mapped[str] = mapped_column(sa.String(200), index=True)
    suspended_by: Mapped[str] = mapped_column(sa.String(320))
    suspended_at: Mapped[datetime]
    reason: Mapped[str] = mapped_column(sa.Text)
    resumed_by: Mapped[str | None] = mapped_column(sa.String(320))
    resumed_at: Mapped[datetime | None]
    resume_note: Mapped[str | None] = mapped_column(sa.Text)


class ScoringFailure(Base):
    """A model version that failed on rows of one committed batch (isolated: nothing else stopped).

    Written in the batch's own transaction, so a failure is recorded exactly once per version and
    batch. ``rows`` is how many of the batch's valid rows the version could not score; for the
    live version those rows were quarantined with a ``model_error`` rule.
    """

    __tablename__ = "scoring_failures"
    __table_args__ = (
        check_constraint("scoring_failures", "status"),
        sa.UniqueConstraint(
            "charter", "version", "batch_id", name="uq_scoring_failures_charter_version_batch"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    charter: Mapped[str] = mapped_column(sa.String(200), index=True)
    version: Mapped[str] = mapped_column(sa.String(40))
    status: Mapped[str] = mapped_column(sa.String(20))
    batch_id: Mapped[str] = mapped_column(sa.String(64), index=True)
    file: Mapped[str] = mapped_column(sa.Text)
    error: Mapped[str] = mapped_column(sa.Text)
    rows: Mapped[int] = mapped_column(sa.BigInteger)
    at: Mapped[datetime]


# -- governance: change control of charter files --------------------------------------------------
class CharterTerms(Base):
    """The terms in force of a charter: the accepted text as written (``${ENV}`` not expanded).

    Every command judges and acts under this text, not the file, until the owner (or a delegate)
    accepts a change the file asks for; see :mod:`charter.governance`.
    """

    __tablename__ = "charter_terms"

    charter: Mapped[str] = mapped_column(sa.String(200), primary_key=True)
    sha256: Mapped[str] = mapped_column(sa.String(64))
    content: Mapped[str] = mapped_column(sa.Text)
    accepted_by: Mapped[str] = mapped_column(sa.String(320))
    accepted_at: Mapped[datetime]
    change_id: Mapped[int | None]


class CharterChange(Base):
    """One change a charter file asked for, from the terms in force to the file's new text.

    ``status``: ``pending`` (waits for ``requires``: ``owner`` or ``owner_or_delegate``),
    ``accepted``, ``rejected``, ``applied`` (took effect at once: no governed field, or no live
    version), ``superseded`` (the file changed again) or ``withdrawn`` (the file went back).
    ``diff`` is the field-level diff: ``[{"path", "old", "new"}, ...]``.
    """

    __tablename__ = "charter_changes"
    __table_args__ = (
        check_constraint("charter_changes", "status"),
        check_constraint("charter_changes", "requires"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    charter: Mapped[str] = mapped_column(sa.String(200), index=True)
    status: Mapped[str] = mapped_column(sa.String(20), index=True)
    from_sha256: Mapped[str] = mapped_column(sa.String(64))
    to_sha256: Mapped[str] = mapped_column(sa.String(64))
    content: Mapped[str] = mapped_column(sa.Text)
    diff: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON)
    governed: Mapped[list[str]] = mapped_column(sa.JSON)
    requires: Mapped[str] = mapped_column(sa.String(20))
    detected_at: Mapped[datetime]
    detected_by: Mapped[str] = mapped_column(sa.String(320))
    decided_at: Mapped[datetime | None]
    decided_by: Mapped[str | None] = mapped_column(sa.String(320))
    reason: Mapped[str | None] = mapped_column(sa.Text)


class ApiToken(Base):
    """An HTTP API token: only its SHA-256 is kept; the token itself is shown once, at creation.

    ``prefix`` is the token's first characters (``chr_`` and a few more), enough to tell tokens
    apart in a list without being able to use one.
    """

    __tablename__ = "api_tokens"
    __table_args__ = (check_constraint("api_tokens", "role"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    token_sha256: Mapped[str] = mapped_column(sa.String(64), unique=True)
    prefix: Mapped[str] = mapped_column(sa.String(20))
    identity: Mapped[str] = mapped_column(sa.String(320), index=True)
    role: Mapped[str] = mapped_column(sa.String(20))
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(sa.String(320))
    expires_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    revoked_by: Mapped[str | None] = mapped_column(sa.String(320))
