"""The charter file, as pydantic models. The JSON Schema and the docs are generated from here.

Every model forbids unknown fields, so a typo is an error that names the field, not a silent default.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from charter.errors import InvalidIdentityError
from charter.identity import NAME_PATTERN as NAME_PATTERN
from charter.identity import check_identity, confusable_with
from charter.spec.durations import Duration, SettleDuration, format_duration
from charter.spec.metrics import Task, applies, metric_info, parse_metric
from charter.spec.windows import CalendarWindow, Window

FIELD_TYPES = ("int", "float", "string", "bool", "datetime", "date")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _check_email(value: str) -> str:
    """An email identity in canonical form (NFKC, casefold); look-alike characters refused."""
    try:
        identity = check_identity(value, what="the email")
    except InvalidIdentityError as exc:
        raise ValueError(exc.message) from None
    if not _EMAIL.match(identity):
        raise ValueError(f"{value!r} is not an email address")
    return identity


def _check_webhook_url(value: str) -> str:
    """An http(s) URL with a host and a numeric port; ``${ENV}`` references are allowed."""
    from urllib.parse import urlsplit

    from charter.redaction import ENV_REFERENCE, describe_webhook

    candidate = ENV_REFERENCE.sub("0", value.strip())
    if "://" not in candidate and ENV_REFERENCE.search(value):
        return value  # the whole URL comes from the environment: checked when it is sent
    shown = describe_webhook(value)
    try:
        parts = urlsplit(candidate)
    except ValueError:
        raise ValueError(f"{shown} is not a URL") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{shown} is not an http(s) URL with a host")
    try:
        parts.port  # noqa: B018 - raises for a port that is not a number in range
    except ValueError:
        raise ValueError(f"{shown}: the port is not a number from 0 to 65535") from None
    return value


def _check_metric(value: str) -> str:
    parse_metric(value)  # an unknown metric, or a per-class form of one that has none
    return value


def _check_field_type(value: str) -> str:
    if value not in FIELD_TYPES:
        raise ValueError(f"unknown field type {value!r}; expected one of {', '.join(FIELD_TYPES)}")
    return value


def _check_regex(value: str) -> str:
    try:
        re.compile(value)
    except re.error as exc:
        raise ValueError(f"{value!r} is not a valid regular expression: {exc}") from None
    return value


def _check_segment(value: str) -> str:
    from charter.errors import ExpressionError
    from charter.spec.expressions import parse

    try:
        parse(value)
    except ExpressionError as exc:
        raise ValueError(exc.message) from None
    return value


def _check_entrypoint(value: str) -> str:
    module, _, function = value.partition(":")
    ident = r"[A-Za-z_][A-Za-z0-9_]*"
    if not (re.fullmatch(rf"{ident}(\.{ident})*", module) and re.fullmatch(ident, function)):
        raise ValueError(f"{value!r} is not an entrypoint; write module.path:function")
    return value


def _check_timezone(value: str) -> str:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{value!r} is not an IANA time zone, e.g. UTC or Europe/Paris") from None
    return value


Email = Annotated[str, AfterValidator(_check_email)]
TimeZone = Annotated[str, AfterValidator(_check_timezone)]
MetricName = Annotated[str, AfterValidator(_check_metric)]
FieldType = Annotated[str, AfterValidator(_check_field_type)]
Regex = Annotated[str, AfterValidator(_check_regex)]
Segment = Annotated[str, AfterValidator(_check_segment)]
Entrypoint = Annotated[str, AfterValidator(_check_entrypoint)]
WebhookUrl = Annotated[str, AfterValidator(_check_webhook_url)]
Fraction = Annotated[float, Field(ge=0, le=1)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Person(Strict):
    """Someone accountable: an owner, a delegate, a steward."""

    name: str = Field(min_length=1, description="Full name.")
    email: Email = Field(description="Email address; also the identity that signs decisions.")
    role: str | None = Field(default=None, description="Role in the business, e.g. Head of Credit.")


# -- sufficiency --------------------------------------------------------------------------------
class MetricRule(Strict):
    """One performance requirement agreed with the owner, judged on live data."""

    metric: MetricName = Field(
        description="A metric name, e.g. roc_auc, recall, mae; multiclass: f1_macro, "
        "recall[CLASS] (one class, one-vs-rest)."
    )
    at_least: float | Literal["reference"] | None = Field(
        default=None,
        description="Pass when metric >= this; 'reference': >= the reference's chunked mean "
        "minus 3 standard deviations.",
    )
    at_most: float | Literal["reference"] | None = Field(
        default=None,
        description="Pass when metric <= this; 'reference': <= the reference's chunked mean "
        "plus 3 standard deviations.",
    )
    warn_at: float | None = Field(
        default=None,
        description="Warn (before breach) when the metric is worse than this level.",
    )
    segment: Segment | None = Field(
        default=None, description="Judge only rows in this segment, e.g. \"region == 'north'\"."
    )

    @model_validator(mode="after")
    def _threshold(self) -> MetricRule:
        info = metric_info(self.metric)
        good, bad = ("at_least", "at_most") if info.higher_is_better else ("at_most", "at_least")
        if getattr(self, bad) is not None:
            better = "higher" if info.higher_is_better else "lower"
            raise ValueError(f"{self.metric} is better when {better}: use {good}, not {bad}")
        threshold = getattr(self, good)
        if threshold is None:
            raise ValueError(f"give a threshold: {good}: <number> for {self.metric}")
        if threshold == "reference":
            if self.warn_at is not None:
                raise _FieldProblemError(
                    "warn_at", f"does not combine with {good}: reference (a learnt bound)"
                )
            return self
        for name, value in ((good, threshold), ("warn_at", self.warn_at)):
            if value is not None and info.bounded and not 0 <= value <= 1:
                raise _FieldProblemError(
                    name, f"must be a number between 0 and 1 for {self.metric}"
                )
        if self.warn_at is not None:
            stricter = (
                self.warn_at >= threshold if info.higher_is_better else self.warn_at <= threshold
            )
            if not stricter:
                raise _FieldProblemError("warn_at", f"must be stricter than {good} ({threshold})")
        return self

    @property
    def threshold(self) -> float | Literal["reference"]:
        """The number agreed, or ``"reference"`` for a bound learnt from the reference."""
        value = self.at_least if self.at_least is not None else self.at_most
        assert value is not None
        return value


class _FieldProblemError(ValueError):
    """A model-level check that blames one field; the loader appends ``field`` to the path."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"@{field}: {message}")


