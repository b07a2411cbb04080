"""scoring failures: a model version that failed on rows of a batch, per version and batch

Revision ID: 0008
Revises: 0006
Create Date: 2026-12-02 02:20:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "scoring_failures",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("charter", sa.String(length=200), nullable=False),
        sa.Column("version", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("batch_id", sa.String(length=64), nullable=False),
        sa.Column("file", sa.Text(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("rows", sa.BigInteger(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(
            "charter", "version", "batch_id", name="uq_scoring_failures_charter_version_batch"
        ),
    )
    with op.batch_alter_table("scoring_failures", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_scoring_failures_charter"), ["charter"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_scoring_failures_batch_id"), ["batch_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("scoring_failures", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_scoring_failures_batch_id"))
        batch_op.drop_index(batch_op.f("ix_scoring_failures_charter"))
    op.drop_table("scoring_failures")
