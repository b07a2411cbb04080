"""What the lifecycle's own pass over one charter did (:class:`ReviewReport`).

The pass itself is the use case :func:`charter.services.lifecycle.review`. In order: automatic
rollback (safety first, :func:`~charter.lifecycle.transitions.automatic_rollback`); then, unless
it rolled back, promotion of a pre-authorised version that passes the gate; closing
decisions that became moot (:mod:`charter.lifecycle.decisions`); and the stalled-decision alerts
and escalations (:mod:`charter.lifecycle.stalled`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from charter.lifecycle.transitions import RollbackResult
from charter.schemas import operations as schemas


@dataclass(frozen=True)
class ReviewReport:
    """What one :func:`review` pass did for a charter."""

    charter: str
    rolled_back: RollbackResult | None
    promoted: int | None
    withdrawn: list[int]
    alerts: list[int]

    @property
    def summary(self) -> str:
        done = []
        if self.rolled_back is not None:
            done.append(f"rolled back {self.rolled_back.rolled_back} → {self.rolled_back.restored}")
        if self.promoted is not None:
            done.append(f"version {self.promoted} live (pre-authorised)")
        if self.withdrawn:
            done.append(f"{len(self.withdrawn)} moot decision(s) withdrawn")
        if self.alerts:
            done.append(f"{len(self.alerts)} stalled-decision alert(s)")
        return "; ".join(done) or "nothing to do"

    def to_schema(self) -> schemas.ReviewResult:
        return schemas.ReviewResult(
            charter=self.charter,
            rolled_back=None if self.rolled_back is None else self.rolled_back.to_schema(),
            promoted=self.promoted,
            withdrawn=list(self.withdrawn),
            alerts=list(self.alerts),
            summary=self.summary,
        )

    def to_dict(self) -> dict[str, Any]:
        return self.to_schema().to_json_dict()
