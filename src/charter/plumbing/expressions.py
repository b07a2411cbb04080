r"""Segment expressions: the small, safe filter language charters use to name slices of the data.

A charter says ``segment: "region == 'north' and income > 50000"``. That text is parsed here by a
hand-written tokenizer and recursive-descent parser (never Python ``eval``, never SQL built from
strings) into a tree of frozen dataclasses, which is then compiled to a Polars expression
(:func:`to_polars`, the local engine), to a PySpark column (:func:`to_spark`, the Spark engine) or
evaluated on a single row (:func:`evaluate_row`, the HTTP predict path).

Grammar, loosest binding first; keywords are case-insensitive, column names are not::

    expression := and_expr ("or" and_expr)*
    and_expr   := not_expr ("and" not_expr)*
    not_expr   := "not" not_expr | condition
    condition  := "(" expression ")"
                | operand ("==" | "!=" | "<" | "<=" | ">" | ">=") operand
                | column ["not"] "in" list
                | column "is" ["not"] "null"
                | column ["not"] "between" operand "and" operand      (inclusive)
    list       := "[" literal ("," literal)* "]" | "(" literal ("," literal)* ")"
    operand    := column | literal
    column     := identifier | `any other name`       (a backquote inside is written ``)
    literal    := number | 'text' | "text" | true | false

An identifier starts with a letter or underscore and goes on with letters, digits and underscores;
any other column name (with spaces, dots, or spelled like a keyword) goes in backquotes. Numbers are
integers within the 64-bit range or finite floats, optionally negative, with an optional exponent
(``-1.5e3``). Text takes the escapes ``\\ \' \" \n \t \r``. A comparison needs at least one
column. A list holds values of one kind: all text, or all numbers and booleans.

Nulls follow SQL. A comparison with a null is *unknown*; ``and``/``or``/``not`` use three-valued
logic; a row whose condition ends up unknown is **not in the segment** (the Polars mask gets
``fill_null(False)`` at the very end). So ``not (income > 10)`` does not select rows whose income is
null: write ``income is null or income <= 10`` to include them. ``null`` itself is only allowed in
``is null`` / ``is not null``, since ``x == null`` could never be true. Float NaN equals itself and
sorts above every number, as in Polars and Spark. Comparing text with a number is an error (raised
by Polars when the mask is computed, and as :class:`ExpressionError` by :func:`evaluate_row`).

Input is limited to 10,000 characters and 64 levels of nesting (parentheses and ``not``).
"""

from __future__ import annotations

import difflib
import functools
import math
import operator
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeAlias

import polars as pl
import polars.selectors as cs

from charter.errors import ExpressionError

if TYPE_CHECKING:
    from pyspark.sql import Column as SparkColumn

