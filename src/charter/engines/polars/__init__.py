"""The Polars engine: charter's local engine, one process, Arrow-native (see :mod:`..base`).

Each step delegates to the module that owns it here: :mod:`.contract` compiles the contract's
rules to Polars expressions, :mod:`.file_reading` reads landing files in bounded memory, and
:mod:`charter.engines.summaries` computes the summaries monitoring stores.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa

from charter.engines.polars.contract import SeenKeys, ValidationResult, validate
from charter.engines.polars.file_reading import file_frames
from charter.engines.rules import ContractRules
from charter.engines.summaries import ColumnSummary, Kind, summarise_like, summarise_reference
from charter.errors import DataError
from charter.registry.flavors.base import Predictor
from charter.spec.model import FolderSource

_READ_ROWS = 1_000_000


class PolarsEngine:
    """:class:`~charter.engines.base.Engine` on Polars; its native frame is ``pl.DataFrame``."""

    @property
    def name(self) -> str:
        return "polars"

    def read(self, path: Path, source: FolderSource) -> pa.Table:
        frames = list(file_frames(path, source, _READ_ROWS))
        return pl.concat(frames, how="vertical").to_arrow() if frames else pa.table({})

    def validate(
        self,
        batch: pa.Table | pl.DataFrame,
        rules: ContractRules,
        *,
        seen_keys: SeenKeys = None,
        now: datetime | None = None,
    ) -> ValidationResult:
        return validate(_frame(batch), rules, seen_keys=seen_keys, now=now)

    def score(self, predictor: Predictor, batch: pa.Table) -> pa.Table:
        scores = np.asarray(predictor.predict(_frame(batch)), dtype=np.float64).reshape(-1)
        if scores.shape[0] != batch.num_rows:
            raise DataError(
                f"the {predictor.flavor} model returned {scores.shape[0]} scores "
                f"for {batch.num_rows} rows"
            )
        return pa.table({"score": pa.array(scores, pa.float64())})

    def summarise(
        self,
        column: pa.Array | pa.ChunkedArray,
        kind: Kind,
        *,
        like: ColumnSummary | None = None,
    ) -> ColumnSummary:
        values = pl.Series(column)
        return summarise_reference(values, kind) if like is None else summarise_like(like, values)

    def write(self, table: pa.Table, path: Path) -> None:
        _frame(table).write_parquet(path)


def _frame(batch: Any) -> pl.DataFrame:
    if isinstance(batch, pl.DataFrame):
        return batch
    frame = pl.from_arrow(batch, rechunk=False)
    assert isinstance(frame, pl.DataFrame)
    return frame
