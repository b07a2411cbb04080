"""A failing model version fails alone: find the rows it cannot score, record it, go on.

Scoring a chunk with one version is one call to its model. When that call raises (a column the
model needs is missing, a value it cannot take such as ``inf`` or a null, a bug), the chunk is
bisected: each failing part is split in two and scored again, down to single rows, so that the
rows the version *can* score still get their score. Three single rows (first, middle, last) are
tried first: when all three fail, the version fails everywhere and the whole chunk is taken as
failed without bisecting it. The bisection spends at most :data:`CALL_BUDGET` calls per chunk;
parts still failing when it runs out are taken as failed whole.

What happens to the failing rows depends on the version (see :mod:`.ingest_batch`): the live
version's are quarantined with a ``model_error`` rule naming the version and the error; a shadow
or standby version simply logs no score for them. Either way the failure is recorded per version
and batch in ``scoring_failures`` in the batch's transaction, and raised as a ``version_failed``
alert once the batch is committed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

import numpy as np
import polars as pl
from sqlalchemy.orm import Session

from charter.engines.rules import VIOLATIONS
from charter.errors import CharterError
from charter.plumbing import predictions as log
from charter.plumbing.predictions import Scores
from charter.store.tables import ScoringFailure
from charter.workspace import Workspace

logger = logging.getLogger("charter.scoring")

ROW = "_row"  # the row's index in its batch (as in :mod:`.ingest_batch`)
CALL_BUDGET = 256
MODEL_ERROR = "model_error"
_ERROR_CHARS = 300

Predict = Callable[[pl.DataFrame], np.ndarray[Any, Any]]


@dataclass
class VersionScores:
    """One version's scores for the valid rows of a chunk; ``failed`` marks rows it could not score."""

    version: str
    status: str
    values: np.ndarray[Any, Any] | pl.Series  # a Series for a prediction column (keeps nulls)
    failed: np.ndarray[Any, Any]
    errors: dict[int, str] = field(default_factory=dict)  # position in the chunk -> error

    @property
    def failures(self) -> int:
        return int(self.failed.sum())

    def first_error(self) -> str:
        return next(iter(self.errors.values()), "")

    def only(self, keep: np.ndarray[Any, Any]) -> VersionScores:
        """These scores for the rows ``keep`` marks (positions renumbered)."""
        positions = np.flatnonzero(keep)
        renumber = {int(old): new for new, old in enumerate(positions)}
        errors = {renumber[p]: e for p, e in self.errors.items() if p in renumber}
        return VersionScores(
            self.version, self.status, self.values[keep], self.failed[keep], errors
        )


def describe(exc: BaseException) -> str:
    """``ValueError: Input contains infinity``: short enough to sit in a quarantine rule."""
    said = exc.message if isinstance(exc, CharterError) else f"{type(exc).__name__}: {exc}"
    text = said.replace("\n", " ").strip()
    return text if len(text) <= _ERROR_CHARS else text[: _ERROR_CHARS - 1] + "…"


