"""Who is who: charter names, actor strings, and the owner's and delegates' identities.

Three rules, each closing a way to decide in someone else's name:

- **A charter is named, never pointed at.** :func:`check_charter_name` accepts a lower-case slug
  only, so ``charter approve ../../evil/credit-default`` cannot read a file outside ``charters/``
  whose ``owner:`` the attacker wrote. (``charter check`` alone also takes a FILE.)
- **An actor string is bounded and printable.** :func:`check_actor` refuses an empty string, one
  longer than :data:`MAX_IDENTITY` (the width of every ``*_by`` column) and one with control or
  invisible characters, *before* anything is written; :func:`label` renders any string, however
  long or strange, short enough to record the refusal itself.
- **Identities are compared canonically, and look-alikes are refused.** :func:`canonical` is NFKC
  then casefold, so ``Dana.Ruiz@Bank.example`` is the owner ``dana.ruiz@bank.example``. But an
  identity spelt with compatibility characters (KELVIN SIGN ``K`` for ``k``, full-width letters)
  is refused rather than silently folded into the owner's, and so is one whose :func:`skeleton`
  (Unicode TS #39 style: each character mapped to the Latin letter it looks like) equals a
  decider's while the identity itself differs (Cyrillic ``а`` in ``bаnk``).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from charter.errors import CharterNotFoundError, InvalidIdentityError

MAX_IDENTITY = 320
"""Longest identity (an email address is at most 320 characters; so is every ``*_by`` column)."""
NAME_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,99}$"
_LABEL_CHARS = 80
_INVISIBLE = {"Cc", "Cf", "Co", "Cs", "Cn", "Zl", "Zp"}

# Characters that look like a Latin letter or digit, after NFKC and casefold. A small table of
# our own covering Cyrillic and Greek look-alikes and the digit/letter confusions of TS #39.
_LOOKALIKES: dict[str, str] = {
    # Cyrillic
    "а": "a", "е": "e", "ё": "ë", "һ": "h", "і": "i", "ї": "ï", "ј": "j", "к": "k", "о": "o",
    "р": "p", "с": "c", "у": "y", "х": "x", "ѕ": "s", "ԁ": "d", "ԛ": "q", "ԝ": "w", "ӏ": "l",
    # Greek
    "α": "a", "ι": "i", "κ": "k", "ν": "v", "ο": "o", "ρ": "p", "υ": "u", "χ": "x", "ϲ": "c",
    "ϳ": "j", "μ": "u",
    # Latin, digits and punctuation
    "ı": "i", "ȷ": "j", "ɡ": "g", "0": "o", "1": "l", "|": "l", "ǀ": "l",
    "‐": "-", "‑": "-", "‒": "-", "–": "-", "—": "-", "−": "-",
}  # fmt: skip
_SEQUENCES = (("rn", "m"), ("vv", "w"))


def check_charter_name(name: str) -> str:
    """``name`` if it is a charter name (a slug); otherwise a :class:`CharterNotFoundError`."""
    if re.fullmatch(NAME_PATTERN, name):
        return name
    raise CharterNotFoundError(
        f"{label(name)} is not a charter name: a name is a lower-case slug (letters, digits, "
        "- and _), never a path",
        hint="Name a charter in this workspace's charters/ folder; only `charter check` "
        "also takes a FILE.",
    )


def canonical(identity: str) -> str:
    """The form identities are compared and stored in: trimmed, NFKC, casefolded."""
    return unicodedata.normalize("NFKC", identity.strip()).casefold()


def skeleton(identity: str) -> str:
    """What ``identity`` looks like: canonical form with every look-alike mapped to its letter."""
    text = "".join(_LOOKALIKES.get(ch, ch) for ch in canonical(identity))
    for sequence, letter in _SEQUENCES:
        text = text.replace(sequence, letter)
    return text


def label(text: str) -> str:
    """``text`` quoted, with invisible characters escaped and cut to a length fit for a record."""
    shown = "".join(
        ch if unicodedata.category(ch) not in _INVISIBLE else f"\\u{ord(ch):04x}" for ch in text
    )
    if len(shown) <= _LABEL_CHARS:
        return f"'{shown}'"
    return f"'{shown[:_LABEL_CHARS]}'… ({len(text)} characters)"


def check_actor(text: str, *, what: str = "the actor") -> str:
    """``text`` trimmed, if it can be recorded as who acted; otherwise :class:`InvalidIdentityError`."""
    actor = text.strip()
    if not actor:
        raise InvalidIdentityError(f"{what} is empty: say who is acting")
    if len(actor) > MAX_IDENTITY:
        raise InvalidIdentityError(
            f"{what} {label(actor)} is {len(actor)} characters long, over the limit of "
            f"{MAX_IDENTITY}"
        )
    for ch in actor:
        if unicodedata.category(ch) in _INVISIBLE or (ch.isspace() and ch != " "):
            raise InvalidIdentityError(
                f"{what} {label(actor)} contains the invisible character "
                f"U+{ord(ch):04X} {unicodedata.name(ch, 'unnamed')}"
            )
    return actor


def check_identity(text: str, *, what: str = "the identity") -> str:
    """The canonical form of an owner, delegate or decider identity; refuse compatibility look-alikes."""
    actor = check_actor(text, what=what)
    for ch in actor:
        folded = unicodedata.normalize("NFKC", ch)
        if folded != ch:
            raise InvalidIdentityError(
                f"{what} {label(actor)} contains U+{ord(ch):04X} "
                f"{unicodedata.name(ch, 'unnamed')}, a look-alike of {folded!r}; "
                "type the identity in plain characters"
            )
    return canonical(actor)


def confusable_with(identity: str, others: Iterable[str]) -> str | None:
    """The first of ``others`` that ``identity`` looks like without being it, if any."""
    mine, shape = canonical(identity), skeleton(identity)
    for other in others:
        if canonical(other) != mine and skeleton(other) == shape:
            return other
    return None


def check_decider(text: str, deciders: Iterable[str], *, what: str = "the decider") -> str | None:
    """The canonical identity if it is one of ``deciders``; None if it is nobody's.

    Raises :class:`InvalidIdentityError` for an identity that cannot be recorded, that uses
    compatibility characters, or that looks like a decider's identity without being it.
    """
    who = check_identity(text, what=what)
    known = [canonical(d) for d in deciders]
    if who in known:
        return who
    twin = confusable_with(who, known)
    if twin is not None:
        raise InvalidIdentityError(
            f"{what} {label(who)} looks like {twin!r} but is a different identity "
            "(look-alike characters); refused"
        )
    return None