def _parse_share(value: Any) -> Any:
    """``5%`` or ``0.05``: a share strictly between 0 and 1."""
    if isinstance(value, str):
        text = value.strip()
        try:
            number = float(text[:-1]) / 100 if text.endswith("%") else float(text)
        except ValueError:
            raise ValueError(f"{value!r} is not a share; write e.g. 5% or 0.05") from None
        value = number
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{value!r} is not a share; write e.g. 5% or 0.05")
    if not 0 < value < 1:
        raise ValueError(f"{value!r} must lie strictly between 0% and 100%")
    return float(value)


Share = Annotated[
    float,
    BeforeValidator(_parse_share),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "pattern": r"^\s*\d+(\.\d+)?\s*%\s*$"},
                {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1},
            ]
        }
    ),
]


class Levels(Strict):
    """A warn and a breach level for one data-quality measure (shares, 0.05 is 5 points)."""

    warn: Fraction | None = Field(default=None, description="At or above this: warn.")
    breach: Fraction | None = Field(default=None, description="At or above this: breach.")

    @model_validator(mode="after")
    def _ordered(self) -> Levels:
        if self.warn is None and self.breach is None:
            raise ValueError("give warn, breach or both")
        if self.warn is not None and self.breach is not None and self.breach < self.warn:
            raise _FieldProblemError("breach", f"must be at least warn ({self.warn})")
        return self


class QualityPolicy(Strict):
    """Data-quality levels judged per window against the reference (see docs/monitoring.md)."""

    missing_rate_increase: Levels | None = Field(
        default=None,
        description="An input's share of missing values minus the reference's, e.g. "
        "{warn: 0.02, breach: 0.05}.",
    )
    unseen_share: Levels | None = Field(
        default=None,
        description="An input's share of values outside the reference's range (numeric) or "
        "categories not seen in the reference (categorical).",
    )


