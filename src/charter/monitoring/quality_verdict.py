"""The data-quality verdict of a window: missing values and unseen values, with warn/breach levels.

Judged per input on the window's merged summary (no extra read of the log):

- **contract limit**: a field's ``max_null_fraction`` (``data.fields``) is a limit the data owner
  agreed; a window whose share of missing values is above it breaches;
- ``sufficiency.quality.missing_rate_increase``: the window's share of missing values minus the
  reference's, in points (``0.05`` is 5 points more missing than in the reference);
- ``sufficiency.quality.unseen_share``: the share of non-missing values outside the range the
  reference saw (numeric inputs: below its minimum or above its maximum, read off the
  histogram's outer bins) or not among the reference's categories (categorical inputs). Values
  outside the contract's own ``min``/``max`` never get this far: they are quarantined.

A measure at or above its ``breach`` level breaches, else at or above ``warn`` warns. The
quality verdict is the worst problem, ``pass`` when there is none; it enters the window's verdict
(:mod:`.evaluation`) and a breach raises ``quality_breach`` (:mod:`charter.alerts.windows`).
"""

from __future__ import annotations

from typing import Any

from charter.engines.summaries import CategoricalSummary, ColumnSummary, NumericSummary
from charter.monitoring.reference import Reference
from charter.monitoring.windows import WindowSummary
from charter.spec.model import Charter, Levels


def _level(value: float, levels: Levels) -> str | None:
    if levels.breach is not None and value >= levels.breach:
        return "breach"
    if levels.warn is not None and value >= levels.warn:
        return "warn"
    return None


def _problem(column: str, measure: str, value: float, level: str, limit: float, text: str) -> Any:
    return {
        "column": column,
        "measure": measure,
        "value": value,
        "level": level,
        "limit": limit,
        "message": f"{column}: {text} {value:.1%} (limit {limit:.1%})",
    }


def _unseen(summary: ColumnSummary) -> tuple[float, str] | None:
    """The share of non-missing values that are out of range / unseen, and how to say it."""
    if summary.count == 0:
        return None
    if isinstance(summary, NumericSummary):
        if summary.edges.size == 0:  # no reference to compare with
            return None
        # the outer bins hold exactly the values below the reference's min or above its max
        outside = int(summary.counts[0] + summary.counts[-1])
        return outside / summary.count, "values outside the reference's range"
    assert isinstance(summary, CategoricalSummary)
    if summary.known is None:
        return None
    return summary.unseen_count / summary.count, "categories unseen in the reference"


def judge_quality(
    charter: Charter, summary: WindowSummary, reference: Reference | None
) -> dict[str, Any]:
    """The window's quality verdict: ``{"status", "problems"}`` (see the module docstring)."""
    policy = charter.sufficiency.quality
    problems: list[dict[str, Any]] = []
    for name, column in sorted(summary.columns.items()):
        if column.rows == 0:
            continue
        missing = column.null_count / column.rows
        spec = charter.data.fields.get(name)
        limit = spec.max_null_fraction if spec is not None else None
        if limit is not None and missing > limit:
            text = "missing values (contract max_null_fraction)"
            problems.append(_problem(name, "max_null_fraction", missing, "breach", limit, text))
        if policy is None:
            continue
        ref = reference.columns.get(name) if reference is not None else None
        if policy.missing_rate_increase is not None and ref is not None and ref.rows:
            increase = missing - ref.null_count / ref.rows
            level = _level(increase, policy.missing_rate_increase)
            if level is not None:
                limit = getattr(policy.missing_rate_increase, level)
                text = "missing values up on the reference by"
                problems.append(
                    _problem(name, "missing_rate_increase", increase, level, limit, text)
                )
        unseen = _unseen(column)
        if policy.unseen_share is not None and unseen is not None:
            share, text = unseen
            level = _level(share, policy.unseen_share)
            if level is not None:
                limit = getattr(policy.unseen_share, level)
                problems.append(_problem(name, "unseen_share", share, level, limit, text))
    levels = {p["level"] for p in problems}
    status = "breach" if "breach" in levels else "warn" if "warn" in levels else "pass"
    return {"status": status, "problems": problems}
