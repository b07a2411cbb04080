"""One window's numbers: data quality, drift, realized and estimated performance, the verdict.

Quality and drift come from the window's merged summary (:class:`.windows.WindowSummary`);
performance from its rows as read from the prediction log joined with labels (ranking metrics
have no exact mergeable summary, see :mod:`.performance`). The output is plain JSON data:
every number is finite, and anything that cannot be computed is ``{"not_computable": reason}``.

Drift: every method that applies to a column's kind is reported; the charter's method
(``operations.monitor.drift.method``; ``auto``, the default, picks one per kind, see
:mod:`.drift`) is judged against the charter's ``warn``/``breach`` levels and significance gate
and marked ``"judged": true``. The others are judged against their own default levels (see
:mod:`.drift`) and shown for context. When the charter's method does not apply to a column's kind
(``ks`` on a categorical column), that column is judged by PSI at PSI's default levels.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import polars as pl

from charter.engines.summaries import (
    CategoricalSummary,
    ColumnSummary,
    Kind,
    NotComputable,
    NumericSummary,
)
from charter.errors import ExpressionError
from charter.monitoring import multiclass as mc
from charter.monitoring import performance as perf
from charter.monitoring.cbpe import CBPE, ESTIMATED, Estimate
from charter.monitoring.cbpe_multiclass import MulticlassCBPE
from charter.monitoring.dle import DLE, ESTIMATED_REGRESSION
from charter.monitoring.drift import (
    AUTO,
    DEFAULT_METHOD,
    METHODS,
    DriftResult,
    MethodName,
    measure_drift,
)
from charter.monitoring.multivariate import Reconstruction
from charter.monitoring.operating_point import OperatingPoint, operating_point
from charter.monitoring.quality_verdict import judge_quality
from charter.monitoring.reference import Reference
from charter.monitoring.verdict import (
    SEVERITY,
    RuleVerdict,
    contract_verdict,
    estimated_status,
    judge_rule,
    verdict_reason,
)
from charter.monitoring.windows import INPUT_PREFIX, UNSCORED, WindowSummary, from_us
from charter.spec.expressions import compile_segment, to_polars
from charter.spec.model import Charter, DriftPolicy, MetricRule

DRIFT_ORDER = {"not_computable": -1, "pass": 0, "warn": 1, "breach": 2}


def nc(reason: str) -> dict[str, str]:
    return {"not_computable": reason}


def finite(value: Any) -> Any:
    """JSON-safe data: a non-finite float anywhere becomes ``not computable`` (never NaN)."""
    if isinstance(value, float) and not math.isfinite(value):
        return nc(f"the value is not finite ({value})")
    if isinstance(value, NotComputable | Estimate):
        return finite(value.to_dict())
    if isinstance(value, Mapping):
        return {str(k): finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite(v) for v in value]
    if isinstance(value, np.floating | np.integer):
        return finite(value.item())
    return value


def _fraction(part: int, whole: int, empty: str) -> Any:
    return part / whole if whole else nc(empty)


# -- quality ------------------------------------------------------------------------------------
def column_quality(summary: ColumnSummary) -> dict[str, Any]:
    """Nulls, range and unseen categories of one column in one window."""
    rows = summary.rows
    body: dict[str, Any] = {
        "rows": rows,
        "nulls": summary.null_count,
        "null_fraction": _fraction(summary.null_count, rows, "the window has no rows"),
    }
    if isinstance(summary, NumericSummary):
        lo, hi = summary.valid_range
        outside = summary.below_range + summary.above_range
        body["out_of_range"] = outside
        body["out_of_range_fraction"] = (
            _fraction(outside, summary.count, "no non-null values")
            if lo is not None or hi is not None
            else nc("the contract sets no min or max")
        )
        body.update(mean=summary.mean, std=summary.std, min=summary.minimum, max=summary.maximum)
    else:
        assert isinstance(summary, CategoricalSummary)
        body["distinct"] = len(summary.counts) + (1 if summary.other_count else 0)
        body["unseen"] = summary.unseen_count
        body["unseen_fraction"] = (
            nc("no reference categories to compare with")
            if summary.known is None
            else _fraction(summary.unseen_count, summary.count, "no non-null values")
        )
        if summary.known is not None:
            body["unseen_values"] = sorted(set(summary.counts) - summary.known)[:20]
    return body


def quality(summary: WindowSummary) -> dict[str, Any]:
    fresh = summary.freshness
    return {
        "rows": fresh.rows,
        "late": fresh.late,
        "late_fraction": _fraction(fresh.late, fresh.rows, "the window has no rows"),
        "mean_delay_seconds": (
            fresh.delay_sum_s / fresh.rows if fresh.rows else nc("the window has no rows")
        ),
        "max_delay_seconds": fresh.delay_max_s
        if fresh.delay_max_s is not None
        else nc("the window has no rows"),
        "first_event": None if fresh.first_us is None else from_us(fresh.first_us).isoformat(),
        "last_event": None if fresh.last_us is None else from_us(fresh.last_us).isoformat(),
        "columns": {name: column_quality(s) for name, s in summary.columns.items()},
        "score": column_quality(summary.score),
    }


# -- drift --------------------------------------------------------------------------------------
def _drift_entry(result: DriftResult, judged: bool) -> dict[str, Any]:
    body: dict[str, Any] = {"value": result.value, "status": result.status, "judged": judged}
    if result.reason is not None:
        body["reason"] = result.reason
    body.update(warn=result.warn, breach=result.breach, p_value=result.p_value)
    if result.significance is not None:
        body["significance"] = result.significance
    return body


def judged_method(policy: DriftPolicy, kind: Kind) -> MethodName:
    """The method judged on a column of ``kind``: auto's choice for the kind, else the charter's
    method, else (a method that does not apply to the kind) the kind's fallback."""
    if policy.method == "auto":
        return AUTO[kind].method
    if kind in METHODS[policy.method].kinds:
        return policy.method
    return DEFAULT_METHOD[kind]


