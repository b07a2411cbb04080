"""The sufficiency verdict: each rule the owner agreed, judged on a window's *realized* metrics.

A rule (``{metric: roc_auc, at_least: 0.75, warn_at: 0.78, segment: ...}``) is judged on the
window's labelled predictions inside its segment:

- fewer labelled rows than ``sufficiency.min_labels`` (counted inside the rule's segment) →
  ``insufficient_evidence``; the value is still shown when it can be computed;
- a metric that cannot be computed on those rows (one class only, probabilities outside
  [0, 1], ...) → ``insufficient_evidence`` with the reason;
- worse than the threshold (``at_least``/``at_most``) → ``breach``;
- else worse than ``warn_at`` → ``warn``; else ``pass``.

The contract's verdict is the worst rule: ``breach`` > ``warn`` > ``insufficient_evidence`` >
``pass``. A proven problem outranks missing evidence, and "pass" needs every rule proven.

**Estimated performance never decides the verdict.** CBPE (:mod:`.cbpe`) estimates roc_auc,
accuracy, precision, recall and f1 from scores alone; it holds only while the score→outcome
relation is the reference's, which is exactly what cannot be checked without labels. So an
estimate is shown beside each rule with its own status, ``ok``, ``warn`` (worse than
``warn_at``) or ``at_risk`` (worse than the threshold), and raises a flag; it never produces a
breach. The owner's contract is judged on outcomes that happened.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from charter.engines.summaries import NotComputable
from charter.monitoring import multiclass as mc
from charter.monitoring import performance as perf
from charter.monitoring.cbpe import Estimate
from charter.spec.metrics import metric_info
from charter.spec.model import MetricRule

Verdict = Literal["pass", "warn", "breach", "insufficient_evidence"]
EstimateStatus = Literal["ok", "warn", "at_risk"]
SEVERITY: Mapping[str, int] = {"pass": 0, "insufficient_evidence": 1, "warn": 2, "breach": 3}
Result = float | NotComputable


def realized(
    metric: str,
    labels: npt.ArrayLike,
    scores: npt.ArrayLike,
    threshold: float = perf.DEFAULT_THRESHOLD,
    classes: Sequence[str] = (),
) -> Result:
    """One realized metric by its charter name (see :mod:`.performance`), label-based ones at
    the operating point ``threshold``; with ``classes``, ``scores`` is a multiclass model's
    probability matrix (see :mod:`.multiclass`)."""
    if classes:
        return mc.metric(metric, labels, scores, classes)
    if metric in perf.THRESHOLD_METRICS:
        return perf.THRESHOLD_METRICS[metric](labels, scores, threshold)
    if metric in perf.SCORE_METRICS:
        return perf.SCORE_METRICS[metric](labels, scores)
    return perf.REGRESSION_METRICS[metric](labels, scores)


def worse(metric: str, value: float, level: float) -> bool:
    """Whether ``value`` is on the bad side of ``level`` for this metric."""
    return value < level if metric_info(metric).higher_is_better else value > level


@dataclass(frozen=True)
class RuleVerdict:
    """One rule's verdict with the numbers behind it."""

    rule: MetricRule
    status: Verdict
    labels: int
    value: Result
    reason: str | None = None
    estimate: Estimate | NotComputable | None = None
    bound: Mapping[str, Any] | None = None  # a reference bound: mean, std, lower, upper

    @property
    def limit(self) -> float | None:
        """The threshold judged: the rule's number, or the reference bound learnt for it."""
        threshold = self.rule.threshold
        if threshold != "reference":
            return float(threshold)
        if self.bound is None:
            return None
        side = "lower" if metric_info(self.rule.metric).higher_is_better else "upper"
        return float(self.bound[side])

    @property
    def estimate_status(self) -> EstimateStatus | None:
        if not isinstance(self.estimate, Estimate) or self.limit is None:
            return None
        if worse(self.rule.metric, self.estimate.value, self.limit):
            return "at_risk"
        if self.rule.warn_at is not None and worse(
            self.rule.metric, self.estimate.value, self.rule.warn_at
        ):
            return "warn"
        return "ok"

    def to_dict(self) -> dict[str, Any]:
        rule = self.rule
        body: dict[str, Any] = {
            "metric": rule.metric,
            "segment": rule.segment,
            "at_least": rule.at_least,
            "at_most": rule.at_most,
            "warn_at": rule.warn_at,
            "threshold": self.limit,
            "status": self.status,
            "labels": self.labels,
            "value": _value(self.value),
        }
        if self.reason is not None:
            body["reason"] = self.reason
        if self.bound is not None:
            body["bound"] = dict(self.bound)
        if self.estimate is not None:
            estimate: dict[str, Any] = dict(self.estimate.to_dict())
            if isinstance(self.estimate, Estimate):
                estimate["status"] = self.estimate_status
            body["estimate"] = estimate
        return body


