"""Compute engines behind one seam: :class:`~charter.engines.base.Engine` and
:func:`~charter.engines.base.engine_for`.

- :mod:`.rules` — the data contract's rules as an intermediate representation, built once from
  the charter and compiled by each engine;
- :mod:`.summaries` — the mergeable per-column summaries monitoring stores (every engine must
  produce the same);
- :mod:`.polars` — the local engine (Polars/Arrow);
- :mod:`.spark` — the Apache Spark engine (pyspark: local, a cluster or Spark Connect), which
  compiles the same rules to Spark columns and must give the same numbers.
"""