def column_drift(
    reference: ColumnSummary | None, current: ColumnSummary, policy: DriftPolicy
) -> dict[str, dict[str, Any]]:
    """Every applicable method on one column (see the module docstring for which is judged)."""
    methods = [m for m in METHODS.values() if current.kind in m.kinds]
    judged = judged_method(policy, current.kind)
    # The charter's levels and gate apply to its own choice, not to a fallback for the kind.
    own = policy.method in ("auto", judged)
    warn, breach = policy.levels()
    out: dict[str, dict[str, Any]] = {}
    for method in methods:
        is_judged = method.name == judged
        if reference is None:
            body = {"value": None, "status": "not_computable", "judged": is_judged}
            out[method.name] = {**body, "reason": "no reference for this version and column"}
            continue
        if is_judged and own:
            result = measure_drift(
                reference,
                current,
                method.name,
                warn=warn,
                breach=breach,
                significance=policy.gate(),
            )
        else:
            result = measure_drift(reference, current, method.name)
        out[method.name] = _drift_entry(result, is_judged)
    return out


def drift(
    summary: WindowSummary, reference: Reference | None, policy: DriftPolicy
) -> tuple[dict[str, Any], dict[str, Any], list[str], str]:
    """Per-input drift, score drift, the drifted inputs (judged warn or breach) and the worst
    judged status over inputs and score."""
    columns = {
        name: column_drift(reference.columns.get(name) if reference else None, s, policy)
        for name, s in summary.columns.items()
    }
    score = column_drift(reference.score if reference else None, summary.score, policy)
    drifted, worst = [], "not_computable"
    for name, methods in [*columns.items(), ("", score)]:
        status = next(m["status"] for m in methods.values() if m["judged"])
        worst = max(worst, status, key=DRIFT_ORDER.__getitem__)
        if name and status in ("warn", "breach"):
            drifted.append(name)
    return columns, score, drifted, worst


