"""The acting identity is the context's: a view acts as someone else on the same store."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from charter.context import Context
from charter.errors import InvalidIdentityError
from charter.store.tables import AuditEntry
from charter.tokens import create_token, revoke_token
from charter.workspace import Workspace

FIXED = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)


def _actors(ws: Workspace, action: str) -> list[str]:
    with ws.db.read() as session:
        query = sa.select(AuditEntry.actor).where(AuditEntry.action == action)
        return list(session.scalars(query.order_by(AuditEntry.seq)))


def test_a_view_acts_as_another_identity_on_the_same_ledger(ws: Workspace) -> None:
    alice = ws.acting_as("alice@bank.example")

    create_token(alice, "svc@bank.example", "viewer")
    create_token(ws, "svc2@bank.example", "viewer")

    assert alice.db is ws.db and alice.ledger is ws.ledger
    assert ws.context.who == "tester@example.com"  # the process's own identity is untouched
    assert _actors(ws, "token.created") == ["alice@bank.example", "tester@example.com"]


def test_an_invalid_identity_is_refused_before_anything_is_done(ws: Workspace) -> None:
    with pytest.raises(InvalidIdentityError):
        ws.acting_as("mallory\u200b@bank.example")
    nobody = ws.with_context(Context(actor=None, settings=ws.settings))
    with pytest.raises(InvalidIdentityError):
        create_token(nobody, "svc@bank.example", "viewer")
    assert nobody.context.who_for_record == "invalid actor ''"


def test_a_service_stamps_times_with_the_contexts_clock(ws: Workspace) -> None:
    fixed = ws.with_context(Context("ops@bank.example", ws.settings, clock=lambda: FIXED))

    _, info = create_token(fixed, "svc@bank.example", "viewer")
    revoked = revoke_token(fixed, info.id)

    assert info.created_at == FIXED and revoked.revoked_at == FIXED