class Sufficiency(Strict):
    """What accuracy is sufficient, agreed with the owner before training."""

    window: Window = Field(
        default=timedelta(days=7),
        description="Event-time window judged: a fixed duration (7d, 1d) or a calendar window "
        "in the charter's timezone (1w: ISO week from Monday, 1mo, 1q, 1y).",
    )
    window_origin: datetime | None = Field(
        default=None,
        description="Where fixed-duration windows start counting (ISO time; default "
        "1970-01-01T00:00Z), e.g. 2024-01-01T00:00+01:00 for days at midnight in Paris.",
    )
    min_labels: int = Field(
        default=100, ge=0, description="Fewer labels than this in a window: insufficient evidence."
    )
    label_delay: Duration | None = Field(default=None, description="How late ground truth arrives.")
    metrics: list[MetricRule] = Field(min_length=1, description="The requirements; all must pass.")
    threshold: Fraction | None = Field(
        default=None,
        description="Operating point: predict the positive class when score >= this "
        "(default 0.5); used by accuracy, precision, recall, f1 and their estimates.",
    )
    refer_top: Share | None = Field(
        default=None,
        description="Operating point as a capacity: the top share of each window's scores is "
        "predicted positive, e.g. 5% (instead of threshold).",
    )
    quality: QualityPolicy | None = Field(
        default=None, description="Data-quality warn/breach levels that enter the verdict."
    )

    @model_validator(mode="after")
    def _one_operating_point(self) -> Sufficiency:
        if self.window_origin is not None and isinstance(self.window, CalendarWindow):
            raise _FieldProblemError(
                "window_origin", "applies to fixed-duration windows only, not calendar ones"
            )
        if self.threshold is not None and self.refer_top is not None:
            raise _FieldProblemError("refer_top", "give threshold or refer_top, not both")
        return self


# -- data contract ------------------------------------------------------------------------------
class FolderSource(Strict):
    """A landing folder; new files are picked up incrementally."""

    kind: Literal["parquet_dir", "csv_dir", "jsonl_dir", "delta_table"] = Field(
        description=(
            "File format of the folder; delta_table: the folder is a Delta Lake table and each "
            "new table version is a batch (needs charter[delta])."
        )
    )
    path: str = Field(min_length=1, description="Folder, relative to the workspace or absolute.")
    pattern: str | None = Field(
        default=None, description="Glob of files to read (default by kind)."
    )
    delimiter: str = Field(default=",", max_length=1, description="CSV delimiter.")
    encoding: Literal["utf8", "utf8-lossy"] = Field(default="utf8", description="CSV encoding.")
    settle: SettleDuration = Field(
        default=timedelta(seconds=30),
        description=(
            "A file is read only once its size and modification time have not changed for this "
            "long (0s: at once, for producers that rename files into place). Env override: "
            "CHARTER_INGEST_SETTLE."
        ),
    )
    marker: Literal["success", "done"] | None = Field(
        default=None,
        description=(
            "Read only files the producer marked complete: success = a _SUCCESS file in the "
            "file's folder; done = a FILE.done file beside it. Unset: the settle period decides."
        ),
    )


class SqlSource(Strict):
    """A table or query reached through any SQLAlchemy URL, read incrementally by a cursor column."""

    kind: Literal["sql"] = Field(description="A SQL table or query.")
    url: str = Field(
        min_length=1,
        description="SQLAlchemy URL; ${ENV_VAR} is expanded when connecting, never stored.",
    )
    table: str | None = Field(default=None, description="Table to read (or give query).")
    query: str | None = Field(default=None, description="SELECT to read (or give table).")
    cursor: str = Field(description="Monotonic column (id or timestamp) read incrementally.")
    batch_rows: int = Field(default=100_000, ge=1, description="Rows per batch.")
    lookback: SettleDuration = Field(
        default=timedelta(minutes=10),
        description=(
            "Each run reads again the rows of this window before the high-water mark, so rows "
            "committed late (or at the last cursor value) are not missed; keys already ingested "
            "are skipped. 0s: no look-back."
        ),
    )

    @model_validator(mode="after")
    def _table_or_query(self) -> SqlSource:
        if (self.table is None) == (self.query is None):
            raise ValueError("give exactly one of table or query")
        return self