MAX_LENGTH = 10_000
MAX_DEPTH = 64
KEYWORDS = frozenset({"and", "or", "not", "in", "is", "null", "true", "false", "between"})
_OPERATORS = (operator.eq, operator.ne, operator.lt, operator.le, operator.gt, operator.ge)
COMPARISONS: dict[str, Callable[[Any, Any], Any]] = dict(
    zip(("==", "!=", "<", "<=", ">", ">="), _OPERATORS, strict=True)
)
_MISTAKES = {"=": "'=='", "<>": "'!='", "=>": "'>='", "=<": "'<='", "!": "'!=' or 'not'"}
_MISTAKES |= {"&&": "'and'", "&": "'and'", "||": "'or'", "|": "'or'"}
_ESCAPES = {"\\": "\\", "'": "'", '"': '"', "n": "\n", "t": "\t", "r": "\r"}
_RENDER_ESCAPES = {char: "\\" + name for name, char in _ESCAPES.items() if name != '"'}
_IDENTIFIER = re.compile(r"[^\W\d]\w*")
_NUMBER = re.compile(r"-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_NUMBER_TAIL = re.compile(r"[\w.]*")
Value: TypeAlias = str | int | float | bool


@dataclass(frozen=True)
class Column:
    """A column referenced by name."""

    name: str

    def __str__(self) -> str:
        if _IDENTIFIER.fullmatch(self.name) and self.name.lower() not in KEYWORDS:
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


@dataclass(frozen=True)
class _Token:
    kind: str  # name, keyword, number, string, op, punct, end
    value: Any
    position: int
    text: str

    def describe(self) -> str:
        if self.kind == "end":
            return "the end of the expression"
        return self.text if self.kind == "string" else f"'{self.text}'"


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    i = 0
    while i < len(text):
        ch, two = text[i], text[i : i + 2]
        wrong = two if two in _MISTAKES else ch
        if ch.isspace():
            i += 1
            continue
        if two in COMPARISONS or (ch in "<>" and two not in _MISTAKES):
            lexeme = two if two in COMPARISONS else ch
            tokens.append(_Token("op", lexeme, i, lexeme))
        elif wrong in _MISTAKES:
            message = f"unknown operator '{wrong}' (did you mean {_MISTAKES[wrong]}?)"
            raise ExpressionError(text, message, i)
        elif ch in "()[],":
            tokens.append(_Token("punct", ch, i, ch))
        elif ch in "'\"`":
            value, end = _read_quoted(text, i)
            tokens.append(_Token("name" if ch == "`" else "string", value, i, text[i:end]))
        elif number := _NUMBER.match(text, i):
            tokens.append(_Token("number", _number(text, number), i, number.group()))
        elif word := _IDENTIFIER.match(text, i):
            lexeme, lower = word.group(), word.group().lower()
            keyword = lower in KEYWORDS
            tokens.append(
                _Token("keyword" if keyword else "name", lower if keyword else lexeme, i, lexeme)
            )
        else:
            raise ExpressionError(text, f"unexpected character {ch!r}", i)
        i += len(tokens[-1].text)
    return [*tokens, _Token("end", None, len(text), "")]


def _number(text: str, match: re.Match[str]) -> int | float:
    lexeme, start = match.group(), match.start()
    tail = _NUMBER_TAIL.match(text, match.end())
    if tail and tail.group():
        raise ExpressionError(text, f"malformed number '{lexeme}{tail.group()}'", start)
    if not any(c in lexeme for c in ".eE"):
        if len(lexeme) <= 20 and -(2**63) <= int(lexeme) < 2**63:
            return int(lexeme)
        raise ExpressionError(text, f"integer {lexeme} is outside the 64-bit range", start)
    if math.isinf(value := float(lexeme)):
        raise ExpressionError(text, f"number {lexeme} is too large", start)
    return value


def _read_quoted(text: str, start: int) -> tuple[str, int]:
    """Read text in quotes (backslash escapes) or a `column name` (a doubled backquote escapes)."""
    quote, out, i = text[start], [], start + 1
    while i < len(text):
        ch, following = text[i], text[i + 1 : i + 2]
        if ch == quote and quote == "`" and following == "`":
            out.append("`")
            i += 2
        elif ch == quote:
            if quote == "`" and not out:
                raise ExpressionError(text, "empty column name ``", start)
            return "".join(out), i + 1
        elif ch == "\\" and quote != "`" and following:
            if following not in _ESCAPES:
                raise ExpressionError(text, f"unknown escape '\\{following}' in text", i)
            out.append(_ESCAPES[following])
            i += 2
        else:
            out.append(ch)
            i += 1
    what = "column name" if quote == "`" else "string"
    raise ExpressionError(text, f"unterminated {what} (no closing {quote})", start)


class _Parser:
    def __init__(self, text: str) -> None:
        self.text, self.tokens, self.index, self.depth = text, _tokenize(text), 0, 0

    def peek(self) -> _Token:
        return self.tokens[self.index]

    def advance(self) -> _Token:
        token = self.tokens[self.index]
        self.index = min(self.index + 1, len(self.tokens) - 1)
        return token

    def at_keyword(self, *words: str) -> bool:
        return self.peek().kind == "keyword" and self.peek().value in words

    def accept(self, kind: str, *values: str) -> bool:
        """Step over the next token if it is of that kind (and one of those values)."""
        token = self.peek()
        if token.kind == kind and (not values or token.value in values):
            self.advance()
            return True
        return False

    def fail(self, message: str, token: _Token | None = None) -> ExpressionError:
        return ExpressionError(self.text, message, (token or self.peek()).position)

    @property
    def found(self) -> str:
        return f"found {self.peek().describe()}"

    def nest(self, token: _Token) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.fail(f"nested too deeply (more than {MAX_DEPTH} levels)", token)

    def parse(self) -> Expression:
        if self.peek().kind == "end":
            raise ExpressionError(self.text, "the expression is empty", 0)
        expr = self.disjunction()
        if self.peek().text == ")":
            raise self.fail("unmatched ')'")
        if self.peek().kind != "end":
            raise self.fail(f"unexpected {self.peek().describe()} after a complete condition")
        return expr

    def disjunction(self) -> Expression:
        items = [self.conjunction()]
        while self.accept("keyword", "or"):
            items.append(self.conjunction())
        return items[0] if len(items) == 1 else Or(tuple(items))

    def conjunction(self) -> Expression:
        items = [self.negation()]
        while self.accept("keyword", "and"):
            items.append(self.negation())
        return items[0] if len(items) == 1 else And(tuple(items))

    def negation(self) -> Expression:
        if not self.at_keyword("not"):
            return self.condition()
        self.nest(self.advance())
        inner = self.negation()
        self.depth -= 1
        return Not(inner)

    def condition(self) -> Expression:
        opening = self.peek()
        if self.accept("punct", "("):
            self.nest(opening)
            inner = self.disjunction()
            if not self.accept("punct", ")"):
                raise self.fail(f"unclosed '(': expected ')', {self.found}")
            self.depth -= 1
            return inner
        left = self.operand("a column, 'not' or '('")
        if self.peek().kind == "op":
            op = self.advance().text
            right = self.operand(f"a value after '{op}'")
            if isinstance(left, Literal) and isinstance(right, Literal):
                raise self.fail(
                    f"'{left} {op} {right}' compares two values; name a column", opening
                )
            return Comparison(left, op, right)
        if not isinstance(left, Column):
            raise self.fail(f"expected a comparison operator after {left}, {self.found}")
        negated = self.accept("keyword", "not")
        if negated and not self.at_keyword("in", "between"):
            raise self.fail(f"expected 'in' or 'between' after 'not', {self.found}")
        if self.accept("keyword", "in"):
            found: Expression = InList(left, self.values())
        elif self.accept("keyword", "between"):
            low = self.operand("a value after 'between'")
            if not self.accept("keyword", "and"):
                raise self.fail(f"expected 'and' to close 'between', {self.found}")
            found = Between(left, low, self.operand("a value after 'and'"))
        elif self.accept("keyword", "is"):
            negated = self.accept("keyword", "not")
            if not self.accept("keyword", "null"):
                raise self.fail(f"expected 'null' after 'is', {self.found}")
            found = IsNull(left)
        else:
            ops = "such as ==, <, in, is null, between"
            raise self.fail(f"expected an operator after column '{left}' ({ops}), {self.found}")
        return Not(found) if negated else found

    def operand(self, expected: str) -> Operand:
        token = self.advance()
        if token.kind == "keyword" and token.value == "null":
            raise self.fail("null never equals anything; write 'is null' or 'is not null'", token)
        if token.kind == "keyword" and token.value in ("true", "false"):
            return Literal(token.value == "true")
        if token.kind in ("number", "string"):
            return Literal(token.value)
        if token.kind == "name":
            return Column(token.value)
        raise self.fail(f"expected {expected}, found {token.describe()}", token)

    def values(self) -> tuple[Literal, ...]:
        opening = self.peek()
        if not self.accept("punct", "[", "("):
            raise self.fail(f"expected a list like ['a', 'b'] after 'in', {self.found}")
        close, items = ("]" if opening.value == "[" else ")"), list[Literal]()
        while True:
            token, item = self.peek(), self.operand("a value in the list")
            if isinstance(item, Column):
                message = f"a list holds values, not columns (quote text: '{item.name}')"
                raise self.fail(message, token)
            items.append(item)
            if self.accept("punct", close):
                break
            if not self.accept("punct", ","):
                raise self.fail(f"expected ',' or '{close}' in the list, {self.found}")
        if len({isinstance(item.value, str) for item in items}) > 1:
            raise self.fail("a list cannot mix text with numbers or booleans", opening)
        return tuple(items)


def parse(text: str) -> Expression:
    """Parse segment text into an :class:`Expression`; raise :class:`ExpressionError` if bad."""
    if len(text) > MAX_LENGTH:
        message = f"{len(text)} characters is over the limit of {MAX_LENGTH}"
        raise ExpressionError(text[:40] + "...", message)
    return _Parser(text).parse()


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


def _build(
    expr: Expression,
    column: Callable[[str], Any],
    literal: Callable[[Value], Any],
    is_null: Callable[[Any], Any],
) -> Any:
    """Compile for a column library whose objects overload ``== < & | ~`` with SQL null logic."""

    def operand(o: Operand) -> Any:
        return column(o.name) if isinstance(o, Column) else literal(o.value)

    def build(e: Expression) -> Any:
        return _build(e, column, literal, is_null)

    if isinstance(expr, Comparison):
        return COMPARISONS[expr.op](operand(expr.left), operand(expr.right))
    if isinstance(expr, InList):
        # An OR of equalities (how SQL defines IN) rather than Polars' is_in, which refuses an
        # integer column against a list of floats and the other way round.
        subject = operand(expr.column)
        return functools.reduce(operator.or_, [subject == operand(v) for v in expr.values])
    if isinstance(expr, IsNull):
        return is_null(operand(expr.column))
    if isinstance(expr, Between):
        subject = operand(expr.column)
        return (subject >= operand(expr.low)) & (subject <= operand(expr.high))
    if isinstance(expr, Not):
        return ~build(expr.operand)
    if isinstance(expr, And | Or):
        return functools.reduce(
            operator.and_ if isinstance(expr, And) else operator.or_, map(build, expr.items)
        )
    raise TypeError(f"not a segment expression: {expr!r}")


def _polars_column(name: str) -> pl.Expr:
    # pl.col reads "*" as every column and "^...$" as a regex; by_name takes the name literally.
    if name == "*" or (name.startswith("^") and name.endswith("$")):
        return cs.by_name(name).as_expr()
    return pl.col(name)


def to_polars(expr: Expression) -> pl.Expr:
    """A boolean Polars expression, true exactly for the rows in the segment (never null)."""
    mask: pl.Expr = _build(expr, _polars_column, pl.lit, lambda e: e.is_null())
    return mask.fill_null(False)


def to_spark(expr: Expression) -> SparkColumn:
    """A boolean PySpark column, true exactly for the rows in the segment (needs ``pyspark``)."""
    from pyspark.sql import functions as sf

    def column(name: str) -> Any:
        return sf.col("`" + name.replace("`", "``") + "`")

    mask = _build(expr, column, sf.lit, lambda c: c.isNull())
    return sf.coalesce(mask, sf.lit(False))


def evaluate_row(expr: Expression, row: Mapping[str, Any]) -> bool:
    """Whether one row is in the segment, by the same null rules as :func:`to_polars`."""
    return _truth(expr, row) is True


def _truth(expr: Expression, row: Mapping[str, Any]) -> bool | None:
    """SQL three-valued logic: None stands for unknown."""

    def value(o: Operand) -> Any:
        if isinstance(o, Literal):
            return o.value
        if o.name not in row:
            raise ExpressionError(str(expr), f"the row has no column {o.name!r}")
        return row[o.name]

    def compare(op: str, left: Any, right: Operand) -> bool | None:
        right = value(right)
        if left is None or right is None:
            return None
        try:
            if isinstance(left, str) != isinstance(right, str):
                raise TypeError
            return bool(COMPARISONS[op](_sort_key(left), _sort_key(right)))
        except TypeError:
            raise ExpressionError(str(expr), f"cannot compare {left!r} with {right!r}") from None

    if isinstance(expr, Comparison):
        return compare(expr.op, value(expr.left), expr.right)
    if isinstance(expr, InList):
        return _any([compare("==", value(expr.column), v) for v in expr.values])
    if isinstance(expr, IsNull):
        return value(expr.column) is None
    if isinstance(expr, Between):
        subject = value(expr.column)
        return _all([compare(">=", subject, expr.low), compare("<=", subject, expr.high)])
    if isinstance(expr, Not):
        inner = _truth(expr.operand, row)
        return None if inner is None else not inner
    if isinstance(expr, And | Or):
        results = [_truth(item, row) for item in expr.items]
        return _all(results) if isinstance(expr, And) else _any(results)
    raise TypeError(f"not a segment expression: {expr!r}")


def _sort_key(value: Any) -> tuple[int, Any]:
    """NaN equals itself and sorts above every number, as in Polars and Spark."""
    return (1, 0.0) if isinstance(value, float) and math.isnan(value) else (0, value)


def _all(values: list[bool | None]) -> bool | None:
    return False if False in values else (None if None in values else True)


def _any(values: list[bool | None]) -> bool | None:
    return True if True in values else (None if None in values else False)