def _value(result: Result) -> Any:
    return result.to_dict() if isinstance(result, NotComputable) else result


def judge_rule(
    rule: MetricRule,
    labels: npt.ArrayLike,
    scores: npt.ArrayLike,
    *,
    min_labels: int,
    estimate: Estimate | NotComputable | None = None,
    threshold: float = perf.DEFAULT_THRESHOLD,
    bound: Mapping[str, Any] | NotComputable | None = None,
    classes: Sequence[str] = (),
) -> RuleVerdict:
    """Judge ``rule`` on the labelled pairs of its segment; ``estimate`` (CBPE on every row of
    the segment, labelled or not) is shown beside it and never changes the status."""
    y = np.asarray(labels, dtype=np.float64)
    count = int(y.size)
    value = (
        realized(rule.metric, y, scores, threshold, classes)
        if count
        else NotComputable("no labelled predictions")
    )
    known = None if isinstance(bound, NotComputable) else bound
    verdict = partial(RuleVerdict, rule, labels=count, value=value, estimate=estimate, bound=known)
    if isinstance(bound, NotComputable):
        return verdict(status="insufficient_evidence", reason=f"no reference bound: {bound.reason}")
    if count < min_labels:
        reason = f"{count} labels, fewer than min_labels {min_labels}"
        return verdict(status="insufficient_evidence", reason=reason)
    if isinstance(value, NotComputable):
        return verdict(status="insufficient_evidence", reason=value.reason)
    limit = verdict(status="pass").limit
    if limit is None:
        reason = "the rule is bounded by the reference, which has no bound for it"
        return verdict(status="insufficient_evidence", reason=reason)
    if worse(rule.metric, value, limit):
        status: Verdict = "breach"
    elif rule.warn_at is not None and worse(rule.metric, value, rule.warn_at):
        status = "warn"
    else:
        status = "pass"
    return verdict(status=status)


def verdict_reason(rules: Iterable[RuleVerdict], verdict: str) -> str | None:
    """Why the contract's verdict is what it is, for a person: the reasons of the rules that
    set it (e.g. ``roc_auc: 50 labels, fewer than min_labels 100``); ``None`` on a pass."""
    reasons = []
    for rule in rules:
        if rule.status != verdict or verdict == "pass":
            continue
        where = f" [{rule.rule.segment}]" if rule.rule.segment else ""
        if rule.reason is not None:
            reasons.append(f"{rule.rule.metric}{where}: {rule.reason}")
        elif isinstance(rule.value, float):
            reasons.append(f"{rule.rule.metric}{where} = {rule.value:.3f}")
    return "; ".join(reasons) or None


def contract_verdict(rules: Iterable[RuleVerdict]) -> Verdict:
    """The worst rule's status (see the module docstring for the order)."""
    worst: Verdict = "pass"
    for rule in rules:
        if SEVERITY[rule.status] > SEVERITY[worst]:
            worst = rule.status
    return worst


def estimated_status(rules: Iterable[RuleVerdict]) -> EstimateStatus | None:
    """The worst estimate status over the rules that have one (``None`` when none has)."""
    order: dict[EstimateStatus, int] = {"ok": 0, "warn": 1, "at_risk": 2}
    statuses: list[EstimateStatus] = [s for r in rules if (s := r.estimate_status) is not None]
    if not statuses:
        return None
    worst: EstimateStatus = max(statuses, key=order.__getitem__)
    return worst
