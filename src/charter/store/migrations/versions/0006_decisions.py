"""decisions: promotion decisions and the owner's pre-authorisations

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24 20:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "promotion_authorizations",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("charter", sa.String(length=200), nullable=False),
        sa.Column("granted_by", sa.String(length=320), nullable=False),
        sa.Column("granted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("terms_sha256", sa.String(length=64), nullable=False),
        sa.Column("terms", sa.JSON(), nullable=False),
        sa.Column("charter_sha256", sa.String(length=64), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_by", sa.String(length=320), nullable=True),
        sa.Column("revoke_note", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("promotion_authorizations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_promotion_authorizations_charter"), ["charter"], unique=False
        )

    op.create_table(
        "decisions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("charter", sa.String(length=200), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("open_key", sa.String(length=240), nullable=True),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("opened_by", sa.String(length=320), nullable=False),
        sa.Column("readiness", sa.JSON(), nullable=False),
        sa.Column("waiver", sa.Text(), nullable=True),
        sa.Column("waiver_by", sa.String(length=320), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.String(length=320), nullable=True),
        sa.Column("accepted_risk", sa.Text(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("decided_readiness", sa.JSON(), nullable=True),
        sa.Column("authorization_id", sa.Integer(), nullable=True),
        sa.Column("stalled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("escalations", sa.Integer(), nullable=False),
        sa.Column("alert_ids", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["authorization_id"], ["promotion_authorizations.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("open_key"),
    )
    with op.batch_alter_table("decisions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_decisions_charter"), ["charter"], unique=False)
        batch_op.create_index(batch_op.f("ix_decisions_status"), ["status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("decisions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_decisions_status"))
        batch_op.drop_index(batch_op.f("ix_decisions_charter"))
    op.drop_table("decisions")
    with op.batch_alter_table("promotion_authorizations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_promotion_authorizations_charter"))
    op.drop_table("promotion_authorizations")