# -- performance --------------------------------------------------------------------------------
def _segment_mask(rows: pl.DataFrame, rule: MetricRule, inputs: Sequence[str]) -> pl.Series:
    assert rule.segment is not None
    expr = compile_segment(rule.segment, inputs)
    frame = rows.select(pl.col(INPUT_PREFIX + c).alias(c) for c in sorted(expr.columns()))
    if frame.width == 0:
        frame = pl.DataFrame({"_": [None] * rows.height})
    return frame.select(to_polars(expr)).to_series()


Estimates = Mapping[str, Estimate | NotComputable]
Estimator = CBPE | MulticlassCBPE | DLE


def estimated_names(charter: Charter) -> tuple[str, ...]:
    """The metrics estimated while labels are missing, for the charter's task."""
    if charter.task == "regression":
        return ESTIMATED_REGRESSION
    if charter.task == "multiclass_classification":
        return MulticlassCBPE(tuple(charter.classes()), (), {}).estimated
    return ESTIMATED


def scores_of(charter: Charter, rows: pl.DataFrame) -> Any:
    """What a task's metrics read of the rows: the score, or the class probability matrix."""
    classes = charter.classes()
    if classes:
        return mc.class_matrix(rows["class_scores"], len(classes))
    return rows["score"].to_numpy()


def estimate_all(
    charter: Charter,
    estimator: Estimator | NotComputable,
    rows: pl.DataFrame,
    threshold: float | None = None,
) -> Estimates:
    """The estimates of ``rows`` (CBPE at ``threshold``, or DLE), or why there are none."""
    if isinstance(estimator, NotComputable):
        return dict.fromkeys(estimated_names(charter), estimator)
    if isinstance(estimator, MulticlassCBPE):
        matrix = scores_of(charter, rows)
        return estimator.estimate(matrix[np.isfinite(matrix).all(axis=1)])
    if isinstance(estimator, DLE):
        inputs = rows.select(
            pl.col(c).alias(c.removeprefix(INPUT_PREFIX))
            for c in rows.columns
            if c.startswith(INPUT_PREFIX)
        )
        return estimator.estimate(inputs, rows["score"].to_numpy())
    return estimator.estimate(rows["score"].to_numpy(), threshold)


def judge_rules(
    charter: Charter,
    rows: pl.DataFrame,
    cbpe: Estimator | NotComputable | None,
    inputs: Sequence[str],
    window_estimates: Estimates,
    point: OperatingPoint | None = None,
    reference: Reference | None = None,
) -> list[RuleVerdict]:
    """Each rule on its segment's rows, at the window's operating point; a rule without segment
    reuses the window's estimates."""
    point = point or operating_point(charter.sufficiency, rows["score"].to_numpy())
    min_labels = charter.sufficiency.min_labels
    verdicts = []
    for rule in charter.sufficiency.metrics:
        subset = rows
        if rule.segment is not None:
            try:
                subset = rows.filter(_segment_mask(rows, rule, inputs))
            except (ExpressionError, pl.exceptions.PolarsError) as exc:
                message = getattr(exc, "message", None) or str(exc).splitlines()[0]
                reason = NotComputable(f"segment {rule.segment!r}: {message}")
                verdicts.append(
                    RuleVerdict(rule, "insufficient_evidence", 0, reason, reason.reason)
                )
                continue
        labelled = subset.filter(pl.col("label").is_not_null())
        estimate = None
        if cbpe is not None and rule.metric in estimated_names(charter):
            estimates = window_estimates if rule.segment is None else None
            found = estimates or estimate_all(charter, cbpe, subset, point.threshold)
            estimate = found[rule.metric]
        verdicts.append(
            judge_rule(
                rule,
                labelled["label"].to_numpy(),
                scores_of(charter, labelled),
                min_labels=min_labels,
                estimate=estimate,
                threshold=point.threshold,
                bound=_bound(rule, reference),
                classes=charter.classes(),
            )
        )
    return verdicts