Source = Annotated[FolderSource | SqlSource, Field(discriminator="kind")]


class FieldSpec(Strict):
    """The contract of one input column."""

    type: FieldType = Field(description=f"One of {', '.join(FIELD_TYPES)}.")
    nullable: bool = Field(default=True, description="May the value be missing?")
    required: bool = Field(default=True, description="Must the column be present at all?")
    min: float | None = Field(default=None, description="Smallest allowed value.")
    max: float | None = Field(default=None, description="Largest allowed value.")
    allowed: list[str | int | float | bool] | None = Field(
        default=None, description="The only values allowed."
    )
    pattern: Regex | None = Field(default=None, description="Regular expression values must match.")
    unique: bool = Field(
        default=False, description="Values must be unique within and across batches."
    )
    max_null_fraction: Fraction | None = Field(
        default=None, description="Batch rule: at most this share of nulls."
    )
    description: str | None = Field(default=None, description="What the column means.")

    @model_validator(mode="after")
    def _consistent(self) -> FieldSpec:
        numeric = self.type in ("int", "float", "datetime", "date")
        if (self.min is not None or self.max is not None) and not numeric:
            raise ValueError(f"min/max do not apply to type {self.type}")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise _FieldProblemError("max", f"must be at least min ({self.min})")
        if self.pattern is not None and self.type != "string":
            raise _FieldProblemError("pattern", f"applies only to string fields, not {self.type}")
        return self


class Freshness(Strict):
    max_lateness: Duration = Field(
        default=timedelta(hours=1),
        description="Rows older than the watermark minus this are late (scored, flagged, kept).",
    )
    max_age: Duration | None = Field(
        default=None, description="Batch rule: the newest event must be at most this old."
    )


class Volume(Strict):
    min_rows: int | None = Field(
        default=None, ge=0, description="Batch rule: at least this many rows."
    )
    max_rows: int | None = Field(
        default=None, ge=0, description="Batch rule: at most this many rows."
    )


class PredictionColumn(Strict):
    """The source rows already carry the model's output (the model runs elsewhere)."""

    column: str = Field(min_length=1, description="Column holding the prediction or score.")


class DataContract(Strict):
    """The live input pipeline and what every row and batch must satisfy."""

    source: Source = Field(
        description="Where live rows come from (kind: parquet_dir, csv_dir, jsonl_dir, sql)."
    )
    key: str = Field(min_length=1, description="Column identifying a row; joins labels.")
    event_time: str | None = Field(default=None, description="Column with the event timestamp.")
    freshness: Freshness = Field(
        default_factory=lambda: Freshness(), description="Lateness and age rules."
    )
    volume: Volume = Field(default_factory=lambda: Volume(), description="Batch size rules.")
    fields: dict[str, FieldSpec] = Field(min_length=1, description="Contract per input column.")
    features: list[str] | None = Field(
        default=None, description="Model inputs, in order (default: all fields but key/time)."
    )
    prediction: PredictionColumn | None = Field(
        default=None,
        description="Set when rows already carry the prediction (model runs elsewhere).",
    )
    engine: Literal["polars", "spark"] | None = Field(
        default=None,
        description=(
            "The compute engine that ingests this charter's source (default polars, the local "
            "engine). CHARTER_ENGINE and `charter ingest --engine` override it."
        ),
    )

    @model_validator(mode="after")
    def _columns_known(self) -> DataContract:
        for i, feature in enumerate(self.features or []):
            if feature not in self.fields:
                raise _FieldProblemError(f"features[{i}]", f"{feature!r} is not one of the fields")
        return self

    def feature_columns(self) -> list[str]:
        if self.features is not None:
            return list(self.features)
        skip = {self.key, self.event_time, self.prediction.column if self.prediction else None}
        return [name for name in self.fields if name not in skip]


