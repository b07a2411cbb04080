"""The audit ledger's tables (:mod:`charter.audit`): ``audit_entries`` and ``audit_checkpoints``,
read by the ledger itself and by the domain modules that look facts up in it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from charter.store.tables import AuditCheckpoint, AuditEntry


def charter_entries_newest_first(
    session: Session, charter: str, actions: Sequence[str]
) -> Sequence[Any]:
    """(seq, action, payload, recorded_at, actor) of the charter's entries of ``actions``,
    newest first."""
    return session.execute(
        sa.select(
            AuditEntry.seq,
            AuditEntry.action,
            AuditEntry.payload,
            AuditEntry.recorded_at,
            AuditEntry.actor,
        )
        .where(AuditEntry.charter == charter, AuditEntry.action.in_(list(actions)))
        .order_by(AuditEntry.seq.desc())
    ).all()


def payloads_of(session: Session, charter: str, action: str) -> Sequence[str]:
    """The payloads (JSON text) of the charter's entries of ``action``, in the database's order."""
    return session.scalars(
        sa.select(AuditEntry.payload).where(
            AuditEntry.charter == charter, AuditEntry.action == action
        )
    ).all()


def charter_entries_before(
    session: Session, charter: str, actions: Sequence[str], before: int | None
) -> Sequence[AuditEntry]:
    """The charter's entries of ``actions`` with a ``seq`` below ``before`` (None: all), newest
    first."""
    query = sa.select(AuditEntry).where(
        AuditEntry.charter == charter, AuditEntry.action.in_(actions)
    )
    if before is not None:
        query = query.where(AuditEntry.seq < before)
    return session.scalars(query.order_by(AuditEntry.seq.desc())).all()


def entries_containing(
    session: Session, charter: str, action: str, text: str
) -> Sequence[AuditEntry]:
    """The charter's entries of ``action`` whose payload contains ``text`` (a pre-filter; the
    caller reads the payload to be sure), oldest first."""
    return session.scalars(
        sa.select(AuditEntry)
        .where(AuditEntry.charter == charter, AuditEntry.action == action)
        .where(AuditEntry.payload.contains(text, autoescape=True))
        .order_by(AuditEntry.seq)
    ).all()


def payloads_of_action(session: Session, action: str) -> Sequence[str]:
    """The payloads (JSON text) of every entry of ``action``, in the database's order."""
    return session.scalars(sa.select(AuditEntry.payload).where(AuditEntry.action == action)).all()


def first_recorded_at(session: Session) -> str | None:
    """When the ledger's first entry was recorded (ISO 8601; None: the ledger is empty)."""
    return session.scalar(sa.select(AuditEntry.recorded_at).order_by(AuditEntry.seq).limit(1))


# -- the chain (charter.audit.ledger) ---------------------------------------------------------
ENTRY_COLUMNS = ("seq", "recorded_at", "actor", "action", "charter", "payload", "prev_hash", "hash")
CHECKPOINT_COLUMNS = ("seq", "head_hash", "key_id", "signed_at", "signature")


def head(session: Session) -> tuple[int, str] | None:
    """(seq, hash) of the newest entry; None for an empty ledger."""
    row = session.execute(
        sa.select(AuditEntry.seq, AuditEntry.hash).order_by(AuditEntry.seq.desc()).limit(1)
    ).first()
    return (row.seq, row.hash) if row else None


