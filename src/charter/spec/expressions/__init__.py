"""Segment expressions: the small, safe filter language charters use to name slices of the data.

A charter says ``segment: "region == 'north' and income > 50000"``. That text is parsed by a
hand-written tokenizer and recursive-descent parser (never Python ``eval``, never SQL built from
strings) into a tree of frozen dataclasses, which is then compiled to a Polars expression
(:func:`to_polars`, the local engine), to a PySpark column (:func:`to_spark`, the Spark engine) or
evaluated on a single row (:func:`evaluate_row`, the HTTP predict path).

Import the language from here. This module adds :func:`compile_segment` (parse, then check that the
columns exist) to the names of the three modules that do the work:

- :mod:`charter.spec.expressions.tree`: the tree (:class:`Expression` and its nodes), whose
  ``str()`` is canonical text that parses back to it;
- :mod:`charter.spec.expressions.parser`: the grammar, the tokenizer and :func:`parse`;
- :mod:`charter.spec.expressions.evaluate`: the Polars and Spark masks, row evaluation, and the
  SQL rules for nulls they share.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from charter.errors import ExpressionError
from charter.spec.expressions.evaluate import evaluate_row, to_polars, to_spark
from charter.spec.expressions.parser import MAX_DEPTH, MAX_LENGTH, MAX_TERMS, parse
from charter.spec.expressions.tree import (
    COMPARISONS,
    KEYWORDS,
    And,
    Between,
    Column,
    Comparison,
    Expression,
    InList,
    IsNull,
    Literal,
    Not,
    Operand,
    Or,
    Value,
)

__all__ = [
    "COMPARISONS",
    "KEYWORDS",
    "MAX_DEPTH",
    "MAX_LENGTH",
    "MAX_TERMS",
    "And",
    "Between",
    "Column",
    "Comparison",
    "Expression",
    "InList",
    "IsNull",
    "Literal",
    "Not",
    "Operand",
    "Or",
    "Value",
    "compile_segment",
    "evaluate_row",
    "parse",
    "to_polars",
    "to_spark",
]


def compile_segment(text: str, available_columns: Iterable[str] | None = None) -> Expression:
    """Parse segment text and, when ``available_columns`` is given, check every column exists."""
    expr = parse(text)
    if available_columns is None:
        return expr
    available = sorted(set(available_columns))
    unknown = sorted(expr.columns() - set(available))
    if not unknown:
        return expr
    described = []
    for name in unknown:
        close = difflib.get_close_matches(name, available, n=1)
        described.append(f"{name!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
    noun = "columns" if len(unknown) > 1 else "column"
    message = f"unknown {noun} {', '.join(described)}"
    shown = ", ".join(available[:30]) or "(none)"
    if len(available) > 30:
        shown += f" and {len(available) - 30} more"
    raise ExpressionError(text, f"{message}; available columns: {shown}")
