"""Scoring during ingestion: the live, standby and shadow versions, or the rows' own prediction.

Shadow versions are scored on every batch beside the live one and logged, never acted on: that is
the pilot running on the production path. The standby is scored too, so that its windows are
judged beside the live version's: automatic rollback needs that evidence. Which versions score
is read from ``model_versions.status`` once per ingest run; each model is loaded (hash-checked,
by the registry) at most once per run.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl
import sqlalchemy as sa

from charter.errors import CharterError, DataError, UserCodeError
from charter.plumbing.predictions import Scores
from charter.registry.flavors.base import Predictor
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

    def __init__(self, ws: Workspace, charter: str, contract: DataContract) -> None:
        self.ws, self.charter = ws, charter
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
        self._predictors: dict[int, Predictor] = {}

    def versions(self) -> list[dict[str, str]]:
        if self.external is not None:
            return [{"version": "external", "status": "external"}]
        return [{"version": str(v), "status": status} for v, status in self.models]

    def note(self) -> str | None:
        if self.external is None and not self.models:
            return "no live or shadow version: rows were validated and logged without a score"
        return None

    def logged_inputs(self, valid: pl.DataFrame) -> list[str]:
        return [name for name in self.features if name in valid.columns]

    def score(self, valid: pl.DataFrame, where: str) -> list[Scores]:
        if self.external is not None:
            try:
                values = valid.get_column(self.external).cast(pl.Float64)
            except pl.exceptions.PolarsError:
                raise DataError(
                    f"{where}: the prediction column {self.external!r} holds values that are "
                    "not numbers",
                    hint=f"declare fields.{self.external} with type: float to quarantine them",
                ) from None
            return [Scores("external", "external", values)]
        return [
            Scores(str(version), status, self._predict(version, valid, where))
            for version, status in self.models
        ]

    def _predict(self, version: int, valid: pl.DataFrame, where: str) -> np.ndarray[Any, Any]:
        if valid.height == 0:
            return np.empty(0, dtype=np.float64)
        predictor = self._predictors.get(version)
        if predictor is None:
            predictor = self._predictors[version] = load_model(self.ws, self.charter, version)
        try:
            out = np.asarray(predictor.predict(valid.select(self.logged_inputs(valid))))
        except CharterError:
            raise
        except Exception as exc:
            raise UserCodeError(
                f"model version {version} of {self.charter} failed on {where}: {exc}"
            ) from exc
        if out.ndim == 2 and out.shape[1] in (1, 2):
            out = out[:, -1]
        if out.ndim != 1 or out.shape[0] != valid.height:
            raise UserCodeError(
                f"model version {version} of {self.charter} returned an array of shape "
                f"{out.shape} for {valid.height} rows on {where}; expected one score per row"
            )
        return out