def insert_entries(session: Session, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert entries (dicts of :data:`ENTRY_COLUMNS`) in one executemany through Core: the ORM
    unit of work would cost more than the hashing."""
    session.execute(sa.insert(AuditEntry), [dict(r) for r in rows])


def last_signature(session: Session) -> str | None:
    """The signature of the newest checkpoint; None when there is none."""
    return session.execute(
        sa.select(AuditCheckpoint.signature).order_by(AuditCheckpoint.seq.desc()).limit(1)
    ).scalar()


def insert_checkpoint(
    session: Session, *, seq: int, head_hash: str, key_id: str, signed_at: str, signature: str
) -> None:
    """Flush the caller's pending ORM changes, then insert the checkpoint."""
    session.flush()
    session.execute(
        sa.insert(AuditCheckpoint).values(
            seq=seq, head_hash=head_hash, key_id=key_id, signed_at=signed_at, signature=signature
        )
    )


def entry_rows(session: Session, after: int, limit: int) -> Sequence[Any]:
    """Up to ``limit`` entries after seq ``after`` in seq order, as plain rows of
    :data:`ENTRY_COLUMNS` (no ORM objects)."""
    columns = [getattr(AuditEntry, c) for c in ENTRY_COLUMNS]
    return session.execute(
        sa.select(*columns).where(AuditEntry.seq > after).order_by(AuditEntry.seq).limit(limit)
    ).all()


def checkpoint_rows(session: Session) -> Sequence[Any]:
    """Every checkpoint in seq order, as plain rows of :data:`CHECKPOINT_COLUMNS`."""
    columns = [getattr(AuditCheckpoint, c) for c in CHECKPOINT_COLUMNS]
    return session.execute(sa.select(*columns).order_by(AuditCheckpoint.seq)).all()


def entries(
    session: Session, *, charter: str | None, since_seq: int, limit: int | None
) -> list[AuditEntry]:
    """Entries after ``since_seq`` (of ``charter``, or all) in seq order, at most ``limit``."""
    query = sa.select(AuditEntry).where(AuditEntry.seq > since_seq).order_by(AuditEntry.seq)
    if charter is not None:
        query = query.where(AuditEntry.charter == charter)
    if limit is not None:
        query = query.limit(limit)
    return list(session.scalars(query))


# -- excerpts and keys (charter.audit.excerpt, charter.audit.keys) ----------------------------
def checkpoint_at(session: Session, signed_by: str | None) -> AuditCheckpoint | None:
    """The last checkpoint signed at or before ``signed_by`` (ISO text; None: the latest)."""
    query = sa.select(AuditCheckpoint).order_by(AuditCheckpoint.seq.desc()).limit(1)
    if signed_by is not None:
        # signed_at is ISO text in UTC with a fixed width, so text order is time order.
        query = query.where(AuditCheckpoint.signed_at <= signed_by)
    return session.scalars(query).first()


def entries_through(session: Session, seq: int) -> Sequence[AuditEntry]:
    """Entries 1..``seq`` in seq order."""
    return session.scalars(
        sa.select(AuditEntry).where(AuditEntry.seq <= seq).order_by(AuditEntry.seq)
    ).all()


def checkpoints_through(session: Session, seq: int) -> Sequence[AuditCheckpoint]:
    """The checkpoints up to ``seq`` in seq order."""
    return session.scalars(
        sa.select(AuditCheckpoint).where(AuditCheckpoint.seq <= seq).order_by(AuditCheckpoint.seq)
    ).all()


def seq_payloads_of_action(session: Session, action: str) -> list[tuple[int, str]]:
    """(seq, payload) of every entry of ``action``, in the database's order."""
    rows = session.execute(
        sa.select(AuditEntry.seq, AuditEntry.payload).where(AuditEntry.action == action)
    ).all()
    return [(int(r.seq), str(r.payload)) for r in rows]


def checkpoint_count(session: Session) -> int:
    return int(session.scalar(sa.select(sa.func.count()).select_from(AuditCheckpoint)) or 0)


def checkpoints_by_key(session: Session) -> list[tuple[str, int, int, int]]:
    """(key_id, checkpoints, first seq, last seq) of every key that signed a checkpoint."""
    rows = session.execute(
        sa.select(
            AuditCheckpoint.key_id,
            sa.func.count(),
            sa.func.min(AuditCheckpoint.seq),
            sa.func.max(AuditCheckpoint.seq),
        ).group_by(AuditCheckpoint.key_id)
    ).all()
    return [(str(k), int(n), int(first), int(last)) for k, n, first, last in rows]


# -- state bindings (charter.audit.state) -----------------------------------------------------
def charter_entries_of(session: Session, charter: str, action: str) -> Sequence[AuditEntry]:
    """The charter's entries of ``action``, in the database's order."""
    return session.scalars(
        sa.select(AuditEntry).where(AuditEntry.charter == charter, AuditEntry.action == action)
    ).all()


def charters_entries(
    session: Session, charters: Sequence[str], actions: Sequence[str], containing: str | None
) -> Sequence[AuditEntry]:
    """Entries of ``actions`` of every charter of ``charters`` (whose payload contains
    ``containing``, when given), in seq order."""
    query = sa.select(AuditEntry).where(
        AuditEntry.charter.in_(list(charters)), AuditEntry.action.in_(list(actions))
    )
    if containing is not None:
        query = query.where(AuditEntry.payload.contains(containing, autoescape=True))
    return session.execute(query.order_by(AuditEntry.seq)).scalars().all()


def seq_payloads_containing(
    session: Session, actions: Sequence[str], containing: str
) -> Sequence[tuple[int, str]]:
    """(seq, payload) of every entry of ``actions`` whose payload contains ``containing``, in
    seq order."""
    rows = session.execute(
        sa.select(AuditEntry.seq, AuditEntry.payload)
        .where(AuditEntry.action.in_(list(actions)))
        .where(AuditEntry.payload.contains(containing, autoescape=True))
        .order_by(AuditEntry.seq)
    ).all()
    return [(int(seq), str(payload)) for seq, payload in rows]


def every_row(session: Session, table: type[Any]) -> list[Any]:
    """Every row of the mapped ``table``."""
    return list(session.scalars(sa.select(table)))


# -- a charter's trail (charter.audit.trail) --------------------------------------------------
def trail(
    session: Session,
    charter: str,
    *,
    action: str | None,
    actor: str | None,
    since: str | None,
    before: str | None,
    offset: int,
    limit: int,
) -> tuple[int, Sequence[AuditEntry], list[str], list[str]]:
    """A charter's entries of ``action`` by ``actor`` recorded from ``since`` to before
    ``before`` (ISO text; each optional), newest first: (how many in all, the ``limit`` after
    ``offset``, every action of the charter, every actor of the charter)."""
    where = [AuditEntry.charter == charter]
    if action:
        where.append(AuditEntry.action == action)
    if actor:
        where.append(AuditEntry.actor == actor)
    if since is not None:
        where.append(AuditEntry.recorded_at >= since)
    if before is not None:
        where.append(AuditEntry.recorded_at < before)
    total = int(
        session.scalar(sa.select(sa.func.count()).select_from(AuditEntry).where(*where)) or 0
    )
    rows = session.scalars(
        sa.select(AuditEntry)
        .where(*where)
        .order_by(AuditEntry.seq.desc())
        .offset(offset)
        .limit(limit)
    ).all()
    ours = AuditEntry.charter == charter
    actions = session.scalars(
        sa.select(AuditEntry.action).where(ours).distinct().order_by(AuditEntry.action)
    ).all()
    actors = session.scalars(
        sa.select(AuditEntry.actor).where(ours).distinct().order_by(AuditEntry.actor)
    ).all()
    return total, rows, list(actions), list(actors)
