"""What online requests get back: the answering scorer, and each request's :class:`Outcome`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from charter.engines.rules import VIOLATIONS
from charter.plumbing.ingest_batch import ROW, Batch
from charter.plumbing.isolation import VersionScores
from charter.plumbing.lake import lake_for
from charter.plumbing.scoring import Scorer
from charter.spec.loader import LoadedCharter
from charter.workspace import Workspace


@dataclass
class Outcome:
    """What became of one request's records: an answer per valid record, violations per other."""

    answers: list[dict[str, Any]] = field(default_factory=list)
    refused: list[dict[str, Any]] = field(default_factory=list)
    version: int | None = None  # the answering version


class OnlineScorer(Scorer):
    """The ingest scorer restricted to the answering version; the others score off the path."""

    def __init__(self, ws: Workspace, charter: str, loaded: LoadedCharter) -> None:
        super().__init__(ws, charter, loaded.charter.data, loaded.charter.classes())
        live = [v for v, s in self.models if s == "live"]
        shadows = [v for v, s in self.models if s == "shadow"]
        self.answering: int | None = live[0] if live else (shadows[-1] if shadows else None)
        self.acted_on = bool(live) and self.acting  # a suspended charter's answers are not
        fallback = loaded.charter.operations.fallback
        self.fallback = fallback.model_dump(mode="json") if fallback is not None else None
        self.others = tuple((v, s) for v, s in self.models if v != self.answering)
        self.models = [(v, s) for v, s in self.models if v == self.answering]
        self.last: tuple[pl.Series, list[VersionScores]] | None = None

    def score(self, valid: pl.DataFrame, where: str) -> list[VersionScores]:
        out = super().score(valid, where)
        self.last = (valid.get_column(ROW), out)
        return out

    def warm(self) -> None:
        """Load the answering model now (hash-checked), so that readiness means it loads."""
        if self.answering is not None and self.answering not in self._predictors:
            from charter.registry.versions import load_model

            self._predictors[self.answering] = load_model(self.ws, self.charter, self.answering)


def answers(
    ws: Workspace, batch: Batch, scorer: OnlineScorer, sizes: list[int], flat: list[dict[str, Any]]
) -> list[Outcome]:
    """Each request's outcome: its records' answers (by row) and the violations of the rest."""
    contract = batch.run.loaded.charter.data
    by_row: dict[int, dict[str, Any]] = {}
    threshold = batch.run.loaded.charter.sufficiency.threshold  # the owner's operating point
    if scorer.last is not None:
        rows, scores = scorer.last
        answer = next(s for s in scores if s.version == str(scorer.answering))
        values = answer.values
        broken = np.asarray(answer.failed, dtype=bool).tolist()
        best = _best(values, broken)
        for position, row in enumerate(rows.to_list()):
            score = best[position]
            if broken[position] or score is None:
                continue  # the answering model failed on it: quarantined as model_error
            by_row[row] = {
                "prediction_id": f"{batch.batch_id}-{row}",
                "key": _text(flat[row].get(contract.key)),
                "version": scorer.answering,
                "status": answer.status,
                "score": score,
                "acted_on": scorer.acted_on,
            }
            if not scorer.acting:  # suspended: the caller does what the charter declares instead
                by_row[row]["suspended"] = True
                by_row[row]["fallback"] = scorer.fallback
            if scorer.classes:  # multiclass: the probabilities and the class they predict
                value = values[position]
                by_row[row]["class_scores"] = dict(
                    zip(scorer.classes, map(float, value), strict=True)
                )
                by_row[row]["predicted_class"] = scorer.classes[int(np.argmax(value))]
            elif threshold is not None:
                by_row[row]["decision"] = bool(score >= threshold)
    refused: dict[int, list[str]] = {}
    lake = lake_for(ws)
    for part, _ in batch.outputs.get("quarantine", []):
        failed = lake.read(part, columns=[ROW, VIOLATIONS])
        for row, broke in failed.iter_rows():
            refused[row] = list(broke)
    outcomes, start = [], 0
    for size in sizes:
        outcome = Outcome(version=scorer.answering)
        for index in range(size):
            row = start + index
            if row in by_row:
                outcome.answers.append({"index": index, **by_row[row]})
            else:
                key = _text(flat[row].get(contract.key))
                rules = refused.get(row, ["unknown"])
                outcome.refused.append({"index": index, "key": key, "violations": rules})
        outcomes.append(outcome)
        start += size
    return outcomes


def _best(values: Any, failed: list[bool]) -> list[float | None]:
    """Each row's score (a multiclass row: its highest probability), in one pass when numeric."""
    if isinstance(values, np.ndarray) and values.dtype.kind in "fiub":
        top = values.max(axis=1) if values.ndim > 1 else values
        best: list[float | None] = top.astype(float).tolist()
        return best
    return [None if bad else float(np.max(v)) for v, bad in zip(values, failed, strict=True)]


def merged(outcomes: list[Outcome]) -> Outcome:
    """One outcome of a whole group commit (for counting)."""
    total = Outcome(version=outcomes[0].version if outcomes else None)
    for outcome in outcomes:
        total.answers += outcome.answers
        total.refused += outcome.refused
    return total


def _text(value: Any) -> str | None:
    return None if value is None else str(value)
