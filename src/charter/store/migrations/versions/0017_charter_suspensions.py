"""charter_suspensions: human stops of a charter (charter suspend / resume)

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03 14:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "charter_suspensions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("charter", sa.String(length=200), nullable=False),
        sa.Column("suspended_by", sa.String(length=320), nullable=False),
        sa.Column("suspended_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("resumed_by", sa.String(length=320), nullable=True),
        sa.Column("resumed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resume_note", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("charter_suspensions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_charter_suspensions_charter"), ["charter"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("charter_suspensions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_charter_suspensions_charter"))
    op.drop_table("charter_suspensions")