class LabelSpec(Strict):
    """Where ground truth comes from and how it joins predictions."""

    source: Source | None = Field(
        default=None, description="Default label source (or pass a file)."
    )
    key: str = Field(min_length=1, description="Column matching the data contract's key.")
    target: str = Field(min_length=1, description="Column holding the true outcome.")
    values: list[str | int | float | bool] | None = Field(
        default=None,
        description=(
            "The two allowed labels of a binary classification, [negative, positive], recorded "
            "as 0 and 1 (default [0, 1], also true/false); the classes of a multiclass "
            "classification, in the order their probabilities are logged. Not for regression."
        ),
    )

    @model_validator(mode="after")
    def _distinct_values(self) -> LabelSpec:
        if self.values is None:
            return self
        texts = [label_text(v) for v in self.values]
        twice = sorted({t for t in texts if texts.count(t) > 1})
        if twice:
            raise _FieldProblemError(
                "values", f"the values must differ: {', '.join(twice)} given twice"
            )
        return self

    def classes(self) -> list[str]:
        """The classes of a multiclass classification as compared (:func:`label_text`)."""
        return [label_text(v) for v in self.values or []]

    def allowed_values(self) -> list[str | int | float | bool]:
        """The binary labels as written, [negative, positive]; [0, 1] unless declared."""
        return list(self.values) if self.values is not None else [0, 1]


