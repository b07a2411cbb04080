"""Fixtures for the HTTP API: an app over the scaffold charter, models and tokens of each role.

The scaffold charter ``credit-default`` keys records on ``id``, takes ``event_at`` as event time,
and checks ``amount >= 0`` (not null) and ``channel in [web, branch, phone]``. Models are
entrypoints ``def score(frame): <body>`` registered with a status.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

from charter.registry.versions import register_version, set_status
from charter.server.app import create_app
from charter.tokens import create_token
from charter.workspace import Workspace

NAME = "credit-default"
OWNER = "dana.ruiz@bank.example"


def record(i: int, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": f"r{i}",
        "event_at": f"2026-03-01T08:{i % 60:02d}:00+00:00",
        "amount": float(i),
        "channel": ("web", "branch", "phone")[i % 3],
    }
    body.update(changes)
    return body


@dataclass
class Api:
    ws: Workspace
    client: TestClient
    tokens: dict[str, str]

    def headers(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    def post(self, path: str, who: str = "operator", **kwargs: Any) -> Any:
        return self.client.post(path, headers=self.headers(who), **kwargs)

    def get(self, path: str, who: str = "viewer", **kwargs: Any) -> Any:
        return self.client.get(path, headers=self.headers(who), **kwargs)

    def drain(self) -> None:
        """Wait for the off-path shadow scoring of what was answered so far."""
        self.client.app.state.online.drain()  # type: ignore[attr-defined]

    def register(self, body: str, status: str | None) -> int:
        """Register ``def score(frame): <body>`` as the next version with ``status``."""
        module = f"model_{uuid.uuid4().hex[:10]}"  # unique: sys.modules outlives a test
        (self.ws.root / f"{module}.py").write_text(f"def score(frame):\n    {body}\n")
        info = register_version(self.ws, NAME, f"{module}:score")
        if status is not None:
            with self.ws.db.session() as session:
                set_status(self.ws, session, NAME, info.version, status, reason="test")
        return info.version

    def ledger(self, action: str) -> list[dict[str, Any]]:
        import json

        import sqlalchemy as sa

        from charter.store.tables import AuditEntry

        with self.ws.db.read() as session:
            rows = session.scalars(
                sa.select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq)
            ).all()
        return [{"actor": r.actor, **json.loads(r.payload)} for r in rows]


@pytest.fixture
def api(ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> Iterator[Api]:
    monkeypatch.syspath_prepend(str(ws.root))
    tokens = {
        "viewer": create_token(ws, "viewer@bank.example", "viewer")[0],
        "operator": create_token(ws, "ops@bank.example", "operator")[0],
        "owner": create_token(ws, OWNER, "owner")[0],
        "stranger": create_token(ws, "mallory@bank.example", "owner")[0],
    }
    with TestClient(create_app(ws), raise_server_exceptions=False) as client:
        yield Api(ws, client, tokens)
