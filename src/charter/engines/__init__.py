"""Compute engines: the local engine (Polars/Arrow) and the Apache Spark engine.

Both run the same contract validation, scoring and statistics and must give the same numbers on
the same data. The local engine is Polars used directly by each concern's module (for example
:mod:`charter.plumbing.contract` validates a batch with Polars expressions, and
:mod:`charter.spec.expressions` compiles segments to Polars); engine-specific code that several
concerns share lives in this package, one module per engine.
"""