def _bound(rule: MetricRule, reference: Reference | None) -> dict[str, Any] | NotComputable | None:
    """The reference bound a rule with ``at_least``/``at_most: reference`` is judged against."""
    if rule.threshold != "reference":
        return None
    if reference is None:
        return NotComputable("no reference for this version")
    found = reference.bounds.get(rule.metric)
    if found is None:
        return NotComputable(
            "the reference was summarised before the rule asked for a bound; set it again"
        )
    return found if isinstance(found, NotComputable) else found.describe()


def performance(
    charter: Charter,
    version: str,
    rows: pl.DataFrame,
    reference: Reference | None,
    point: OperatingPoint | None = None,
) -> dict[str, Any]:
    """Label coverage, realized metrics on the labelled rows, CBPE estimates on all rows, with
    label-based metrics at the operating point ``point``."""
    point = point or operating_point(charter.sufficiency, rows["score"].to_numpy())
    labelled = rows.filter(pl.col("label").is_not_null())
    y, s = labelled["label"].to_numpy(), labelled["score"].to_numpy()
    coverage = {
        "rows": rows.height,
        "labelled": labelled.height,
        "coverage": _fraction(labelled.height, rows.height, "the window has no predictions"),
    }
    classes = charter.classes()
    names = {
        "binary_classification": [*perf.THRESHOLD_METRICS, *perf.SCORE_METRICS],
        "multiclass_classification": mc.metric_names(classes),
        "regression": list(perf.REGRESSION_METRICS),
    }[charter.task]
    if version == UNSCORED:
        why = nc("no model version scored these rows")
        realized_metrics: dict[str, Any] = dict.fromkeys(names, why)
    elif classes:
        realized_metrics = dict(mc.multiclass_metrics(y, scores_of(charter, labelled), classes))
    elif charter.task == "binary_classification":
        realized_metrics = dict(perf.classification_metrics(y, s, point.threshold))
    else:
        realized_metrics = dict(perf.regression_metrics(y, s))
    estimator = window_estimator(charter, version, reference)
    estimated = dict(estimate_all(charter, estimator, rows, point.threshold))
    return {"labels": coverage, "metrics": {"realized": realized_metrics, "estimated": estimated}}


def window_estimator(
    charter: Charter, version: str, reference: Reference | None
) -> Estimator | NotComputable:
    """CBPE (classifiers) or DLE (regression), fitted on the version's reference."""
    if version == UNSCORED:
        return NotComputable("no model version scored these rows")
    method = "DLE" if charter.task == "regression" else "CBPE"
    if reference is None:
        return NotComputable(f"no reference for this version: {method} is fitted on it")
    if charter.task == "regression":
        if reference.dle is None:
            return NotComputable("the reference was summarised before DLE; set it again")
        return reference.dle
    return reference.cbpe