def label_text(value: str | int | float | bool) -> str:
    """How a label value is compared: booleans as true/false, integral numbers without ``.0``,
    text stripped and lower-cased (so ``Yes`` matches ``yes``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip().lower()


# -- operations ---------------------------------------------------------------------------------
# Drift levels when the charter gives none ('auto' mirrors charter.monitoring.drift.AUTO; a test
# checks they agree), and the levels every named method had before 'auto' existed.
AUTO_DRIFT_LEVELS = (0.05, 0.1)
AUTO_SIGNIFICANCE = 0.01
NAMED_DRIFT_LEVELS = (0.1, 0.25)


class DriftPolicy(Strict):
    method: Literal["auto", "psi", "ks", "wasserstein", "jensen_shannon", "chi2"] = Field(
        default="auto",
        description="Drift measure judged against the levels below. 'auto': per input type, "
        "Wasserstein distance / reference std (numeric) or Jensen-Shannon distance "
        "(categorical), flagged only when the two-sample test (KS, chi-squared) is also "
        "significant. A charter that sets warn or breach without a method keeps 'psi'.",
    )
    warn: float | None = Field(
        default=None,
        ge=0,
        description="Drift at or above this warns (default: 0.05 for 'auto', 0.1 for a named "
        "method).",
    )
    breach: float | None = Field(
        default=None,
        ge=0,
        description="Drift at or above this breaches (default: 0.1 for 'auto', 0.25 for a named "
        "method).",
    )
    significance: float | None = Field(
        default=None,
        gt=0,
        lt=1,
        description="Flag only when the two-sample test's p-value (KS for numeric, chi-squared "
        "for categorical inputs) is below this (default: 0.01 for 'auto', no test for a named "
        "method).",
    )

    @model_validator(mode="before")
    @classmethod
    def _levels_mean_psi(cls, data: Any) -> Any:
        # Before 'auto', a charter's levels were PSI levels; they keep that meaning.
        if isinstance(data, dict) and "method" not in data and ("warn" in data or "breach" in data):
            return {**data, "method": "psi"}
        return data

    @model_validator(mode="after")
    def _ordered(self) -> DriftPolicy:
        warn, breach = self.levels()
        if breach < warn:
            field = "breach" if self.breach is not None else "warn"
            other = warn if field == "breach" else breach
            relation = "at least warn" if field == "breach" else "at most breach"
            raise _FieldProblemError(field, f"must be {relation} ({other})")
        return self

    def levels(self) -> tuple[float, float]:
        """The warn and breach levels in force: the charter's, else the method's defaults."""
        default = AUTO_DRIFT_LEVELS if self.method == "auto" else NAMED_DRIFT_LEVELS
        return (
            default[0] if self.warn is None else self.warn,
            default[1] if self.breach is None else self.breach,
        )

    def gate(self) -> float | None:
        """The significance level in force (``None``: no test gates the flags)."""
        if self.significance is not None:
            return self.significance
        return AUTO_SIGNIFICANCE if self.method == "auto" else None


class MultivariatePolicy(Strict):
    method: Literal["pca_reconstruction"] = Field(
        default="pca_reconstruction",
        description="PCA reconstruction error of the monitored inputs, fitted on the reference.",
    )
    variance: float = Field(
        default=0.65,
        gt=0,
        lt=1,
        description="Share of the reference's variance the principal components keep.",
    )
    sigmas: float = Field(
        default=3.0,
        gt=0,
        description="A window breaches when its mean error is outside the reference mean "
        "plus or minus this many standard errors (the reference's spread over sqrt(rows)).",
    )


class MonitorPolicy(Strict):
    every: Duration = Field(default=timedelta(hours=1), description="How often to monitor.")
    reference: str = Field(
        default="training", description="'training' or a past window 'START/END' (ISO dates)."
    )
    drift: DriftPolicy = Field(
        default_factory=lambda: DriftPolicy(), description="Drift method and levels."
    )
    multivariate: MultivariatePolicy | None = Field(
        default=None,
        description="Multivariate drift: one score per window for a shift of the inputs' "
        "joint distribution (off unless given; `multivariate: {}` takes the defaults).",
    )


AlertEvent = Literal[
    "breach",
    "warn",
    "drift_breach",
    "quality_breach",
    "stalled_decision",
    "rollback",
    "retrain_failed",
    "step_failed",
    "insufficient_evidence",
    "version_failed",
    "estimated_drop",
]


def _default_alert_events() -> list[AlertEvent]:
    return ["breach"]


class AlertRoute(Strict):
    route: Literal["webhook", "email", "log"] = Field(description="Where alerts go.")
    url: WebhookUrl | None = Field(
        default=None,
        description="Webhook URL (Slack-compatible JSON body); ${ENV_VAR} is expanded when "
        "sending, so the token can stay out of the file.",
    )
    to: list[Email] = Field(default_factory=list, description="Email recipients.")
    on: list[AlertEvent] = Field(
        default_factory=_default_alert_events,
        min_length=1,
        description="Events sent to this route.",
    )

    @model_validator(mode="after")
    def _target(self) -> AlertRoute:
        if self.route == "webhook" and not self.url:
            raise _FieldProblemError("url", "a webhook route needs a url")
        if self.route == "email" and not self.to:
            raise _FieldProblemError("to", "an email route needs at least one recipient")
        return self


class RetrainPolicy(Strict):
    when: list[Literal["sufficiency_breach", "drift_breach", "schedule"]] = Field(
        min_length=1, description="Triggers that start retraining."
    )
    entrypoint: Entrypoint = Field(description="module:function taking the labelled window.")


class RollbackPolicy(Strict):
    automatic: bool = Field(default=False, description="Roll back without waiting for a person.")
    after_breaches: int = Field(
        default=2, ge=1, description="Consecutive breached windows before automatic rollback."
    )


class PromotionPolicy(Strict):
    shadow_min_batches: int = Field(
        default=20, ge=0, description="Batches a version must run in shadow before promotion."
    )
    approval: Literal["owner", "auto_if_sufficient"] = Field(
        default="owner",
        description="Owner decides each time, or pre-authorises sufficient versions.",
    )
    challenger_margin: float = Field(
        default=0.0,
        ge=0,
        description="How much worse than the live version a challenger may be on each "
        "sufficiency metric (in the metric's units, on the windows both were judged) and still "
        "pass the gate; 0 means not worse.",
    )


class Escalation(Strict):
    after: Duration = Field(description="How long a decision may stay open before this step.")
    to: list[Email] = Field(min_length=1, description="Who is told.")


RETENTION_MINIMUM = timedelta(days=183)
"""The shortest retention of the prediction log: six months (EU AI Act Art 19 and 26(6))."""


class RetentionPolicy(Strict):
    """How long the logs are kept before ``charter purge`` may remove them; none: for ever.

    The audit ledger is never purged, whatever this says.
    """

    predictions: Duration | None = Field(
        default=None,
        description="How long the prediction log is kept (at least 6 months, 183d); "
        "none: for ever.",
    )
    quarantine: Duration | None = Field(
        default=None, description="How long quarantined rows are kept; none: for ever."
    )
    labels: Duration | None = Field(
        default=None, description="How long delivered labels are kept; none: for ever."
    )

    @field_validator("predictions")
    @classmethod
    def _six_months(cls, value: timedelta | None) -> timedelta | None:
        if value is not None and value < RETENTION_MINIMUM:
            raise ValueError(
                f"{format_duration(value)} is shorter than the minimum of 6 months "
                f"({RETENTION_MINIMUM.days}d) for prediction logs"
            )
        return value


class Fallback(Strict):
    """What callers do instead while the charter is suspended (`charter suspend`).

    The model still scores and is logged, but is not acted on; online answers carry this."""

    description: str | None = Field(
        default=None,
        min_length=1,
        description="The rule in plain words, e.g. 'refer every application to an underwriter'.",
    )
    decision: bool | int | float | str | None = Field(
        default=None,
        description="The decision value online answers carry as fallback.decision while "
        "suspended (e.g. false, 'refer').",
    )

    @model_validator(mode="after")
    def _says_something(self) -> Fallback:
        if self.description is None and self.decision is None:
            raise ValueError("give a description, a decision value, or both")
        return self


class Operations(Strict):
    """``alerts`` is a list of routes, or ``{routes: [...], auto_resolve: false}``."""

    monitor: MonitorPolicy = Field(
        default_factory=lambda: MonitorPolicy(),
        description="Monitoring cadence, reference and drift levels.",
    )
    alerts: list[AlertRoute] = Field(default_factory=list, description="Alert routes.")
    auto_resolve: bool = Field(
        default=True,
        description="Resolve a monitoring alert when its rule passes on a later window "
        "(also written operations.alerts.auto_resolve).",
    )
    retrain: RetrainPolicy | None = Field(default=None, description="When and how to retrain.")
    rollback: RollbackPolicy = Field(
        default_factory=lambda: RollbackPolicy(), description="Rollback policy."
    )
    promotion: PromotionPolicy = Field(
        default_factory=lambda: PromotionPolicy(), description="Promotion gate policy."
    )
    decision_deadline: Duration = Field(
        default=timedelta(days=5),
        description="An open decision older than this raises stalled_decision.",
    )
    escalation: list[Escalation] = Field(
        default_factory=list, description="Who is told as a decision stalls."
    )
    retention: RetentionPolicy = Field(
        default_factory=lambda: RetentionPolicy(),
        description="How long logs are kept before `charter purge` may remove them "
        "(default: for ever).",
    )
    fallback: Fallback | None = Field(
        default=None,
        description="What is done instead of the model while the charter is suspended "
        "(`charter suspend`); online answers carry it with acted_on: false.",
    )

    @model_validator(mode="before")
    @classmethod
    def _alerts_mapping(cls, data: Any) -> Any:
        """``alerts: {routes: [...], auto_resolve: false}`` means ``alerts: [...]`` with
        ``auto_resolve: false`` beside it."""
        if not isinstance(data, dict) or not isinstance(data.get("alerts"), dict):
            return data
        body = dict(data["alerts"])
        unknown = sorted(set(body) - {"routes", "auto_resolve"})
        if unknown:
            raise _FieldProblemError(
                f"alerts.{unknown[0]}", "unknown field; alerts takes routes and auto_resolve"
            )
        out = {**data, "alerts": body.get("routes", [])}
        if "auto_resolve" in body:
            if "auto_resolve" in data:
                raise _FieldProblemError("auto_resolve", "given twice (also under alerts)")
            out["auto_resolve"] = body["auto_resolve"]
        return out


# -- the charter ----------------------------------------------------------------------------------
class Charter(Strict):
    """One model's charter: owner, sufficiency contract, data contract, operations policy."""

    name: str = Field(pattern=NAME_PATTERN, description="Lower-case slug; the file is NAME.yaml.")
    decision: str = Field(min_length=1, description="The business decision the model informs.")
    owner: Person = Field(description="The business owner, accountable for the decisions.")
    delegates: list[Person] = Field(
        default_factory=list, description="People the owner lets decide in their place."
    )
    stewards: list[Person] = Field(default_factory=list, description="Who operates the model.")
    task: Task = Field(default="binary_classification", description="What the model predicts.")
    timezone: TimeZone = Field(
        default="UTC",
        description="IANA time zone of calendar windows (1w, 1mo, 1q, 1y), e.g. Europe/Paris.",
    )
    sufficiency: Sufficiency = Field(description="What is sufficient, agreed with the owner.")
    data: DataContract = Field(description="The contract of the live input pipeline.")
    labels: LabelSpec | None = Field(default=None, description="Where ground truth comes from.")
    operations: Operations = Field(
        default_factory=lambda: Operations(), description="How the model is operated."
    )

    @model_validator(mode="after")
    def _coherent(self) -> Charter:
        self._labels_fit_task()
        classes = self.labels.classes() if self.labels is not None else []
        for i, rule in enumerate(self.sufficiency.metrics):
            problem = applies(rule.metric, self.task, classes)
            if problem is not None:
                raise _FieldProblemError(f"sufficiency.metrics[{i}].metric", problem)
            if rule.segment is not None:
                self._segment_columns_exist(f"sufficiency.metrics[{i}].segment", rule.segment)
        self._no_lookalikes()
        return self

    def _labels_fit_task(self) -> None:
        """Binary: two values at most; multiclass: the classes, at least three; regression: none."""
        values = self.labels.values if self.labels is not None else None
        if self.task == "multiclass_classification":
            if self.data.prediction is not None:
                raise _FieldProblemError(
                    "data.prediction",
                    "multiclass_classification is scored by a registered model, which logs one "
                    "probability per class; a prediction column is not supported",
                )
            for point in ("threshold", "refer_top"):
                if getattr(self.sufficiency, point) is not None:
                    raise _FieldProblemError(
                        f"sufficiency.{point}",
                        "applies to binary_classification only: a multiclass model predicts "
                        "its most probable class",
                    )
            if values is None or len(values) < 3:
                raise _FieldProblemError(
                    "labels.values" if self.labels is not None else "labels",
                    "multiclass_classification needs labels.values listing its classes (at "
                    "least three), e.g. values: [retail, fraud, error]",
                )
        elif values is not None and self.task == "regression":
            raise _FieldProblemError(
                "labels.values", f"applies to classification only, not {self.task}"
            )
        elif values is not None and len(values) != 2:
            raise _FieldProblemError(
                "labels.values",
                f"give exactly two values, [negative, positive], not {list(values)}; or set "
                "task: multiclass_classification",
            )

    def classes(self) -> list[str]:
        """A multiclass charter's classes (as compared); empty for any other task."""
        if self.task != "multiclass_classification" or self.labels is None:
            return []
        return self.labels.classes()

    def _segment_columns_exist(self, where: str, segment: str) -> None:
        """A segment names only columns of the data contract (it is judged on those inputs)."""
        from charter.errors import ExpressionError
        from charter.spec.expressions import compile_segment

        try:
            compile_segment(segment, self.data.fields)
        except ExpressionError as exc:
            raise _FieldProblemError(where, exc.message) from None

    def _no_lookalikes(self) -> None:
        """Refuse a delegate or steward whose email looks like another's without being it."""
        people = [("owner", self.owner)]
        people += [(f"delegates[{i}]", p) for i, p in enumerate(self.delegates)]
        people += [(f"stewards[{i}]", p) for i, p in enumerate(self.stewards)]
        for n, (where, person) in enumerate(people):
            twin = confusable_with(person.email, [p.email for _, p in people[:n]])
            if twin is not None:
                raise _FieldProblemError(
                    f"{where}.email",
                    f"{person.email!r} looks like {twin!r} but is a different identity "
                    "(look-alike characters)",
                )

    def deciders(self) -> list[str]:
        """Identities allowed to approve or reject: the owner and the owner's delegates."""
        return [self.owner.email, *(d.email for d in self.delegates)]

    def to_json_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)
