"""Monitoring results: the windows of ``charter monitor`` and ``charter status``, the report, the
reference."""

from __future__ import annotations

from pydantic import Field

from charter.schemas.base import Facts, Number, Result, Timestamp
from charter.schemas.governance import Change
from charter.schemas.oversight import Suspension
from charter.schemas.point_in_time import PointInTime


class Window(Result):
    """One evaluated window of one version: its verdict, the rules against their thresholds, the
    labels, the metrics, drift and data quality. The nested parts are free-form evidence."""

    charter: str
    version: str
    status: str
    window: str
    start: str
    end: str
    verdict: str
    verdict_reason: str | None
    contract_verdict: str
    quality_verdict: Facts
    operating_point: Facts | None
    rules: list[Facts]
    estimated_status: str | None
    flags: list[str]
    labels: Facts
    metrics: Facts
    drift: Facts
    score_drift: Facts
    drifted: list[str]
    drift_status: str
    quality: Facts
    reference: Facts | None
    prediction_drift: Facts | None = Field(
        default=None,
        exclude_if=lambda v: v is None,
        description="Multiclass only: drift of the predicted class's distribution against the "
        "reference's, by method.",
    )
    multivariate_drift: Facts | None = Field(
        default=None,
        exclude_if=lambda v: v is None,
        description="With `operations.monitor.multivariate` only: the window's mean PCA "
        "reconstruction error (`value`) against the reference's bound (`lower`, `upper`) and "
        "its `status` (`pass`, `breach` or `not_computable` with a `reason`).",
    )
    status_at_evaluation: str | None = Field(
        default=None,
        exclude_if=lambda v: v is None,
        description="The version's status when the window was evaluated (`status` only).",
    )


class RaisedAlert(Result):
    """An alert ``charter monitor`` raised (or folded into an open one: ``repeated``)."""

    id: int
    event: str
    severity: str
    repeated: bool


class ResolvedAlert(Result):
    """An alert that resolved itself because its window recovered."""

    id: int
    event: str


class MonitorResult(Result):
    """``charter monitor NAME --json``."""

    charter: str
    window: str
    exploratory: bool
    verdicts_changed: int
    windows: list[Window]
    alerts: list[RaisedAlert] | None = Field(
        default=None, exclude_if=lambda v: v is None, description="`--json` of the CLI only."
    )
    resolved_alerts: list[ResolvedAlert] | None = Field(
        default=None, exclude_if=lambda v: v is None, description="`--json` of the CLI only."
    )


class StatusResult(Result):
    """``charter status NAME --json``: the latest stored windows, failures, pending changes, and
    the suspension in force (``suspended``: null while the model decides)."""

    charter: str
    windows: list[Window]
    scoring_failures: list[Facts]
    pending_changes: list[Change]
    suspended: Suspension | None = None
    as_of: Timestamp | None = Field(
        default=None,
        exclude_if=lambda v: v is None,
        description="`status --as-of` only: the moment asked for. `windows`, "
        "`scoring_failures`, `pending_changes` and `suspended` are then empty (their stored rows "
        "change after the fact); `point_in_time` holds what the ledger gives back.",
    )
    point_in_time: PointInTime | None = Field(
        default=None,
        exclude_if=lambda v: v is None,
        description="`status --as-of` only: the state at `as_of` rebuilt from the ledger.",
    )


class ReportResult(Result):
    """``charter report NAME --html FILE --json``."""

    charter: str
    file: str
    windows: int
    versions: list[str]


class ReferenceResult(Result):
    """``charter reference NAME VERSION FILE --json``: the reference stored for the version."""

    charter: str
    version: str
    fingerprint: str
    origin: str
    rows: int
    labelled: int
    cbpe: str
    metrics: dict[str, Number | Facts]
    source: Facts | None = Field(default=None, exclude_if=lambda v: v is None)
    bounds: Facts | None = Field(default=None, exclude_if=lambda v: v is None)
