"""Monitoring: the numbers behind the conversation about a live model.

The pure statistics core lives here; storage and the ``charter monitor`` command call it.

- :mod:`charter.engines.summaries` — mergeable per-column summaries of a batch (fixed-edge histograms, category
  counts); a window is the merge of its batches' summaries.
- :mod:`.drift` — drift of a current summary against the reference's (PSI, Kolmogorov–Smirnov,
  Wasserstein, Jensen–Shannon, chi-squared), judged pass/warn/breach.
- :mod:`.performance` — realized metrics from a window's labelled predictions, label coverage.
- :mod:`.cbpe` — estimated metrics of an unlabelled window from calibrated confidence.

The statistics and their approximations are explained in ``docs/monitoring-statistics.md``.

Every statistic is a number or a :class:`NotComputable` carrying the reason; never a silent NaN.
"""

from charter.engines.summaries import (
    CategoricalSummary,
    ColumnSummary,
    NotComputable,
    NumericSummary,
    merge_all,
    reference_edges,
    summarise_like,
    summarise_reference,
    summary_from_dict,
)
from charter.monitoring.cbpe import CBPE, Estimate
from charter.monitoring.drift import DriftResult, measure_drift
from charter.monitoring.performance import (
    LabelCoverage,
    classification_metrics,
    label_coverage,
    labelled_pairs,
    regression_metrics,
)

__all__ = [
    "CBPE",
    "CategoricalSummary",
    "ColumnSummary",
    "DriftResult",
    "Estimate",
    "LabelCoverage",
    "NotComputable",
    "NumericSummary",
    "classification_metrics",
    "label_coverage",
    "labelled_pairs",
    "measure_drift",
    "merge_all",
    "reference_edges",
    "regression_metrics",
    "summarise_like",
    "summarise_reference",
    "summary_from_dict",
]
