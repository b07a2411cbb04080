"""Keeping secrets out of what charter shows and keeps: URLs redacted, ``${ENV}`` expanded late.

A URL in a charter file or a setting may carry a secret: a database password
(``postgresql://alice:S3CRET@db/prod``), a query-string credential (``?password=…``, ``&token=…``)
or, for a webhook, the whole path (Slack's ``/services/T…/B…/XXXX`` *is* the token). So:

- :func:`redact_url` masks the user-info of any URL, even one that does not parse (everything
  between ``//`` and the last ``@``, or before the ``@`` when ``//`` is missing), and the value of
  every query-string credential. It is used wherever a URL is printed, logged, written to the
  ledger or stored (a batch id, a cursor key).
- :func:`redact_text` does the same to URLs and ``password=`` pairs inside free text (a driver's
  error message may quote its connection string).
- :func:`describe_webhook` shows a webhook as scheme, host and port plus a short digest of the
  full URL, so two routes can be told apart without showing either token.
- :func:`expand_env` replaces ``${NAME}`` references with environment variables. Charter text
  keeps the references (that is what the store and the ledger hold); a URL is expanded only at
  the moment it is used to connect or send.
"""

from __future__ import annotations

import hashlib
import os
import re

from charter.errors import CharterError

MASK = "***"
ENV_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_CREDENTIAL_NAMES = (
    r"pass(?:word|wd)?|pwd|secret|client_secret|token|access_token|refresh_token|id_token|"
    r"api_?key|key|sig|signature|auth|authorization|credentials?|private_key|sas|code"
)
#: A query-string credential: group 1 is ``?name=`` (or ``&``/``;``), group 2 its value.
QUERY_CREDENTIAL = re.compile(
    rf"([?&;](?:[\w.-]*[_.-])?(?:{_CREDENTIAL_NAMES})=)([^&#;\s]*)", re.IGNORECASE
)
_PAIR_CREDENTIAL = re.compile(
    rf"(\b(?:{_CREDENTIAL_NAMES})\s*=\s*)('[^']*'|\"[^\"]*\"|[^\s&;,)]+)", re.IGNORECASE
)
_SCHEME = re.compile(r"^\s*[A-Za-z][A-Za-z0-9+.-]*:")
_URL_IN_TEXT = re.compile(
    r"[A-Za-z][A-Za-z0-9+.-]*:/?/[^\s'\"<>]+|[^\s'\"<>/@]+:[^\s'\"<>/@]*@[^\s'\"<>]+"
)


class MissingEnvironmentError(CharterError):
    """A ``${NAME}`` reference in a URL names an environment variable that is not set."""


#: The environment-style name of a literal secret concealed in stored charter text
#: (:mod:`charter.spec.secrets`): ``${CHARTER_SECRET_<12 hex>}``.
SECRET_REFERENCE_NAME = re.compile(r"CHARTER_SECRET_[0-9a-f]{12}")


class MissingSecretError(MissingEnvironmentError):
    """A concealed secret is needed but the charter file no longer holds its literal."""


def missing_secret_hint(charter: str = "") -> str:
    """What to do when a concealed secret cannot be revealed."""
    file = f"charters/{charter}.yaml" if charter else "the charter file"
    return (
        f"The secret was written in {file} when these terms were accepted and the file no longer "
        "holds it (it was changed or removed). Accept or revert the pending change "
        f"(`charter changes {charter or 'NAME'}`), or better, move the secret out of the file "
        "into an environment variable and write ${NAME} in its place."
    )


def missing_secret_error(reference: str, *, what: str, charter: str = "") -> MissingSecretError:
    """The error for ``reference`` (in ``what``, e.g. "the webhook URL") that cannot be revealed."""
    of = f" of {charter}" if charter else ""
    return MissingSecretError(
        f"{what}{of} needs the secret {reference}, written in the charter file when its terms "
        "were accepted, but the file no longer holds it",
        hint=missing_secret_hint(charter),
    )


def redact_url(url: str) -> str:
    """``url`` safe to show or store: user-info and query-string credentials masked.

    A URL SQLAlchemy parses keeps its familiar rendering (user name shown, password ``***``), so
    cursor keys made from it stay what they were; any other text falls back to masking all of
    the user-info.
    """
    # Imported here, not at the top: checking a charter file's webhooks needs no SQLAlchemy.
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    shown = None
    if url.count("@") <= 1:
        try:
            shown = make_url(url).render_as_string(hide_password=True)
        except (ArgumentError, ValueError, TypeError):
            shown = None
    return _mask_query(shown if shown is not None else _mask_userinfo(url))


def redact_text(text: str) -> str:
    """Free text (an error message) with every URL in it redacted and ``password=`` masked."""
    masked = _URL_IN_TEXT.sub(_redact_match, text)
    return _PAIR_CREDENTIAL.sub(lambda m: m.group(1) + MASK, masked)


def describe_webhook(url: str) -> str:
    """A webhook as ``scheme://host[:port]/… (#digest)``: never the path or query (the token)."""
    digest = hashlib.sha256(url.encode()).hexdigest()[:8]
    scheme, sep, rest = url.strip().partition("://")
    if not sep:
        return f"(not a URL) (#{digest})"
    authority = re.split(r"[/?#]", rest, maxsplit=1)[0].rpartition("@")[2]
    return f"{scheme}://{authority or '?'}/… (#{digest})"


def expand_env(text: str, *, what: str = "the URL", strict: bool = True, charter: str = "") -> str:
    """``text`` with each ``${NAME}`` replaced by that environment variable (at use, never stored).

    ``strict``: an unset variable is a :class:`MissingEnvironmentError`; otherwise it stays as
    written. A ``${CHARTER_SECRET_…}`` left in ``text`` is a literal secret of ``charter``'s file
    that the file no longer holds (:mod:`charter.spec.secrets`): its error says what to do.
    """

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in os.environ:
            return os.environ[name]
        if strict:
            if SECRET_REFERENCE_NAME.fullmatch(
                name
            ):  # a literal of the charter file, not an env var
                raise missing_secret_error(match.group(0), what=what, charter=charter)
            raise MissingEnvironmentError(
                f"{what} needs the environment variable {name}, which is not set"
            )
        return match.group(0)

    return ENV_REFERENCE.sub(value, text)


def env_references(text: str) -> list[str]:
    """The environment variables ``text`` refers to with ``${NAME}``."""
    return ENV_REFERENCE.findall(text)


def _redact_match(match: re.Match[str]) -> str:
    found = match.group()
    url = found.rstrip(".,:;)]}")
    return redact_url(url) + found[len(url) :]


def _mask_userinfo(url: str) -> str:
    head, sep, tail = url.partition("//")
    if sep:
        userinfo, at, host = tail.rpartition("@")
        return f"{head}//{MASK}@{host}" if at and userinfo else url
    before, at, after = url.rpartition("@")
    if not at or not before:
        return url
    scheme = _SCHEME.match(before)
    prefix = scheme.group() if scheme else ""
    return f"{prefix}{MASK}@{after}"


def _mask_query(url: str) -> str:
    return QUERY_CREDENTIAL.sub(lambda m: m.group(1) + MASK, url)
