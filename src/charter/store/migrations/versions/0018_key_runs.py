"""key_runs: the persistent index of keys logged per charter; ingest_batches.key_run

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-04 19:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "key_runs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("charter", sa.String(length=200), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("rows", sa.BigInteger(), nullable=False),
        sa.Column("min_key", sa.Text(), nullable=False),
        sa.Column("max_key", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("key_runs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_key_runs_charter"), ["charter"], unique=False)
    with op.batch_alter_table("ingest_batches", schema=None) as batch_op:
        batch_op.add_column(sa.Column("key_run", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("ingest_batches", schema=None) as batch_op:
        batch_op.drop_column("key_run")
    with op.batch_alter_table("key_runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_key_runs_charter"))
    op.drop_table("key_runs")
