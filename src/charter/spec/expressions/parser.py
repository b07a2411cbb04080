r"""Reading segment text: a hand-written tokenizer and recursive-descent parser.

Never Python ``eval``, never SQL built from strings. :func:`parse` turns text into an
:class:`~charter.spec.expressions.tree.Expression`, or raises :class:`ExpressionError` saying
where the mistake is (with a hint for slips such as ``=`` or ``&&``).

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

``null`` itself is only allowed in ``is null`` / ``is not null``, since ``x == null`` could never
be true (how nulls behave is in :mod:`charter.spec.expressions.evaluate`).

Input is limited to 10,000 characters, 64 levels of nesting (parentheses and ``not``) and 2,000
terms (conditions plus values in lists).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from charter.errors import ExpressionError
from charter.spec.expressions.tree import (
    COMPARISONS,
    ESCAPES,
    IDENTIFIER,
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
)

MAX_LENGTH = 10_000
MAX_DEPTH = 64
MAX_TERMS = 2_000
_MISTAKES = {"=": "'=='", "<>": "'!='", "=>": "'>='", "=<": "'<='", "!": "'!=' or 'not'"}
_MISTAKES |= {"&&": "'and'", "&": "'and'", "||": "'or'", "|": "'or'"}
_NUMBER = re.compile(r"-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_NUMBER_TAIL = re.compile(r"[\w.]*")


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
        elif word := IDENTIFIER.match(text, i):
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
            if following not in ESCAPES:
                raise ExpressionError(text, f"unknown escape '\\{following}' in text", i)
            out.append(ESCAPES[following])
            i += 2
        else:
            out.append(ch)
            i += 1
    what = "column name" if quote == "`" else "string"
    raise ExpressionError(text, f"unterminated {what} (no closing {quote})", start)


class _Parser:
    def __init__(self, text: str) -> None:
        self.text, self.tokens, self.index, self.depth = text, _tokenize(text), 0, 0
        self.terms = 0

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

    def count(self, token: _Token) -> None:
        self.terms += 1
        if self.terms > MAX_TERMS:
            raise self.fail(f"too many terms (more than {MAX_TERMS} conditions and values)", token)

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
        self.count(opening)
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
            token = self.peek()
            self.count(token)
            item = self.operand("a value in the list")
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
