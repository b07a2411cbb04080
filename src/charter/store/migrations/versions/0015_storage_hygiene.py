"""storage hygiene: CHECK constraints on statuses, went_live_at, artifact keys relative to the store

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02 17:30:00.000000

- Every status-like column gets a CHECK constraint naming its allowed values. Rows holding any
  other value stop the upgrade before anything changes, with the table, column, values and counts.
- ``model_versions.went_live_at``: when the version first went live, backfilled from the audit
  ledger's ``version.status_changed`` entries (``lifecycle.was_live`` used to search their text).
- ``model_versions.artifact_uri``: an artifact kept in the workspace's own store is recorded by its
  key relative to the store (``sha256/ab/abcd…/name``), so a copied or moved workspace uses its own
  copy. An absolute URI is converted when it lies in the store Charter was opened with, or in a
  workspace's default store (``…/.charter/artifacts/``); any other absolute URI is kept.

The allowed values are written out here rather than imported: a migration describes the schema
as it was at this revision, whatever the code says later.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import context, op

from charter.store.migrate import MigrationRefusedError

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

VERSION_STATUSES = ("registered", "shadow", "live", "standby", "retired", "rolled_back")
CHECKED: dict[tuple[str, str], tuple[str, ...]] = {
    ("model_versions", "status"): VERSION_STATUSES,
    ("scoring_failures", "status"): VERSION_STATUSES,
    ("alerts", "status"): ("open", "acked", "resolved"),
    ("alerts", "severity"): ("info", "warning", "critical"),
    ("decisions", "status"): ("open", "approved", "rejected", "withdrawn"),
    ("charter_changes", "status"): (
        "pending",
        "accepted",
        "rejected",
        "applied",
        "superseded",
        "withdrawn",
    ),
    ("charter_changes", "requires"): ("owner", "owner_or_delegate", "none"),
    ("ingest_files", "status"): ("ingested", "failed"),
    ("api_tokens", "role"): ("viewer", "operator", "owner"),
}
DEFAULT_STORE = "/.charter/artifacts/"


def _condition(column: str, allowed: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in allowed)})"


def _refuse_violations(conn: sa.Connection) -> None:
    found = []
    for (table, column), allowed in CHECKED.items():
        rows = conn.execute(
            sa.text(
                f"SELECT {column}, COUNT(*) FROM {table} WHERE NOT ({_condition(column, allowed)})"
                f" OR {column} IS NULL GROUP BY {column}"
            )
        ).all()
        for value, count in rows:
            found.append(f"{table}.{column} = {value!r} in {count} row(s)")
    if found:
        raise MigrationRefusedError(
            "cannot upgrade the database to revision 0015: rows hold values the new CHECK "
            "constraints refuse: " + "; ".join(found) + ". Nothing was changed. Correct or delete "
            "those rows (they were written outside charter), then run charter again."
        )


def _went_live(conn: sa.Connection) -> dict[tuple[str, int], datetime]:
    """The first time the ledger shows each version going live."""
    first: dict[tuple[str, int], datetime] = {}
    entries = conn.execute(
        sa.text(
            "SELECT charter, recorded_at, payload FROM audit_entries"
            " WHERE action = 'version.status_changed' ORDER BY seq"
        )
    )
    for charter, recorded_at, payload in entries:
        try:
            data = json.loads(payload)
            if data.get("to") != "live":
                continue
            moment = datetime.fromisoformat(str(recorded_at).replace("Z", "+00:00"))
            key = (str(charter), int(data["version"]))
        except (ValueError, KeyError, TypeError):
            continue
        moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
        first.setdefault(key, moment)
    return first


def _store_prefixes() -> list[str]:
    """The artifact store Charter was opened with, as a path and as a file URI."""
    store = context.config.attributes.get("artifacts")
    if not store:
        return []
    root = str(store).rstrip("/") + "/"
    if root.startswith("file://"):
        return [root, root.removeprefix("file://")]
    return [root, f"file://{root}"] if root.startswith("/") else [root]


def artifact_key(uri: str, sha256: str, prefixes: list[str]) -> str | None:
    """The key of ``uri`` relative to its store, or None to keep the absolute URI."""
    marker = f"sha256/{sha256[:2]}/{sha256}/"
    at = uri.find(marker)
    if at <= 0:
        return None
    prefix, key = uri[:at], uri[at:]
    local = prefix.startswith(("/", "file://"))
    if prefix in prefixes or (local and prefix.endswith(DEFAULT_STORE)):
        return key
    return None


def _backfill(conn: sa.Connection) -> None:
    went_live = _went_live(conn)
    prefixes = _store_prefixes()
    rows = conn.execute(
        sa.text(
            "SELECT id, charter, version, status, status_changed_at, artifact_uri, sha256"
            " FROM model_versions"
        )
    ).all()
    for row in rows:
        values: dict[str, Any] = {}
        moment = went_live.get((row.charter, int(row.version)))
        if moment is None and row.status in ("live", "standby"):  # older than its ledger entry
            moment = _as_utc(row.status_changed_at)
        if moment is not None:
            values["went_live_at"] = moment
        key = artifact_key(row.artifact_uri, row.sha256, prefixes)
        if key is not None:
            values["artifact_uri"] = key
        if values:
            table = sa.table(
                "model_versions",
                sa.column("id"),
                sa.column("went_live_at", sa.DateTime(timezone=True)),
                sa.column("artifact_uri"),
            )
            if conn.dialect.name == "sqlite" and "went_live_at" in values:
                values["went_live_at"] = values["went_live_at"].replace(tzinfo=None)
            conn.execute(table.update().where(table.c.id == row.id).values(**values))


def _as_utc(value: Any) -> datetime:
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _add_checks(conn: sa.Connection) -> None:
    tables: dict[str, list[str]] = {}
    for table, column in CHECKED:
        tables.setdefault(table, []).append(column)
    sqlite = conn.dialect.name == "sqlite"
    for table, columns in tables.items():
        saved = _detach_alert_deliveries(conn) if sqlite and table == "alerts" else None
        with op.batch_alter_table(table) as batch:
            if table == "model_versions":
                batch.add_column(sa.Column("went_live_at", sa.DateTime(timezone=True)))
            for column in columns:
                batch.create_check_constraint(
                    f"ck_{table}_{column}", _condition(column, CHECKED[(table, column)])
                )
        if saved is not None:
            _reattach_alert_deliveries(conn, saved)


def _detach_alert_deliveries(conn: sa.Connection) -> list[tuple[int, int]]:
    """SQLite rebuilds ``alerts`` by dropping it, which the deliveries' foreign key refuses while
    they point at it (and PRAGMA foreign_keys cannot change inside the transaction): unlink them
    for the rebuild and link them again after."""
    pairs = [
        (int(i), int(a))
        for i, a in conn.execute(
            sa.text("SELECT id, alert_id FROM alert_deliveries WHERE alert_id IS NOT NULL")
        )
    ]
    conn.execute(sa.text("UPDATE alert_deliveries SET alert_id = NULL"))
    return pairs


def _reattach_alert_deliveries(conn: sa.Connection, pairs: list[tuple[int, int]]) -> None:
    for delivery, alert in pairs:
        conn.execute(
            sa.text("UPDATE alert_deliveries SET alert_id = :a WHERE id = :i"),
            {"a": alert, "i": delivery},
        )


def upgrade() -> None:
    conn = op.get_bind()
    _refuse_violations(conn)
    _add_checks(conn)
    _backfill(conn)


def downgrade() -> None:
    conn = op.get_bind()
    for table, column in reversed(list(CHECKED)):
        saved = (
            _detach_alert_deliveries(conn)
            if conn.dialect.name == "sqlite" and table == "alerts" and column == "status"
            else None
        )
        with op.batch_alter_table(table) as batch:
            batch.drop_constraint(f"ck_{table}_{column}", type_="check")
            if table == "model_versions":
                batch.drop_column("went_live_at")
        if saved is not None:
            _reattach_alert_deliveries(conn, saved)
