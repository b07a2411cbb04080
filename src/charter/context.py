"""Who acts, under which settings, at what time: the request-scoped part of every use case.

A :class:`Context` travels with a :class:`~charter.workspace.Workspace` (``ws.context``). The
workspace a process opens acts as the process's own identity (``CHARTER_ACTOR``, else
``$USER@host``); :meth:`Workspace.acting_as` gives a view of the same store acting as someone
else, which is how the HTTP server records each request under the identity of its token.

``actor`` is the identity as claimed (``None``: nobody is named). It is checked where it is used:
:attr:`Context.who` is the bounded, printable identity a service records (and refuses an invalid
or missing one); :attr:`Context.who_for_record` is what a *refusal* records, so that even a call
refused because of who asked is recorded. ``clock`` is what services stamp times with; a test can
pass a fixed one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from charter.errors import InvalidIdentityError
from charter.identity import check_actor, label
from charter.settings import Settings


def utc_now() -> datetime:
    """The wall clock, timezone-aware UTC: the default :attr:`Context.clock`."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class Context:
    """Who acts (``actor``), the typed settings in force, and the clock a service stamps with."""

    actor: str | None
    settings: Settings = field(default_factory=Settings)
    clock: Callable[[], datetime] = utc_now
    #: Which credential proved ``actor`` (an API token or an identity provider's JWT, as
    #: :meth:`charter.tokens.TokenInfo.credential` describes it); None when the actor is declared.
    credential: Mapping[str, Any] | None = None

    @property
    def who(self) -> str:
        """The acting identity, bounded and printable; refused when invalid or missing."""
        if self.actor is None:
            raise InvalidIdentityError(
                "no one is named as the actor of this call",
                hint="Set CHARTER_ACTOR, or act through an authenticated identity.",
            )
        return check_actor(self.actor, what="the actor (CHARTER_ACTOR)")

    @property
    def who_for_record(self) -> str:
        """:attr:`who`, or a bounded rendering of it when it is invalid: a refusal is always
        recorded, even one refused because of who asked."""
        try:
            return self.who
        except InvalidIdentityError:
            return f"invalid actor {label(self.actor or '')}"

    def proof(self) -> dict[str, Any]:
        """``{"credential": ...}`` for a ledger entry when a credential proved the actor, else
        nothing (an actor declared with ``--as`` proves nothing)."""
        return {"credential": dict(self.credential)} if self.credential is not None else {}

    def acting_as(self, actor: str | None, credential: Mapping[str, Any] | None = None) -> Context:
        """This context with another actor (same settings, same clock), proven by
        ``credential`` when given."""
        return Context(actor=actor, settings=self.settings, clock=self.clock, credential=credential)
