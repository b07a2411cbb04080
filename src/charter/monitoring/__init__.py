"""Monitoring: the numbers behind the conversation about a live model.

The pure statistics core lives here; storage and the ``charter monitor`` command call it.

- :mod:`.summaries` — mergeable per-column summaries of a batch (fixed-edge histograms, category
  counts); a window is the merge of its batches' summaries.
- :mod:`.drift` — drift of a current summary against the reference's (PSI, Kolmogorov–Smirnov,
  Wasserstein, Jensen–Shannon, chi-squared), judged pass/warn/breach.

Every statistic is a number or a :class:`NotComputable` carrying the reason; never a silent NaN.
"""

from charter.monitoring.drift import DriftResult, measure_drift
from charter.monitoring.summaries import (
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

__all__ = [
    "CategoricalSummary",
    "ColumnSummary",
    "DriftResult",
    "NotComputable",
    "NumericSummary",
    "measure_drift",
    "merge_all",
    "reference_edges",
    "summarise_like",
    "summarise_reference",
    "summary_from_dict",
]
