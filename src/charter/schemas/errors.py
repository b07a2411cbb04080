"""The error every command prints with ``--json`` when it fails: ``{"error": {...}}``."""

from __future__ import annotations

from pydantic import ConfigDict, Field

from charter.schemas.base import Result


class ErrorBody(Result):
    """What went wrong: the error's class, the message and, when there is one, what to do.

    Some errors add their own keys (a charter file's ``source`` and ``problems``, a refused
    record's ``records``); those pass through.
    """

    model_config = ConfigDict(extra="allow", frozen=True)

    type: str = Field(description="The error class, e.g. CharterNotFoundError or UsageError.")
    message: str
    hint: str | None = Field(default=None, exclude_if=lambda v: v is None)


class ErrorResult(Result):
    """``{"error": {...}}``: what a failing command prints with ``--json`` (exit code 1–4)."""

    error: ErrorBody
