"""The reference a model version's live windows are compared against, summarised once and stored.

Drift needs a "before" to compare "now" with, and CBPE needs labelled data to learn how scores
map to outcomes. Both come from the reference, which is reduced to summaries *once* (fixed
histogram edges, category counts, a fitted CBPE) and stored in ``monitor_references``; windows
never re-read it. Two origins (``operations.monitor.reference``):

- ``training`` (the default): labelled data given with the version,
  ``charter register NAME MODEL --reference FILE`` or :func:`set_reference`. The file holds the
  model's inputs and, when the charter has a ``labels`` section, its target column. The version
  itself scores the file, so the reference's score distribution and the CBPE calibration are
  those of this exact model.
- ``START/END`` (ISO dates or times, END exclusive): the version's own logged rows in that
  period, with whatever labels have arrived for them; built by the first ``charter monitor``
  that needs it (see :mod:`.service`).

Which inputs are monitored is decided here too (:func:`monitored_columns`): the model's inputs
(``data.features``, or every field but the key, event time and prediction column); ``int`` and
``float`` fields are numeric, ``string`` and ``bool`` categorical. ``date``/``datetime`` inputs are
left out: time always moves, so their "drift" says nothing.
"""

from __future__ import annotations

import hashlib
import json
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl
import sqlalchemy as sa
from sqlalchemy.orm import Session

from charter.engines.summaries import (
    CategoricalSummary,
    ColumnSummary,
    Kind,
    NotComputable,
    NumericSummary,
    summarise_reference,
    summary_from_dict,
)
from charter.errors import CharterError, DataError, UserCodeError
from charter.monitoring import multiclass as mc
from charter.monitoring import performance as perf
from charter.monitoring.bounds import Bound, bound_from_dict, learn_bounds, reference_metrics
from charter.monitoring.cbpe import CBPE
from charter.monitoring.cbpe_multiclass import MulticlassCBPE
from charter.monitoring.dle import DLE
from charter.monitoring.multivariate import Reconstruction, multivariate_from_dict
from charter.monitoring.operating_point import operating_point
from charter.progress import SILENT, Progress
from charter.registry.flavors.base import Predictor, class_probabilities
from charter.spec.model import Charter
from charter.store.tables import MonitorReference
from charter.workspace import Workspace

REGISTRATION = "registration"
WINDOW_PREFIX = "window:"
EXTERNAL = "external"


@dataclass(frozen=True)
class MonitoredColumn:
    """One model input that monitoring summarises: its kind and the contract's allowed range."""

    name: str
    kind: Kind
    valid_range: tuple[float | None, float | None] = (None, None)


def monitored_columns(charter: Charter) -> list[MonitoredColumn]:
    """The inputs whose quality and drift are monitored, in the contract's order."""
    fields = charter.data.fields
    columns = []
    for name in charter.data.feature_columns():
        spec = fields.get(name)
        if spec is None or spec.type in ("date", "datetime"):
            continue
        if spec.type in ("int", "float"):
            columns.append(MonitoredColumn(name, "numeric", (spec.min, spec.max)))
        else:
            columns.append(MonitoredColumn(name, "categorical"))
    return columns


def score_range(charter: Charter) -> tuple[float | None, float | None]:
    """Scores of a classifier are probabilities; a regressor's may be anything."""
    return (None, None) if charter.task == "regression" else (0.0, 1.0)


def reference_origin(charter: Charter) -> str:
    """``registration`` or ``window:START/END`` for the charter's ``operations.monitor.reference``."""
    setting = charter.operations.monitor.reference.strip()
    if setting == "training":
        return REGISTRATION
    start, end = parse_period(setting)
    return f"{WINDOW_PREFIX}{start.isoformat()}/{end.isoformat()}"


def parse_period(text: str) -> tuple[datetime, datetime]:
    """``2026-10-01/2026-10-08`` (dates or ISO times; naive means UTC) → (start, end)."""
    parts = text.split("/")
    if len(parts) != 2:
        raise CharterError(
            f"operations.monitor.reference {text!r} is neither 'training' nor a period START/END",
            hint='Write e.g. reference: "2026-10-01/2026-10-08" (END is exclusive).',
        )
    start, end = (parse_moment(part, "operations.monitor.reference") for part in parts)
    if end <= start:
        raise CharterError(f"operations.monitor.reference {text!r} ends before it starts")
    return start, end


