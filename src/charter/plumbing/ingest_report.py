"""What an ingest run did: per batch counts and findings, failed and skipped files, totals.

The report is the service's return value and the body of ``charter ingest --json``. Its totals are
sums over the committed batches, each of which balances: ``rows_in == rows_scored +
rows_quarantined`` (ingestion refuses to commit a batch that does not).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from charter.engines.rules import BatchRuleResult
from charter.schemas import data as schemas


@dataclass
class BatchSummary:
    """One committed batch: where it came from, its counts, and what validation found."""

    batch_id: str
    source: str  # the landing file (relative to the folder) or the SQL cursor range
    kind: str  # "file" or "sql"
    rows_in: int = 0
    rows_scored: int = 0
    rows_quarantined: int = 0
    rows_late: int = 0
    cursor_from: str | None = None
    cursor_to: str | None = None
    scored_by: list[dict[str, str]] = field(default_factory=list)
    violations: dict[str, int] = field(default_factory=dict)
    batch_rules: list[dict[str, Any]] = field(default_factory=list)
    schema_changes: list[dict[str, str]] = field(default_factory=list)
    predictions: list[str] = field(default_factory=list)  # relative to the state folder
    quarantine: list[str] = field(default_factory=list)
    # versions that failed on rows of this batch: version, status, rows, error (see isolation)
    scoring_failures: list[dict[str, Any]] = field(default_factory=list)

    @property
    def balanced(self) -> bool:
        return self.rows_in == self.rows_scored + self.rows_quarantined

    def count_violations(self, counts: dict[str, int]) -> None:
        for rule, count in counts.items():
            self.violations[rule] = self.violations.get(rule, 0) + count

    def to_schema(self, *, with_source: bool = False) -> schemas.Batch:
        """``with_source``: also the ``source`` key (a replay's batch says where it came from)."""
        return schemas.Batch(
            batch_id=self.batch_id,
            kind=self.kind,
            **{"file" if self.kind == "file" else "cursor_range": self.source},
            rows_in=self.rows_in,
            rows_scored=self.rows_scored,
            rows_quarantined=self.rows_quarantined,
            rows_late=self.rows_late,
            balanced=self.balanced,
            scored_by=self.scored_by,
            violations=self.violations,
            batch_rules=self.batch_rules,
            schema_changes=self.schema_changes,
            predictions=self.predictions,
            quarantine=self.quarantine,
            scoring_failures=self.scoring_failures,
            cursor_from=self.cursor_from,
            cursor_to=self.cursor_to,
            source=self.source if with_source else None,
        )

    def to_dict(self) -> dict[str, Any]:
        return self.to_schema().to_json_dict()

    def details(self) -> dict[str, Any]:
        """What the batch record keeps beyond its columns."""
        return {
            "scored_by": self.scored_by,
            "violations": self.violations,
            "batch_rules": self.batch_rules,
            "schema_changes": self.schema_changes,
            "scoring_failures": self.scoring_failures,
        }

    def ledger_payload(
        self, predictions: list[tuple[str, str]], quarantine: list[tuple[str, str]]
    ) -> dict[str, Any]:
        """The audit entry: counts, and the SHA-256 of each file so the log can be checked later."""
        return {
            "batch_id": self.batch_id,
            "source": self.source,
            "rows_in": self.rows_in,
            "rows_scored": self.rows_scored,
            "rows_quarantined": self.rows_quarantined,
            "rows_late": self.rows_late,
            "scored_by": self.scored_by,
            "violations": self.violations,
            "schema_changes": [f"{c['kind']}:{c['column']}" for c in self.schema_changes],
            "failed_batch_rules": [r["rule"] for r in self.batch_rules if not r["ok"]],
            "predictions": [{"path": p, "sha256": d} for p, d in predictions],
            "quarantine": [{"path": p, "sha256": d} for p, d in quarantine],
            "scoring_failures": self.scoring_failures,
        }


@dataclass
class IngestReport:
    """Everything one ``ingest`` run did."""

    charter: str
    scored_by: list[dict[str, str]] = field(default_factory=list)
    note: str | None = None
    batches: list[BatchSummary] = field(default_factory=list)
    files_failed: list[dict[str, str]] = field(default_factory=list)
    files_skipped: list[dict[str, str]] = field(default_factory=list)
    files_waiting: list[dict[str, str]] = field(default_factory=list)
    warnings: list[dict[str, str]] = field(default_factory=list)
    null_cursor_rows: int | None = None  # SQL sources only: rows no cursor range can reach
    rows_reread: int = 0  # SQL look-back: rows read again and skipped as already ingested

    def add(self, batch: BatchSummary) -> None:
        self.batches.append(batch)

    def wait(self, file: str, reason: str) -> None:
        """A file not complete yet (settle period or marker): neither read nor failed."""
        self.files_waiting.append({"file": file, "reason": reason})

    def warn(self, source: str, warning: str) -> None:
        self.warnings.append({"source": source, "warning": warning})

    def fail(self, file: str, error: str) -> None:
        self.files_failed.append({"file": file, "error": error})

    def skip(self, file: str, reason: str) -> None:
        self.files_skipped.append({"file": file, "reason": reason})

    def _total(self, name: str) -> int:
        return sum(getattr(b, name) for b in self.batches)

    @property
    def rows_in(self) -> int:
        return self._total("rows_in")

    @property
    def rows_scored(self) -> int:
        return self._total("rows_scored")

    @property
    def rows_quarantined(self) -> int:
        return self._total("rows_quarantined")

    @property
    def rows_late(self) -> int:
        return self._total("rows_late")

    @property
    def balanced(self) -> bool:
        return all(b.balanced for b in self.batches)

    def to_schema(
        self, attention: Sequence[schemas.Attention] | None = None
    ) -> schemas.IngestResult:
        """``attention``: the facts the CLI lists (``charter ingest --json``)."""
        return schemas.IngestResult(
            charter=self.charter,
            rows_in=self.rows_in,
            rows_scored=self.rows_scored,
            rows_quarantined=self.rows_quarantined,
            rows_late=self.rows_late,
            balanced=self.balanced,
            scored_by=self.scored_by,
            note=self.note,
            batches=[b.to_schema() for b in self.batches],
            files_failed=self.files_failed,
            files_skipped=self.files_skipped,
            files_waiting=self.files_waiting,
            warnings=self.warnings,
            null_cursor_rows=self.null_cursor_rows,
            rows_reread=self.rows_reread,
            attention=None if attention is None else list(attention),
        )

    def to_dict(self) -> dict[str, Any]:
        return self.to_schema().to_json_dict()


def merge_batch_rules(
    chunks: Sequence[tuple[int, Sequence[BatchRuleResult]]],
) -> list[dict[str, Any]]:
    """The batch rules of a batch read in several chunks, judged on the whole batch.

    ``chunks`` holds (rows, rule results) per chunk. Validation judges each chunk it is given; a
    batch read in chunks is judged here from the chunks' observations: volume adds up, a null
    fraction is the row-weighted mean, and the freshness age is the youngest chunk's.
    """
    if len(chunks) == 1:
        return [result.to_dict() for result in chunks[0][1]]
    total = sum(rows for rows, _ in chunks)
    first: dict[str, BatchRuleResult] = {}
    observed: dict[str, Any] = {}
    for rows, results in chunks:
        for result in results:
            first.setdefault(result.rule, result)
            observed[result.rule] = _combine(result, rows, observed.get(result.rule), total)
    return [
        BatchRuleResult(
            rule, _ok(result, observed[rule]), observed[rule], result.expected
        ).to_dict()
        for rule, result in first.items()
    ]


def _combine(result: BatchRuleResult, rows: int, before: Any, total: int) -> Any:
    value = result.observed
    if result.rule.startswith("volume."):
        return (before or 0) + rows
    if result.rule.endswith(".max_null_fraction") and isinstance(value, int | float):
        return (before or 0.0) + (value * rows / total if total else 0.0)
    if isinstance(value, timedelta) and isinstance(before, timedelta):
        return min(value, before)
    return value if before is None else before


def _ok(result: BatchRuleResult, observed: Any) -> bool:
    if observed is None:
        return False
    if result.rule == "volume.min_rows":
        return bool(observed >= result.expected)
    return bool(observed <= result.expected)
