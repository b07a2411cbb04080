"""Secrets written literally in a charter file: concealed in all charter keeps, revealed at use.

A charter file may hold a secret as written: a database password in a URL's user-info
(``postgresql://alice:S3CRET@db/x``), a query-string credential (``?token=…``), or a webhook
URL, whose path *is* the token (Slack's ``/services/T…/B…/XXXX``). The store, the ledger and the
diffs of change control never hold such a literal:

- :func:`conceal` replaces each one with a reference ``${CHARTER_SECRET_<12 hex>}``, the hex a
  SHA-256 of the literal, so the same literal always gives the same reference (a file whose
  secrets did not change stores the same text; a changed secret shows as a changed reference,
  never as its value). ``${ENV}`` references the user wrote are left as they are: a value that
  holds one is not a literal secret.
- :func:`reveal` puts the literals back from the charter file as it is on disk: the file is the
  only place a literal lives. A reference the file no longer holds (the secret was changed or
  removed since the stored text was accepted) is :class:`MissingSecretError` when the value is
  used, with :func:`missing_secret_hint` saying what to do.

:func:`charter.spec.loader.parse_charter` conceals: a :class:`~charter.spec.loader.LoadedCharter`'s
``text`` (and its ``sha256``, taken over that text) never holds a literal, while its validated
model, read from the file, does; ``secrets`` maps each reference to its literal, in memory only.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from charter.errors import CharterFileError
from charter.redaction import (
    ENV_REFERENCE,
    QUERY_CREDENTIAL,
    SECRET_REFERENCE_NAME,
    missing_secret_error,
)

REFERENCE_NAME = SECRET_REFERENCE_NAME  # the environment-style name of a concealed literal

REFERENCE = re.compile(r"\$\{(CHARTER_SECRET_[0-9a-f]{12})\}")
#: A literal this long is also concealed where it appears outside its URL (a comment).
_LONG_LITERAL = 8


@dataclass(frozen=True)
class _Url:
    """One URL value of the charter: where it is, as written, and concealed."""

    path: str
    value: str
    concealed: str
    literals: dict[str, str]  # reference name -> literal


def reference_for(literal: str) -> str:
    """The stable reference name of ``literal``: ``CHARTER_SECRET_`` and 12 hex of its SHA-256."""
    digest = hashlib.sha256(b"charter-secret\0" + literal.encode()).hexdigest()[:12]
    return f"CHARTER_SECRET_{digest}"


def conceal(text: str, data: Any = None, *, source: str = "<charter>") -> str:
    """``text`` (charter YAML) with every literal credential replaced by its reference.

    ``data``: the already parsed YAML of ``text`` (parsed here when not given). A URL whose
    secret is written so that it cannot be found verbatim in the text (YAML escapes, a folded
    line) is refused with :class:`CharterFileError`, never stored.
    """
    return _conceal(text, _urls(_parsed(text) if data is None else data), source)[0]


def literals_of(text: str, data: Any = None) -> dict[str, str]:
    """Every literal secret of charter ``text``, by reference name."""
    found: dict[str, str] = {}
    for url in _urls(_parsed(text) if data is None else data):
        found.update(url.literals)
    return found


def conceal_charter(text: str, data: Any, *, source: str) -> tuple[str, dict[str, str]]:
    """:func:`conceal` and :func:`literals_of` at once (what loading a charter needs)."""
    return _conceal(text, _urls(data), source)


def reveal(text: str, file_text: str, *, charter: str = "", strict: bool = True) -> str:
    """``text`` with each ``${CHARTER_SECRET_…}`` replaced by its literal from ``file_text``.

    ``strict``: a reference ``file_text`` does not hold is :class:`MissingSecretError`;
    otherwise it stays as it is (and fails when its value is used).
    """
    return reveal_with(text, literals_of(file_text), charter=charter, strict=strict)


def reveal_with(
    text: str, literals: Mapping[str, str], *, charter: str = "", strict: bool = True
) -> str:
    """:func:`reveal` with the literals already read (:func:`literals_of`)."""

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in literals:
            return literals[name]
        if strict:
            raise missing_secret_error(match.group(0), what="the charter text", charter=charter)
        return match.group(0)

    return REFERENCE.sub(value, text)


# -- finding the secrets ------------------------------------------------------------------------
def _parsed(text: str) -> Any:
    from charter.spec.yaml_reader import read_yaml

    return read_yaml(text)


def _urls(data: Any) -> list[_Url]:
    found = []
    for path, value, webhook in _strings(data, "", False):
        concealed, literals = _conceal_url(value, webhook=webhook)
        if literals:
            found.append(_Url(path, value, concealed, literals))
    return found


def _strings(data: Any, path: str, webhook: bool) -> Iterator[tuple[str, str, bool]]:
    """Every single-token URL value in ``data``: (field path, value, is it a webhook URL)."""
    if isinstance(data, dict):
        hook = data.get("route") == "webhook"
        for key, value in data.items():
            child = f"{path}.{key}" if path else str(key)
            yield from _strings(value, child, hook and key == "url")
    elif isinstance(data, list):
        for i, value in enumerate(data):
            yield from _strings(value, f"{path}[{i}]", False)
    elif isinstance(data, str) and "://" in data and not any(c.isspace() for c in data.strip()):
        yield path, data, webhook


def _conceal_url(url: str, *, webhook: bool) -> tuple[str, dict[str, str]]:
    """``url`` with its secrets replaced by references, and the literals by reference name."""
    literals: dict[str, str] = {}

    def ref(literal: str) -> str:
        name = reference_for(literal)
        literals[name] = literal
        return "${" + name + "}"

    def is_literal(part: str) -> bool:
        return bool(part) and ENV_REFERENCE.search(part) is None

    head, _, tail = url.partition("://")
    userinfo, at, rest = tail.rpartition("@")
    user, colon, password = userinfo.partition(":")
    if not (at and colon) or re.search(r"[/?#]", user):
        at, rest = "", tail  # no user-info: an "@" in the path or query (``/x@y``)
    elif is_literal(password):
        userinfo = f"{user}:{ref(password)}"
    authority, *more = re.split(r"(?=[/?#])", rest, maxsplit=1)
    after = more[0] if more else ""
    if webhook and is_literal(after.lstrip("/")):
        after = "/" + ref(after[1:] if after.startswith("/") else after)
    else:
        after = QUERY_CREDENTIAL.sub(
            lambda m: m.group(1) + (ref(m.group(2)) if is_literal(m.group(2)) else m.group(2)),
            after,
        )
    prefix = f"{userinfo}@" if at else ""
    return f"{head}://{prefix}{authority}{after}", literals


def _conceal(text: str, urls: list[_Url], source: str) -> tuple[str, dict[str, str]]:
    literals: dict[str, str] = {}
    for url in sorted(urls, key=lambda u: len(u.value), reverse=True):
        if url.value in text:
            text = text.replace(url.value, url.concealed)
        elif url.concealed not in text:  # escaped or folded: it would be stored as written
            raise CharterFileError(
                source,
                [
                    f"{url.path}: this URL holds a secret written in a form charter cannot keep "
                    "out of its store (YAML escapes or a line break); write the URL plainly on "
                    "one line, or better, put the secret in an environment variable and write "
                    "${NAME} in its place"
                ],
            )
        literals.update(url.literals)
    for name, literal in sorted(literals.items(), key=lambda kv: len(kv[1]), reverse=True):
        if len(literal) >= _LONG_LITERAL and literal in text:  # a comment quoting it
            text = text.replace(literal, "${" + name + "}")
    return text, literals
