"""The evidence an owner approves on, and its digest: an approval is bound to what was shown.

:func:`decision_evidence` gathers, for a version waiting for a decision, the promotion gate's
checklist as it stands now and the version's stored windows beside the live version's on the same
windows (each sufficiency rule: value, status, labels, threshold). :attr:`Evidence.digest` is the
SHA-256 of a canonical JSON of exactly that (:meth:`Evidence.snapshot`). A page shows the evidence
with its digest; :func:`charter.lifecycle.decisions.approve` given ``evidence_sha256`` recomputes
it and refuses (:class:`~charter.errors.EvidenceChangedError`) when a new window arrived or a
status or a gate item changed since: the owner approves what she saw, or nothing.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from charter.lifecycle.challenger import rule_result
from charter.lifecycle.gate import Readiness, readiness
from charter.monitoring.service import WindowResult, stored_windows
from charter.registry.versions import list_versions
from charter.spec.model import MetricRule
from charter.workspace import Workspace

SHOWN_WINDOWS = 26  # the latest spans shown (half a year of weekly windows)
_RULE_KEYS = ("value", "status", "labels", "threshold")


@dataclass(frozen=True)
class Side:
    """One version's stored window: its verdict and, per sufficiency rule, what was stored."""

    version: int
    verdict: str
    rules: tuple[dict[str, Any], ...]  # one per sufficiency rule, in the charter's order

    def to_dict(self) -> dict[str, Any]:
        return {"version": self.version, "verdict": self.verdict, "rules": list(self.rules)}


@dataclass(frozen=True)
class Span:
    """One window span, with the challenger's window and the live version's (either may lack)."""

    start: datetime
    end: datetime
    challenger: Side | None
    live: Side | None

    @property
    def shared(self) -> bool:
        return self.challenger is not None and self.live is not None

    def to_dict(self) -> dict[str, Any]:
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "challenger": self.challenger.to_dict() if self.challenger else None,
            "live": self.live.to_dict() if self.live else None,
        }


@dataclass(frozen=True)
class Evidence:
    """What the owner is shown before deciding on ``version``, and the digest binding it."""

    charter: str
    version: int
    status: str
    live: int | None
    rules: tuple[str, ...]  # each sufficiency rule in words, e.g. ``roc_auc ≥ 0.65``
    readiness: Readiness
    spans: tuple[Span, ...]

    def snapshot(self) -> dict[str, Any]:
        """The canonical content the digest covers (JSON-able, nothing time-dependent)."""
        return {
            "charter": self.charter,
            "version": self.version,
            "status": self.status,
            "live": self.live,
            "rules": list(self.rules),
            "gate": [
                {"name": i.name, "ok": i.ok, "evidence": i.evidence, "facts": i.to_dict()["facts"]}
                for i in self.readiness.items
            ],
            "notes": list(self.readiness.notes),
            "windows": [s.to_dict() for s in self.spans],
        }

    @property
    def digest(self) -> str:
        text = json.dumps(self.snapshot(), sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.sha256(text.encode()).hexdigest()


def rule_words(rule: MetricRule) -> str:
    sign, bound = ("≥", rule.at_least) if rule.at_least is not None else ("≤", rule.at_most)
    segment = f" in {rule.segment}" if rule.segment else ""
    return f"{rule.metric}{segment} {sign} {bound}"


def _side(window: WindowResult, rules: list[MetricRule]) -> Side:
    found = [rule_result(window, rule) or {} for rule in rules]
    kept = tuple({k: f.get(k) for k in _RULE_KEYS} for f in found)
    return Side(int(window.version), window.verdict, kept)


def decision_evidence(
    ws: Workspace, name: str, version: int, *, limit: int = SHOWN_WINDOWS
) -> Evidence:
    """The evidence for deciding on ``version``: the gate now, and its windows beside live's.

    The spans are the latest ``limit`` window spans where either version has a stored window,
    oldest first. A first-version waiver being typed in is not evidence: the gate is judged with
    the waiver already recorded (if any), as it is shown.
    """
    charter = ws.load(name).charter
    name = charter.name
    ready = readiness(ws, name, version)
    live = next(
        (v.version for v in list_versions(ws, name) if v.status == "live" and v.version != version),
        None,
    )
    rules = list(charter.sufficiency.metrics)
    mine: dict[tuple[datetime, datetime], Side] = {}
    theirs: dict[tuple[datetime, datetime], Side] = {}
    for w in stored_windows(ws, name):
        if w.version == str(version):
            mine[(w.start, w.end)] = _side(w, rules)
        elif live is not None and w.version == str(live):
            theirs[(w.start, w.end)] = _side(w, rules)
    keys = sorted(set(mine) | set(theirs))[-limit:] if limit > 0 else []
    spans = tuple(Span(a, b, mine.get((a, b)), theirs.get((a, b))) for a, b in keys)
    words = tuple(rule_words(r) for r in rules)
    return Evidence(name, version, ready.status, live, words, ready, spans)