def score_isolating(
    version: str,
    status: str,
    predict: Predict,
    frame: pl.DataFrame,
    *,
    budget: int = CALL_BUDGET,
    width: int = 0,
) -> VersionScores:
    """Score ``frame`` with ``predict``; on failure, bisect to the rows that fail. ``width``:
    a multiclass model's classes (``predict`` gives a row of probabilities per row)."""
    n = frame.height
    values = np.full((n, width) if width else n, np.nan, dtype=np.float64)
    failed = np.zeros(n, dtype=bool)
    result = VersionScores(version, status, values, failed)
    calls = 0

    def attempt(lo: int, hi: int) -> str | None:
        nonlocal calls
        calls += 1
        try:
            values[lo:hi] = predict(frame.slice(lo, hi - lo))
        except Exception as exc:  # the model's failure is data about the model, not a crash
            return describe(exc)
        return None

    def give_up(lo: int, hi: int, error: str) -> None:
        failed[lo:hi] = True
        result.errors.update(dict.fromkeys(range(lo, hi), error))

    error = attempt(0, n) if n else None
    if error is None:
        return result
    if n > 3 and all(attempt(i, i + 1) is not None for i in (0, n // 2, n - 1)):
        give_up(0, n, error)  # fails on every row tried: the version fails everywhere
        return result
    pending = [(0, n, error)]
    while pending:
        lo, hi, error = pending.pop()
        if hi - lo == 1 or calls >= budget:
            give_up(lo, hi, error)
            continue
        mid = (lo + hi) // 2
        for a, b in ((mid, hi), (lo, mid)):
            found = attempt(a, b)
            if found is not None:
                pending.append((a, b, found))
    return result


def failed_everywhere(
    version: str, status: str, rows: int, error: str, width: int = 0
) -> VersionScores:
    """A version that could not even be loaded: every row failed with ``error``."""
    failed = np.ones(rows, dtype=bool)
    scores = VersionScores(
        version, status, np.full((rows, width) if width else rows, np.nan), failed
    )
    scores.errors = dict.fromkeys(range(rows), error)
    return scores


def model_error_rule(version: str, error: str) -> str:
    """The quarantine rule of a row the live version could not score."""
    return f"{MODEL_ERROR}: version {version}: {error}"


@dataclass(frozen=True)
class Rejected:
    """Rows the live version could not score, as quarantine rows, and their mask over ``valid``."""

    rows: pl.DataFrame
    mask: np.ndarray[Any, Any]


def quarantine_model_errors(
    chunk: pl.DataFrame, valid: pl.DataFrame, scored: Sequence[VersionScores]
) -> Rejected | None:
    """The live version's failed rows, as they arrived in ``chunk``, with a ``model_error`` rule."""
    live = next((v for v in scored if v.status == "live" and v.failures), None)
    if live is None:
        return None
    positions = np.flatnonzero(live.failed)
    rows = valid.get_column(ROW).gather(positions.tolist())
    rules = pl.DataFrame(
        {
            ROW: rows,
            VIOLATIONS: [[model_error_rule(live.version, live.errors[int(p)])] for p in positions],
        },
        schema={ROW: pl.Int64, VIOLATIONS: pl.List(pl.String)},
    )
    raw = chunk.join(rules, on=ROW, how="inner").sort(ROW)
    return Rejected(raw, live.failed.copy())


class ScoredChunk(NamedTuple):
    """A chunk's valid rows after scoring: those the live version could score, with their
    event times, late flags and every version's scores; ``failed`` gained the others."""

    valid: pl.DataFrame
    event_time: pl.Series
    late: pl.Series
    scored: list[VersionScores]
    failed: pl.DataFrame


def score_chunk(
    score: Callable[[pl.DataFrame], list[VersionScores]],
    chunk: pl.DataFrame,
    valid: pl.DataFrame,
    failed: pl.DataFrame,
    event_time: pl.Series,
    late: pl.Series,
    tally: FailureTally,
) -> ScoredChunk:
    """Score ``valid`` (rows of ``chunk``) with every version, counting failures in ``tally``;
    rows the live version could not score move to ``failed`` as ``model_error``."""
    scored = score(valid)
    for version in scored:
        tally.add(version)
    rejected = quarantine_model_errors(chunk, valid, scored)
    if rejected is not None:  # the live version could not score these rows
        keep = ~rejected.mask
        valid, event_time, late = valid.filter(keep), event_time.filter(keep), late.filter(keep)
        scored = [v.only(keep) for v in scored]
        failed = pl.concat([failed, rejected.rows], how="diagonal_relaxed").sort(ROW)
    return ScoredChunk(valid, event_time, late, scored, failed)


def log_scored(
    valid: pl.DataFrame,
    scored: Sequence[VersionScores],
    *,
    batch_id: str,
    key: str,
    event_time: pl.Series,
    late: pl.Series,
    features: Sequence[str],
    ingested_at: datetime,
    acting: bool = True,
) -> pl.DataFrame:
    """The log rows of a chunk: each version's scored rows; rows no version scored, unscored.

    ``acting`` False (the charter is suspended): nothing is logged as acted on."""
    common: dict[str, Any] = {"batch_id": batch_id, "key": key, "features": features}
    common["acting"] = acting
    common["ingested_at"] = ingested_at
    if not any(v.failures for v in scored):  # the usual case: one frame, every version
        scores = [Scores(v.version, v.status, v.values) for v in scored]
        return log.log_rows(valid, event_time=event_time, late=late, scores=scores, **common)
    parts = []
    for v in scored:
        keep = ~v.failed
        if keep.any():
            parts.append(
                log.log_rows(
                    valid.filter(keep),
                    event_time=event_time.filter(keep),
                    late=late.filter(keep),
                    scores=[Scores(v.version, v.status, v.values[keep])],
                    **common,
                )
            )
    unscored = np.logical_and.reduce([v.failed for v in scored])
    if unscored.any():  # logged all the same, so that `charter rescore` can score them later
        parts.append(
            log.log_rows(
                valid.filter(unscored),
                event_time=event_time.filter(unscored),
                late=late.filter(unscored),
                scores=[],
                **common,
            )
        )
    return pl.concat(parts, how="diagonal_relaxed")


@dataclass
class FailureTally:
    """A batch's scoring failures so far, per version: rows and the first error."""

    by_version: dict[str, dict[str, Any]] = field(default_factory=dict)

    def add(self, scores: VersionScores) -> None:
        if not scores.failures:
            return
        found = self.by_version.setdefault(
            scores.version,
            {"version": scores.version, "status": scores.status, "rows": 0, "error": ""},
        )
        found["rows"] += scores.failures
        found["error"] = found["error"] or scores.first_error()

    def as_list(self) -> list[dict[str, Any]]:
        return [dict(v) for v in self.by_version.values()]


def record_failures(
    session: Session,
    charter: str,
    batch_id: str,
    file: str,
    failures: Sequence[Mapping[str, Any]],
    at: datetime,
) -> None:
    """Insert the batch's ``scoring_failures`` rows in the caller's (the batch's) transaction."""
    for f in failures:
        session.add(
            ScoringFailure(
                charter=charter,
                version=str(f["version"]),
                status=str(f["status"]),
                batch_id=batch_id,
                file=file,
                error=str(f["error"]),
                rows=int(f["rows"]),
                at=at,
            )
        )


def alert_failures(
    ws: Workspace, charter: str, file: str, failures: Sequence[Mapping[str, Any]]
) -> None:
    """A ``version_failed`` alert per failing version (repeats are counted, not re-sent)."""
    if not failures:
        return
    from charter.alerts.raising import raise_alert  # operations builds on plumbing

    for f in failures:
        live = f["status"] == "live"
        fate = "quarantined (model_error)" if live else "logged without its score"
        try:
            raise_alert(
                ws,
                charter,
                event="version_failed",
                rule=f"scoring.version_{f['version']}",
                window=None,
                severity="critical" if live else "warning",
                message=f"{charter}: {f['status']} version {f['version']} failed on {f['rows']} "
                f"row(s) of {file}: {f['error']}; those rows were {fate}, the rest were scored",
                details={**dict(f), "file": file},
            )
        except Exception as exc:  # the failure is recorded already; the alert is a courtesy
            logger.error("%s: could not raise the version_failed alert: %s", charter, exc)