def evaluate(
    charter: Charter,
    version: str,
    summary: WindowSummary,
    rows: pl.DataFrame,
    reference: Reference | None,
    inputs: Sequence[str],
) -> dict[str, Any]:
    """The window's result body (without its identity: version, start, end)."""
    columns, score, drifted, drift_status = drift(
        summary, reference, charter.operations.monitor.drift
    )
    classifier = charter.task == "binary_classification"
    point = operating_point(charter.sufficiency, rows["score"].to_numpy())
    perf_body = performance(charter, version, rows, reference, point)
    cbpe = window_estimator(charter, version, reference)
    estimates = perf_body["metrics"]["estimated"]
    rules = judge_rules(charter, rows, cbpe, inputs, estimates, point, reference)
    contract = contract_verdict(rules)
    quality_verdict = judge_quality(charter, summary, reference)
    verdict, reason = contract, verdict_reason(rules, contract)
    if SEVERITY[quality_verdict["status"]] > SEVERITY[contract]:
        verdict = quality_verdict["status"]
        reason = "data quality: " + "; ".join(
            p["message"] for p in quality_verdict["problems"] if p["level"] == verdict
        )
    flags = [
        f"estimated {r.rule.metric}{_in(r.rule)} is {r.estimate_status}"
        for r in rules
        if r.estimate_status in ("warn", "at_risk")
    ]
    flags += [f"input drift ({_judged_name(columns[n])}): {n}" for n in drifted]
    if any(m["judged"] and m["status"] in ("warn", "breach") for m in score.values()):
        flags.append("score drift")
    extra: dict[str, Any] = {}
    if charter.operations.monitor.multivariate is not None:
        joint = multivariate_drift(charter, rows, reference)
        extra["multivariate_drift"] = joint
        drift_status = max(drift_status, joint["status"], key=DRIFT_ORDER.__getitem__)
        if joint["status"] == "breach":
            flags.append(f"multivariate drift ({joint['method']})")
    if charter.classes():
        extra["prediction_drift"] = predicted_class_drift(charter, rows, reference)
        status = next(m["status"] for m in extra["prediction_drift"].values() if m["judged"])
        drift_status = max(drift_status, status, key=DRIFT_ORDER.__getitem__)
        if status in ("warn", "breach"):
            flags.append("predicted class drift")
    body: dict[str, Any] = finite(
        {
            "verdict": verdict,
            "verdict_reason": reason,
            "contract_verdict": contract,
            "quality_verdict": quality_verdict,
            "operating_point": point.to_dict() if classifier else None,
            "rules": [r.to_dict() for r in rules],
            "estimated_status": estimated_status(rules),
            "flags": flags,
            **perf_body,
            "drift": columns,
            "score_drift": score,
            "drifted": drifted,
            "drift_status": drift_status,
            "quality": quality(summary),
            "reference": None if reference is None else reference.describe(),
            **extra,
        }
    )
    return body


def multivariate_drift(
    charter: Charter, rows: pl.DataFrame, reference: Reference | None
) -> dict[str, Any]:
    """The window's PCA reconstruction error against the bound the reference gives."""
    policy = charter.operations.monitor.multivariate
    assert policy is not None
    fitted = None if reference is None else reference.multivariate
    if not isinstance(fitted, Reconstruction):
        if isinstance(fitted, NotComputable):
            why = fitted.reason
        elif reference is None:
            why = "no reference for this version"
        else:
            why = (
                "the reference was summarised before multivariate drift was asked for; set it again"
            )
        body = {"method": policy.method, "judged": True, "value": None}
        return body | {"status": "not_computable", "reason": why}
    inputs = rows.select(
        pl.col(INPUT_PREFIX + i.name).alias(i.name)
        for i in fitted.inputs
        if INPUT_PREFIX + i.name in rows.columns
    )
    return fitted.judge(inputs, policy.sigmas)


def predicted_class_drift(
    charter: Charter, rows: pl.DataFrame, reference: Reference | None
) -> dict[str, dict[str, Any]]:
    """Drift of the predicted class's distribution against the reference's (categorical
    methods; the charter's method when it applies to categories, else its default)."""
    classes = charter.classes()
    matrix = scores_of(charter, rows)
    predicted = mc.predicted_classes(matrix, classes).drop_nulls()
    known = reference.predicted if reference is not None else None
    current = CategoricalSummary.from_series(
        predicted, known=None if known is None else known.categories, cap=len(classes) + 1
    )
    return column_drift(known, current, charter.operations.monitor.drift)


def _judged_name(methods: Mapping[str, Mapping[str, Any]]) -> str:
    return next(name for name, m in methods.items() if m["judged"])


def _in(rule: MetricRule) -> str:
    return f" [{rule.segment}]" if rule.segment else ""
