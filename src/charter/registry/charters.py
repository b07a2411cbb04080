"""Recording charters in the store: the first sight of a charter, and every change to its file."""

from __future__ import annotations

from datetime import UTC, datetime

from charter.spec.loader import LoadedCharter
from charter.store import Session
from charter.store import charters as store
from charter.store.tables import CharterRecord
from charter.workspace import Workspace


def record_charter(ws: Workspace, session: Session, loaded: LoadedCharter) -> bool:
    """Store the charter's current text; append ``charter.created``/``charter.changed`` if new.

    The text stored is ``loaded.text``: literal secrets concealed (:mod:`charter.spec.secrets`).

    Returns True when something was recorded. Call it inside the transaction of any operation
    that acts under a charter, so every recorded action points at the charter text in force.
    """
    charter = loaded.charter
    record = store.get(session, charter.name)
    now = datetime.now(UTC)
    if record is not None and record.sha256 == loaded.sha256:
        return False
    payload = {"sha256": loaded.sha256, "owner": charter.owner.email, "file": loaded.source}
    if record is None:
        store.add(
            session,
            CharterRecord(
                name=charter.name,
                sha256=loaded.sha256,
                content=loaded.text,
                owner_email=charter.owner.email,
                created_at=now,
                updated_at=now,
            ),
        )
        ws.ledger.append(
            session, "charter.created", payload, actor=ws.context.who, charter=charter.name
        )
    else:
        payload["previous_sha256"] = record.sha256
        if record.owner_email != charter.owner.email:
            payload["previous_owner"] = record.owner_email
        record.sha256, record.content = loaded.sha256, loaded.text
        record.owner_email, record.updated_at = charter.owner.email, now
        ws.ledger.append(
            session, "charter.changed", payload, actor=ws.context.who, charter=charter.name
        )
    return True