def parse_moment(text: str, where: str) -> datetime:
    """An ISO date or date-time as an aware UTC datetime (naive values are taken as UTC)."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise CharterError(
            f"{where}: {text!r} is not an ISO date or time",
            hint="Write e.g. 2026-10-01 or 2026-10-01T12:00:00Z.",
        ) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


# -- the reference ------------------------------------------------------------------------------
def _value(result: float | NotComputable) -> Any:
    return result.to_dict() if isinstance(result, NotComputable) else result


@dataclass(frozen=True, eq=False)
class Reference:
    """The summarised reference of one version (see the module docstring)."""

    origin: str
    columns: Mapping[str, ColumnSummary]
    score: NumericSummary | None
    cbpe: CBPE | MulticlassCBPE | NotComputable
    metrics: Mapping[str, float | NotComputable]
    rows: int
    labelled: int
    source: Mapping[str, Any] = field(default_factory=dict)
    bounds: Mapping[str, Bound | NotComputable] = field(default_factory=dict)
    predicted: CategoricalSummary | None = None  # multiclass: the predicted class's counts
    dle: DLE | NotComputable | None = None  # regression: the loss models of estimated MAE/RMSE
    # operations.monitor.multivariate: the fitted PCA reconstruction
    multivariate: Reconstruction | NotComputable | None = None

    def to_dict(self) -> dict[str, Any]:
        # "bounds", "predicted", "dle" and "multivariate" only when there, so references stored
        # before them keep their fingerprint
        extra: dict[str, Any] = {}
        if self.bounds:
            extra["bounds"] = {n: b.to_dict() for n, b in self.bounds.items()}
        if self.predicted is not None:
            extra["predicted"] = self.predicted.to_dict()
        if self.dle is not None:
            extra["dle"] = self.dle.to_dict()
        if self.multivariate is not None:
            extra["multivariate"] = self.multivariate.to_dict()
        return extra | {
            "origin": self.origin,
            "columns": {name: s.to_dict() for name, s in sorted(self.columns.items())},
            "score": None if self.score is None else self.score.to_dict(),
            "cbpe": self.cbpe.to_dict(),
            "metrics": {name: _value(v) for name, v in self.metrics.items()},
            "rows": self.rows,
            "labelled": self.labelled,
            "source": dict(self.source),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Reference:
        cbpe_data = data["cbpe"]
        score = None if data["score"] is None else summary_from_dict(data["score"])
        assert score is None or isinstance(score, NumericSummary)
        predicted = None if "predicted" not in data else summary_from_dict(data["predicted"])
        assert predicted is None or isinstance(predicted, CategoricalSummary)
        dle_data = data.get("dle")
        dle: DLE | NotComputable | None = None
        if dle_data is not None:
            dle = (
                NotComputable(dle_data["not_computable"])
                if "not_computable" in dle_data
                else DLE.from_dict(dle_data)
            )
        cbpe: CBPE | MulticlassCBPE | NotComputable
        if "not_computable" in cbpe_data:
            cbpe = NotComputable(cbpe_data["not_computable"])
        elif cbpe_data.get("kind") == "multiclass":
            cbpe = MulticlassCBPE.from_dict(cbpe_data)
        else:
            cbpe = CBPE.from_dict(cbpe_data)
        return cls(
            origin=str(data["origin"]),
            columns={n: summary_from_dict(s) for n, s in data["columns"].items()},
            score=score,
            cbpe=cbpe,
            metrics={
                n: NotComputable(v["not_computable"]) if isinstance(v, dict) else float(v)
                for n, v in data["metrics"].items()
            },
            rows=int(data["rows"]),
            labelled=int(data["labelled"]),
            source=dict(data.get("source", {})),
            bounds={n: bound_from_dict(b) for n, b in data.get("bounds", {}).items()},
            predicted=predicted,
            dle=dle,
            multivariate=(
                None if "multivariate" not in data else multivariate_from_dict(data["multivariate"])
            ),
        )

    @cached_property
    def fingerprint(self) -> str:
        """Identifies exactly what windows were binned against (see :mod:`.windows`)."""
        return hashlib.sha256(canonical(self.to_dict()).encode()).hexdigest()

    def describe(self) -> dict[str, Any]:
        """What a window result says about its reference."""
        cbpe = self.cbpe.reason if isinstance(self.cbpe, NotComputable) else "fitted"
        more: dict[str, Any] = {}
        if self.dle is not None:
            more["dle"] = getattr(self.dle, "reason", "fitted")
        if self.multivariate is not None:
            mv = self.multivariate
            more["multivariate"] = mv.to_dict() if isinstance(mv, NotComputable) else mv.describe()
        return {
            "origin": self.origin,
            "rows": self.rows,
            "labelled": self.labelled,
            "cbpe": cbpe,
            **more,
            "metrics": {n: _value(v) for n, v in self.metrics.items()},
            **({"source": dict(self.source)} if self.source else {}),
            **({"bounds": {n: _bound(b) for n, b in self.bounds.items()}} if self.bounds else {}),
        }


def _bound(bound: Bound | NotComputable) -> dict[str, Any]:
    return bound.to_dict() if isinstance(bound, NotComputable) else bound.describe()


def canonical(data: Any) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), allow_nan=False)


def pack(data: Any) -> bytes:
    """Summaries are large and repetitive (histogram bins): zlib-compressed JSON in the store."""
    return zlib.compress(canonical(data).encode(), 1)


def unpack(blob: bytes) -> Any:
    return json.loads(zlib.decompress(blob))


def build_reference(
    charter: Charter,
    frame: pl.DataFrame,
    *,
    scores: npt.ArrayLike | None,
    labels: npt.ArrayLike | None,
    origin: str,
    source: Mapping[str, Any] | None = None,
    probabilities: npt.ArrayLike | None = None,
) -> Reference:
    """Summarise ``frame``'s monitored inputs, the scores, and fit CBPE on (scores, labels); a
    multiclass reference also takes the class ``probabilities`` (a matrix, ``scores`` being the
    predicted class's), a regression one fits DLE on the inputs."""
    columns: dict[str, ColumnSummary] = {}
    for column in monitored_columns(charter):
        if column.name in frame.columns:
            values = _typed(frame[column.name], column.kind)
            columns[column.name] = summarise_reference(
                values, column.kind, valid_range=column.valid_range
            )
    s = None if scores is None else np.asarray(scores, dtype=np.float64).ravel()
    y = None if labels is None else np.asarray(labels, dtype=np.float64).ravel()
    score = None
    if s is not None:
        score_summary = summarise_reference(
            pl.Series("score", s), "numeric", valid_range=score_range(charter)
        )
        assert isinstance(score_summary, NumericSummary)
        score = score_summary
    classes = charter.classes()
    matrix = None
    predicted = None
    if classes and probabilities is not None:
        matrix = mc.probability_matrix(probabilities, len(classes))
        summary = summarise_reference(mc.predicted_classes(matrix, classes), "categorical")
        assert isinstance(summary, CategoricalSummary)
        predicted = summary
    if classes and probabilities is None:
        s = None  # a multiclass reference without probabilities cannot be judged
    cbpe, metrics, labelled = _performance(charter, s if matrix is None else matrix, y)
    dle = _dle(charter, frame, s, y) if charter.task == "regression" else None
    bounds: dict[str, Bound | NotComputable] = {}
    if reference_metrics(charter):
        if s is None or y is None:
            why = NotComputable("the reference has no scores and labels to learn a bound from")
            bounds = dict.fromkeys(reference_metrics(charter), why)
        else:
            known = np.isfinite(y)
            scored = s[known] if matrix is None else matrix[known]
            bounds = learn_bounds(charter, y[known], scored)
    return Reference(
        origin=origin,
        columns=columns,
        score=score,
        cbpe=cbpe,
        metrics=metrics,
        rows=frame.height,
        labelled=labelled,
        source=dict(source or {}),
        bounds=bounds,
        predicted=predicted,
        dle=dle,
        multivariate=_multivariate(charter, frame),
    )


def _multivariate(charter: Charter, frame: pl.DataFrame) -> Reconstruction | NotComputable | None:
    policy = charter.operations.monitor.multivariate
    if policy is None:
        return None
    kinds = {c.name: c.kind for c in monitored_columns(charter) if c.name in frame.columns}
    return Reconstruction.fit(frame, kinds, policy.variance)


def _dle(
    charter: Charter,
    frame: pl.DataFrame,
    scores: npt.NDArray[np.float64] | None,
    labels: npt.NDArray[np.float64] | None,
) -> DLE | NotComputable:
    if scores is None or labels is None:
        return NotComputable("the reference has no predictions and labels to fit DLE on")
    columns = [c for c in monitored_columns(charter) if c.name in frame.columns]
    inputs = frame.select(_typed(frame[c.name], c.kind) for c in columns)
    return DLE.fit(inputs, {c.name: c.kind for c in columns}, scores, labels)


def _performance(
    charter: Charter, scores: npt.NDArray[np.float64] | None, labels: npt.NDArray[np.float64] | None
) -> tuple[CBPE | MulticlassCBPE | NotComputable, dict[str, float | NotComputable], int]:
    if scores is None:
        return NotComputable("the reference has no scores"), {}, 0
    if labels is None:
        return NotComputable("the reference has no labels"), {}, 0
    if scores.ndim == 2:  # multiclass probabilities
        known = np.isfinite(labels) & np.isfinite(scores).all(axis=1)
        y, p = labels[known], scores[known]
        classes = charter.classes()
        fitted = MulticlassCBPE.fit(p, y, classes)
        return fitted, dict(mc.multiclass_metrics(y, p, classes)), int(known.sum())
    y, p, coverage = perf.labelled_pairs(labels, scores)
    if charter.task == "regression":
        reason = NotComputable("CBPE applies to classifiers only (regression: DLE)")
        return reason, dict(perf.regression_metrics(y, p)), coverage.labelled
    threshold = operating_point(charter.sufficiency, p).threshold  # 0.5 unless the charter says
    cbpe = CBPE.fit(p, y, threshold=threshold)
    return cbpe, dict(perf.classification_metrics(y, p, threshold)), coverage.labelled


def _typed(values: pl.Series, kind: Kind) -> pl.Series:
    """Values as the summaries want them: numbers (unparseable text becomes null) or text."""
    if kind == "numeric":
        if values.dtype == pl.String:
            return values.str.strip_chars().cast(pl.Float64, strict=False)
        return values.cast(pl.Float64, strict=False)
    return values.cast(pl.String)


# -- from a file given at registration ----------------------------------------------------------
def read_table(path: Path) -> pl.DataFrame:
    """A Parquet, CSV or JSON Lines file; a clear error for anything else."""
    if not path.is_file():
        raise DataError(f"reference file {path} does not exist")
    suffix = path.suffix.lower()
    try:
        if suffix == ".parquet":
            return pl.read_parquet(path)
        if suffix == ".csv":
            return pl.read_csv(path, infer_schema_length=10_000)
        if suffix in (".jsonl", ".ndjson"):
            return pl.read_ndjson(path)
    except (pl.exceptions.PolarsError, OSError, ValueError) as exc:
        raise DataError(f"{path}: cannot read the reference: {str(exc).splitlines()[0]}") from exc
    raise DataError(f"{path}: unknown file type {suffix!r}; use .parquet, .csv or .jsonl")


def summarise_file(
    charter: Charter, path: str | Path, predictor: Predictor | None, *, external: bool = False
) -> Reference:
    """The reference of a labelled file, scored by ``predictor`` (or, for ``external``
    predictions, by the contract's prediction column)."""
    path = Path(path)
    frame = read_table(path)
    inputs = charter.data.feature_columns()
    missing = [name for name in inputs if name not in frame.columns]
    if missing:
        raise DataError(
            f"{path}: the reference lacks the model input(s) {', '.join(map(repr, missing))}",
            hint=f"Columns in the file: {', '.join(frame.columns) or 'none'}.",
        )
    scores = _reference_scores(charter, frame, inputs, predictor, external, path)
    probabilities = None
    if scores is not None and scores.ndim == 2:  # multiclass: the predicted class's probability
        probabilities, scores = scores, np.max(scores, axis=1)
    labels = None
    target = charter.labels.target if charter.labels else None
    if target is not None and target in frame.columns:
        labels = (
            class_indices(frame[target], charter.classes())
            if charter.classes()
            else label_values(frame[target])
        ).to_numpy()
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    source = {
        "file": str(path),
        "sha256": digest,
        "label_column": target if labels is not None else None,
    }
    return build_reference(
        charter,
        frame,
        scores=scores,
        labels=labels,
        origin=REGISTRATION,
        source=source,
        probabilities=probabilities,
    )


def _reference_scores(
    charter: Charter,
    frame: pl.DataFrame,
    inputs: list[str],
    predictor: Predictor | None,
    external: bool,
    path: Path,
) -> npt.NDArray[np.float64] | None:
    if external:
        column = charter.data.prediction.column if charter.data.prediction else None
        if column is None or column not in frame.columns:
            raise DataError(f"{path}: external predictions need the column {column!r}")
        return frame[column].cast(pl.Float64, strict=False).to_numpy()
    if predictor is None:
        return None
    typed = frame.select(
        _typed(frame[c], "numeric") if charter.data.fields[c].type in ("int", "float") else frame[c]
        for c in inputs
    )
    try:
        out = np.asarray(predictor.predict(typed), dtype=np.float64)
    except CharterError:
        raise
    except Exception as exc:
        raise UserCodeError(f"the model failed to score the reference {path}: {exc}") from exc
    classes = charter.classes()
    if classes:
        model_classes = getattr(predictor, "classes", None)
        where = f"the model scoring the reference {path}"
        return class_probabilities(out, frame.height, model_classes, classes, where)
    if out.ndim == 2 and out.shape[1] in (1, 2):
        out = out[:, -1]
    if out.shape != (frame.height,):
        raise UserCodeError(
            f"the model returned shape {out.shape} for the {frame.height} reference rows"
        )
    return out


def label_values(values: pl.Series) -> pl.Series:
    """Labels as numbers: ``true``/``false`` text becomes 1/0; anything else not numeric, null."""
    if values.dtype == pl.String:
        lowered = values.str.strip_chars().str.to_lowercase()
        values = lowered.replace_strict({"true": "1", "false": "0"}, default=lowered)
    return values.cast(pl.Float64, strict=False)


def class_indices(values: pl.Series, classes: list[str]) -> pl.Series:
    """Multiclass labels as the index of their class in ``labels.values`` (others null)."""
    from charter.spec.model import label_text

    lookup = {text: float(i) for i, text in enumerate(classes)}
    text = pl.Series(
        [None if v is None else label_text(v) for v in values.to_list()], dtype=pl.String
    )
    return text.replace_strict(lookup, default=None, return_dtype=pl.Float64)


# -- storing and loading ------------------------------------------------------------------------
def store_reference(
    ws: Workspace, session: Session, name: str, version: str, reference: Reference
) -> None:
    """Insert or replace the version's reference of this origin, in ``session``'s transaction,
    with a ``reference.set`` ledger entry."""
    row = session.scalar(
        sa.select(MonitorReference).where(
            MonitorReference.charter == name,
            MonitorReference.version == version,
            MonitorReference.origin == reference.origin,
        )
    )
    if row is None:
        row = MonitorReference(charter=name, version=version, origin=reference.origin)
        session.add(row)
    row.fingerprint = reference.fingerprint
    row.rows, row.labelled = reference.rows, reference.labelled
    row.body = pack(reference.to_dict())
    row.created_at, row.created_by = ws.context.clock(), ws.context.who
    payload = {"version": version, "fingerprint": row.fingerprint, **reference.describe()}
    ws.ledger.append(session, "reference.set", payload, actor=ws.context.who, charter=name)


def load_reference(ws: Workspace, name: str, version: str, origin: str) -> Reference | None:
    with ws.db.read() as session:
        body = session.scalar(
            sa.select(MonitorReference.body).where(
                MonitorReference.charter == name,
                MonitorReference.version == version,
                MonitorReference.origin == origin,
            )
        )
    return None if body is None else Reference.from_dict(unpack(body))


def set_reference(
    ws: Workspace,
    name: str,
    version: str | int,
    file: str | Path,
    *,
    progress: Progress = SILENT,
) -> Reference:
    """Summarise labelled data ``file`` as the reference of ``version`` (``"external"`` when the
    rows carry their own predictions), scored by that version; store it; return it.
    ``progress`` hears of its three steps: loading the model, scoring and summarising, storing."""
    from charter.registry.versions import get_version, load_model

    charter = ws.load(name).charter
    version = str(version)
    progress.begin(f"reference {charter.name} {version}", 3)
    try:
        if version == EXTERNAL:
            progress.advance(note="no model: the rows carry their predictions")
            reference = summarise_file(charter, file, None, external=True)
        else:
            if not version.isdigit():
                raise CharterError(f"{version!r} is not a version number")
            get_version(ws, charter.name, int(version))  # a clear error for an unknown version
            progress.advance(note="loading the model")
            predictor = load_model(ws, charter.name, int(version))
            progress.advance(note=f"scoring and summarising {Path(file).name}")
            reference = summarise_file(charter, file, predictor)
        progress.advance(note="storing")
        with ws.db.session() as session:
            ws.db.serialize(session, f"monitor:{charter.name}")
            store_reference(ws, session, charter.name, version, reference)
    finally:
        progress.end()
    return reference
