"""The gate's ``champion_challenger`` item: a challenger must not be worse than the live version.

Judged on the windows where both versions were judged with enough labels (a decisive verdict),
per sufficiency rule (metric and segment): the mean of the rule's metric over those windows,
challenger against live. The challenger passes a rule when it is worse by no more than
``operations.promotion.challenger_margin`` (in the metric's own units; default 0: not worse).
"Worse" follows the metric: lower for roc_auc or recall, higher for mae or log_loss. With no live
version there is nothing to compare, so the item holds and says so.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from statistics import fmean
from typing import Any

from charter.monitoring.service import WindowResult
from charter.registry.versions import VersionInfo
from charter.spec.metrics import metric_info
from charter.spec.model import Charter, MetricRule

DECISIVE = ("pass", "warn", "breach")
_Span = tuple[datetime, datetime]


def champion_challenger(
    charter: Charter,
    windows: Sequence[WindowResult],
    versions: Sequence[VersionInfo],
    candidate: int,
) -> tuple[bool, str, dict[str, Any]]:
    """Whether ``candidate`` holds up against the live version: (ok, evidence, facts)."""
    margin = charter.operations.promotion.challenger_margin
    live = [v.version for v in versions if v.status == "live" and v.version != candidate]
    facts: dict[str, Any] = {"live": None, "margin": margin, "windows": 0, "rules": []}
    if not live:
        return True, "no live version to compare with: the sufficiency contract alone judges", facts
    champion = live[0]
    facts["live"] = champion
    mine, theirs = _decisive(windows, candidate), _decisive(windows, champion)
    shared = sorted(set(mine) & set(theirs))
    facts["windows"] = len(shared)
    if not shared:
        return (
            False,
            f"no window where both this version and live version {champion} were judged with "
            "enough labels; keep both scoring until one is",
            facts,
        )
    rules = [
        _compare(rule, [mine[s] for s in shared], [theirs[s] for s in shared], margin)
        for rule in charter.sufficiency.metrics
    ]
    facts["rules"] = rules
    ok = all(r["ok"] for r in rules)
    said = "; ".join(_sentence(r) for r in rules)
    return (
        ok,
        f"vs live version {champion} on {len(shared)} shared window(s), margin {margin:g}: {said}",
        facts,
    )


def _decisive(windows: Sequence[WindowResult], version: int) -> dict[_Span, WindowResult]:
    return {
        (w.start, w.end): w for w in windows if w.version == str(version) and w.verdict in DECISIVE
    }


def rule_result(window: WindowResult, rule: MetricRule) -> Mapping[str, Any] | None:
    """What ``window`` stored for ``rule`` (same metric and segment), or None."""
    for found in window.data.get("rules", []):
        if found.get("metric") == rule.metric and found.get("segment") == rule.segment:
            return dict(found)
    return None


def _value(window: WindowResult, rule: MetricRule) -> float | None:
    value = (rule_result(window, rule) or {}).get("value")
    return float(value) if isinstance(value, int | float) else None


def _compare(
    rule: MetricRule,
    mine: Sequence[WindowResult],
    theirs: Sequence[WindowResult],
    margin: float,
) -> dict[str, Any]:
    pairs = [(_value(a, rule), _value(b, rule)) for a, b in zip(mine, theirs, strict=True)]
    usable = [(a, b) for a, b in pairs if a is not None and b is not None]
    fact: dict[str, Any] = {
        "metric": rule.metric,
        "segment": rule.segment,
        "windows": len(usable),
        "challenger": None,
        "live": None,
        "worse_by": None,
        "ok": False,
    }
    if not usable:
        return fact
    challenger, champion = fmean(a for a, _ in usable), fmean(b for _, b in usable)
    higher = metric_info(rule.metric).higher_is_better
    worse_by = champion - challenger if higher else challenger - champion
    fact.update(
        challenger=challenger,
        live=champion,
        worse_by=worse_by,
        ok=worse_by <= margin + 1e-12,  # a float's last bit is no evidence
    )
    return fact


def _sentence(fact: Mapping[str, Any]) -> str:
    where = f" [{fact['segment']}]" if fact.get("segment") else ""
    name = f"{fact['metric']}{where}"
    if fact["challenger"] is None:
        return f"{name} not computable on the shared windows"
    verdict = "ok" if fact["ok"] else f"worse by {fact['worse_by']:.4g}"
    return f"{name} {fact['challenger']:.4g} vs {fact['live']:.4g} ({verdict})"
