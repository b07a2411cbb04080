"""The engine seam: what charter asks of a compute engine, and :func:`engine_for` to get one.

Business code (ingestion, monitoring) states *what* happens to a batch, and an :class:`Engine`
does it: read a landing file, validate it against the data contract's rules
(:mod:`charter.engines.rules`), score it with a registered model, summarise its columns the way
monitoring stores them, and write it as Parquet. Data crosses the seam as Apache Arrow, which
every engine reads and writes without copying; an engine may also accept its own native frames,
so that a pipeline that stays on one engine converts nothing.

There are two engines: ``polars`` (:mod:`charter.engines.polars`), the local one, and ``spark``
(:mod:`charter.engines.spark`, Apache Spark in local mode, on a cluster or through Spark
Connect). A new engine implements this protocol in its own subpackage and is named in
:data:`ENGINES`. :func:`chosen_engine` says which one a run uses: ``charter ingest --engine``,
else :data:`ENGINE_SETTING`, else the charter's ``data.engine``, else :data:`DEFAULT_ENGINE`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, runtime_checkable

import pyarrow as pa

from charter.engines.rules import BatchRuleResult, ContractRules, SchemaChange
from charter.engines.summaries import ColumnSummary, Kind
from charter.errors import CharterError
from charter.registry.flavors.base import Predictor
from charter.spec.model import FolderSource

if TYPE_CHECKING:
    from collections.abc import Callable

    from charter.settings import Settings

Frame_co = TypeVar("Frame_co", covariant=True)

DEFAULT_ENGINE = "polars"
ENGINE_SETTING = "CHARTER_ENGINE"
"""The setting that names the engine (``Settings.engine``); see :func:`chosen_engine`."""


@runtime_checkable
class Verdicts(Protocol[Frame_co]):
    """A batch judged against its contract: valid and failed rows, and the batch rules.

    ``valid`` holds the rows that broke no rule, converted to the contract's types; ``failed``
    holds the others as they arrived, with a ``_violations`` list naming every rule each broke.
    ``len(valid) + len(failed)`` is always the batch's row count.
    """

    @property
    def valid(self) -> Frame_co: ...

    @property
    def failed(self) -> Frame_co: ...

    @property
    def batch_rules(self) -> list[BatchRuleResult]: ...

    @property
    def schema_changes(self) -> list[SchemaChange]: ...

    @property
    def rows_in(self) -> int: ...

    @property
    def batch_ok(self) -> bool: ...

    def violation_counts(self) -> dict[str, int]:
        """How many failed rows broke each rule, most frequent first."""
        ...


@runtime_checkable
class Engine(Protocol):
    """A compute engine: every step of a batch's way through charter, Arrow in and Arrow out."""

    @property
    def name(self) -> str:
        """The name users give in :data:`ENGINE_SETTING` (``polars``)."""
        ...

    def read(self, path: Path, source: FolderSource) -> pa.Table:
        """A whole landing file in ``source``'s format (CSV values as text, for validation to
        convert). Raises :class:`~charter.errors.DataError` naming the file when it cannot."""
        ...

    def validate(
        self,
        batch: Any,
        rules: ContractRules,
        *,
        seen_keys: Any = None,
        now: datetime | None = None,
    ) -> Verdicts[Any]:
        """Judge every row and the batch against ``rules``; never drop a row.

        ``batch`` is an Arrow table or the engine's native frame (the Polars engine: a
        ``pl.DataFrame``); the verdicts hold the engine's native frames.

        ``seen_keys`` says which values of the unique columns earlier batches held, in the
        engine's own terms (the Polars engine: :data:`charter.engines.polars.contract.SeenKeys`).
        ``now`` is the instant freshness is judged against (default: the clock).
        """
        ...

    def score(self, predictor: Predictor, batch: pa.Table) -> pa.Table:
        """One ``score`` (float64) per row of ``batch``, in order, from ``predictor``."""
        ...

    def summarise(
        self,
        column: pa.Array | pa.ChunkedArray,
        kind: Kind,
        *,
        like: ColumnSummary | None = None,
    ) -> ColumnSummary:
        """The mergeable summary monitoring stores for one column: on the edges and categories of
        ``like`` (a reference summary) when given, else as a new reference of ``kind``."""
        ...

    def write(self, table: pa.Table, path: Path) -> None:
        """Write ``table`` as one Parquet file at ``path`` (the caller names and commits it)."""
        ...


def _polars(settings: Settings | None) -> Engine:
    from charter.engines.polars import PolarsEngine

    return PolarsEngine()


def _spark(settings: Settings | None) -> Engine:
    try:
        import pyspark  # noqa: F401
    except ImportError:
        raise CharterError(
            f"the spark engine needs pyspark, which is not installed ({ENGINE_SETTING}=spark, "
            "--engine spark or the charter's data.engine: spark asked for it)",
            hint="pip install 'charter[spark]' (pyspark>=4.0, and Java 17+ unless "
            "CHARTER_SPARK_MASTER is a Spark Connect sc:// URL), or choose engine polars",
        ) from None
    from charter.engines.spark import SparkEngine

    return SparkEngine(settings.spark_master if settings is not None else "local[*]")


ENGINES: Mapping[str, Callable[[Settings | None], Engine]] = {"polars": _polars, "spark": _spark}
"""Every engine by name; each is imported only when asked for."""


def engine_for(name: str, settings: Settings | None = None) -> Engine:
    """The engine called ``name`` (configured from ``settings``: the Spark master); a
    :class:`~charter.errors.CharterError` naming the setting and the known engines for any other
    name, or when the engine's library is not installed."""
    make = ENGINES.get(name.strip().lower())
    if make is None:
        known = ", ".join(sorted(ENGINES))
        raise CharterError(
            f"unknown engine {name!r}: {ENGINE_SETTING} (or --engine, or the charter's "
            f"data.engine) must be one of: {known}",
            hint=f"set {ENGINE_SETTING}={DEFAULT_ENGINE} (or unset it)",
        )
    return make(settings)


def chosen_engine(flag: str | None, settings: Settings | None, charter_engine: str | None) -> str:
    """The engine a run uses: the command's ``--engine``, else :data:`ENGINE_SETTING`, else the
    charter's ``data.engine``, else :data:`DEFAULT_ENGINE`."""
    for choice in (flag, settings.engine if settings is not None else None, charter_engine):
        if choice is not None and choice.strip():
            return choice.strip().lower()
    return DEFAULT_ENGINE
