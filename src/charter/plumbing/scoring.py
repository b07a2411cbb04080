"""Scoring during ingestion: the live, standby and shadow versions, or the rows' own prediction.

Shadow versions are scored on every batch beside the live one and logged, never acted on: that is
the pilot running on the production path. The standby is scored too, so that its windows are
judged beside the live version's: automatic rollback needs that evidence. Which versions score
is read from ``model_versions.status`` once per ingest run; each model is loaded (hash-checked,
by the registry) at most once per run.

While the charter is suspended (``charter suspend``), every version still scores and is logged,
but the live version's rows are logged with ``acted_on`` false: the suspension is read before
every batch (:func:`~charter.registry.suspension.current_suspension`, checked against the
ledger), so a suspension stops a long run at its next file; the online server reads it when it
re-reads the registry.

A version that fails, to load or on some rows, fails alone (:mod:`.isolation`): the others, and
the version's own other rows, are scored as usual.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl
import sqlalchemy as sa

from charter.engines.base import Engine
from charter.errors import DataError, UserCodeError
from charter.plumbing.isolation import (
    VersionScores,
    describe,
    failed_everywhere,
    score_isolating,
)
from charter.registry.flavors.base import Predictor, class_probabilities
from charter.registry.suspension import current_suspension
from charter.registry.versions import load_model
from charter.spec.model import DataContract
from charter.store.tables import ModelVersion
from charter.workspace import Workspace

SCORED = ("live", "standby", "shadow")


class Scorer:
    """Scores valid rows with the charter's live, standby and every shadow version.

    When the charter says its rows already carry the prediction (``data.prediction.column``), that
    column is logged as the score with ``model_version = "external"`` and no model is loaded.
    With neither, rows are still validated and logged, without a score.
    """

    def __init__(
        self,
        ws: Workspace,
        charter: str,
        contract: DataContract,
        classes: Sequence[str] = (),
        engine: Engine | None = None,
    ) -> None:
        self.ws, self.charter = ws, charter
        self.engine = engine  # None or polars: scored here; another engine scores single scores
        self.classes = list(classes)  # multiclass: a probability per class, in this order
        self.external = contract.prediction.column if contract.prediction else None
        self.features = contract.feature_columns()
        self.models: list[tuple[int, str]] = []
        if self.external is None:
            with ws.db.read() as session:
                rows = session.execute(
                    sa.select(ModelVersion.version, ModelVersion.status)
                    .where(
                        ModelVersion.charter == charter,
                        ModelVersion.status.in_(SCORED),
                    )
                    .order_by(ModelVersion.version)
                ).all()
            self.models = [(row.version, row.status) for row in rows]
        self.suspension_id: int | None = None
        self.refresh_suspension()
        self._predictors: dict[int, Predictor | str] = {}
        self._plan: ScoringPlan | None = None

    def refresh_suspension(self) -> None:
        """Re-read whether the charter is suspended (ingestion does, before each batch)."""
        suspension = current_suspension(self.ws, self.charter)
        self.suspension_id = suspension.id if suspension is not None else None

    def versions(self) -> list[dict[str, str]]:
        if self.external is not None:
            return [{"version": "external", "status": "external"}]
        return [{"version": str(v), "status": status} for v, status in self.models]

    @property
    def acting(self) -> bool:
        """Whether the live version's answers are acted on (False while suspended)."""
        return self.suspension_id is None

    def note(self) -> str | None:
        if self.external is None and not self.models:
            return "no live or shadow version: rows were validated and logged without a score"
        return None

    def logged_inputs(self, valid: pl.DataFrame) -> list[str]:
        return [name for name in self.features if name in valid.columns]

    def score(self, valid: pl.DataFrame, where: str) -> list[VersionScores]:
        """Every scoring version's scores for ``valid``; a version's failure is in its ``failed``.

        A model that raises is never let out of here (see :mod:`.isolation`): it fails alone.
        """
        remote = self.engine if self.engine is not None and self.engine.name != "polars" else None
        return self.plan().score(valid, where, engine=remote)

    def plan(self) -> ScoringPlan:
        """What scoring needs without the workspace (each model loaded once per run)."""
        models = tuple((v, status, self._load(v)) for v, status in self.models)
        plan = ScoringPlan(self.external, models, tuple(self.classes), tuple(self.features))
        if self._plan != plan:  # the same plan object for the run: Spark broadcasts it once
            self._plan = plan
        return self._plan

    def _load(self, version: int) -> Predictor | str:
        """The version's model, or why it cannot be loaded (remembered for the rest of the run)."""
        if version not in self._predictors:
            try:
                self._predictors[version] = load_model(self.ws, self.charter, version)
            except Exception as exc:  # a tampered or unloadable artifact fails this version only
                self._predictors[version] = f"cannot load the model: {describe(exc)}"
        return self._predictors[version]


@dataclass(frozen=True)
class ScoringPlan:
    """The versions that score, with their loaded models (or why each cannot load): all a
    process needs to score valid rows, picklable, so that Spark's executors score with it."""

    external: str | None
    models: tuple[tuple[int, str, Predictor | str], ...]
    classes: tuple[str, ...]
    features: tuple[str, ...]

    def logged_inputs(self, valid: pl.DataFrame) -> list[str]:
        return [name for name in self.features if name in valid.columns]

    def score(
        self, valid: pl.DataFrame, where: str, *, engine: Engine | None = None
    ) -> list[VersionScores]:
        """As :meth:`Scorer.score`; ``engine`` (not the local one) scores single scores."""
        if self.external is not None:
            try:
                values = valid.get_column(self.external).cast(pl.Float64)
            except pl.exceptions.PolarsError:
                raise DataError(
                    f"{where}: the prediction column {self.external!r} holds values that are "
                    "not numbers",
                    hint=f"declare fields.{self.external} with type: float to quarantine them",
                ) from None
            nothing_failed = np.zeros(valid.height, dtype=bool)  # nulls stay null: a Series
            return [VersionScores("external", "external", values, nothing_failed)]
        return [
            self._score_version(version, status, predictor, valid, engine)
            for version, status, predictor in self.models
        ]

    def _score_version(
        self,
        version: int,
        status: str,
        predictor: Predictor | str,
        valid: pl.DataFrame,
        engine: Engine | None,
    ) -> VersionScores:
        width = len(self.classes)
        if isinstance(predictor, str):
            return failed_everywhere(str(version), status, valid.height, predictor, width)
        inputs = self.logged_inputs(valid)
        source = f"version {version}"
        classes = list(self.classes)

        def predict(part: pl.DataFrame) -> np.ndarray[Any, Any]:
            if engine is not None and not width:
                scores = engine.score(predictor, part.select(inputs).to_arrow())
                return np.asarray(scores.column("score").to_numpy(), dtype=np.float64)
            out = predictor.predict(part.select(inputs))
            if width:
                model_classes = getattr(predictor, "classes", None)
                return class_probabilities(out, part.height, model_classes, classes, source)
            return _one_score_per_row(out, part.height)

        return score_isolating(str(version), status, predict, valid, width=width)


def _one_score_per_row(out: Any, rows: int) -> np.ndarray[Any, Any]:
    array = np.asarray(out)
    if array.ndim == 2 and array.shape[1] in (1, 2):
        array = array[:, -1]
    if array.ndim != 1 or array.shape[0] != rows:
        raise UserCodeError(
            f"the model returned an array of shape {array.shape} for {rows} rows; expected one "
            "score per row"
        )
    return array.astype(np.float64)
