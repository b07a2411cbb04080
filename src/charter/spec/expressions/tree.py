"""The tree a segment expression parses to: frozen dataclasses, one per kind of condition.

:func:`charter.spec.expressions.parser.parse` builds it; :mod:`charter.spec.expressions.evaluate`
runs it. ``str()`` on any node gives canonical text that parses back to an equal tree, so the
spelling rules that text must follow (what an identifier is, which words are keywords, the text
escapes) live here, next to the code that writes them, and the tokenizer reads the same tables.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeAlias

KEYWORDS = frozenset({"and", "or", "not", "in", "is", "null", "true", "false", "between"})
_OPERATORS = (operator.eq, operator.ne, operator.lt, operator.le, operator.gt, operator.ge)
COMPARISONS: dict[str, Callable[[Any, Any], Any]] = dict(
    zip(("==", "!=", "<", "<=", ">", ">="), _OPERATORS, strict=True)
)
# Text escapes: the tokenizer reads them all; Literal.__str__ writes all but \" (it quotes with ').
ESCAPES = {"\\": "\\", "'": "'", '"': '"', "n": "\n", "t": "\t", "r": "\r"}
_RENDER_ESCAPES = {char: "\\" + name for name, char in ESCAPES.items() if name != '"'}
IDENTIFIER = re.compile(r"[^\W\d]\w*")
Value: TypeAlias = str | int | float | bool


@dataclass(frozen=True)
class Column:
    """A column referenced by name."""

    name: str

    def __str__(self) -> str:
        if IDENTIFIER.fullmatch(self.name) and self.name.lower() not in KEYWORDS:
            return self.name
        return "`" + self.name.replace("`", "``") + "`"


@dataclass(frozen=True)
class Literal:
    """A constant: text, a number or a boolean (never null)."""

    value: Value

    def __str__(self) -> str:
        if isinstance(self.value, bool):
            return "true" if self.value else "false"
        if not isinstance(self.value, str):
            return repr(self.value)
        return "'" + "".join(_RENDER_ESCAPES.get(ch, ch) for ch in self.value) + "'"


Operand: TypeAlias = Column | Literal


class Expression:
    """A parsed segment condition; ``str()`` gives canonical text that parses back to it."""

    def columns(self) -> frozenset[str]:
        """The names of the columns this condition reads (found in every node's fields)."""
        names: set[str] = set()
        for field in vars(self).values():
            for part in field if isinstance(field, tuple) else (field,):
                if isinstance(part, Column):
                    names.add(part.name)
                elif isinstance(part, Expression):
                    names |= part.columns()
        return frozenset(names)


@dataclass(frozen=True)
class Comparison(Expression):
    """``left op right``, op one of ``== != < <= > >=``; at least one side is a column."""

    left: Operand
    op: str
    right: Operand

    def __str__(self) -> str:
        return f"{self.left} {self.op} {self.right}"


@dataclass(frozen=True)
class InList(Expression):
    """``column in [v, ...]``; ``not in`` parses to ``Not(InList(...))``."""

    column: Column
    values: tuple[Literal, ...]

    def __str__(self) -> str:
        return f"{self.column} in [{', '.join(map(str, self.values))}]"


@dataclass(frozen=True)
class IsNull(Expression):
    """``column is null``; ``is not null`` parses to ``Not(IsNull(...))``."""

    column: Column

    def __str__(self) -> str:
        return f"{self.column} is null"


@dataclass(frozen=True)
class Between(Expression):
    """``column between low and high``, both ends included."""

    column: Column
    low: Operand
    high: Operand

    def __str__(self) -> str:
        return f"{self.column} between {self.low} and {self.high}"


def _wrap(expr: Expression) -> str:
    return f"({expr})" if isinstance(expr, And | Or) else str(expr)


@dataclass(frozen=True)
class Not(Expression):
    """``not operand``."""

    operand: Expression

    def __str__(self) -> str:
        return f"not {_wrap(self.operand)}"


@dataclass(frozen=True)
class And(Expression):
    """All of two or more conditions."""

    items: tuple[Expression, ...]

    def __str__(self) -> str:
        return " and ".join(map(_wrap, self.items))


@dataclass(frozen=True)
class Or(Expression):
    """Any of two or more conditions."""

    items: tuple[Expression, ...]

    def __str__(self) -> str:
        return " or ".join(map(_wrap, self.items))
