"""label quarantine: invalid labels kept with their reasons, counted per delivery

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 02:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("label_batches", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("quarantined", sa.BigInteger(), server_default="0", nullable=False)
        )
        batch_op.add_column(sa.Column("invalid_by_reason", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("quarantine_path", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("quarantine_sha256", sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f("ix_label_batches_source"), ["charter", "source"])


def downgrade() -> None:
    with op.batch_alter_table("label_batches", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_label_batches_source"))
        batch_op.drop_column("quarantine_sha256")
        batch_op.drop_column("quarantine_path")
        batch_op.drop_column("invalid_by_reason")
        batch_op.drop_column("quarantined")
