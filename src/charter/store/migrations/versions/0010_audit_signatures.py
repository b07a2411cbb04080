"""audit signatures: room for ed25519 signatures (128 hex digits) in audit checkpoints

Revision ID: 0010
Revises: 0006
Create Date: 2026-12-02 03:20:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("audit_checkpoints", schema=None) as batch_op:
        batch_op.alter_column(
            "signature", existing_type=sa.String(length=64), type_=sa.String(length=128)
        )


def downgrade() -> None:
    with op.batch_alter_table("audit_checkpoints", schema=None) as batch_op:
        batch_op.alter_column(
            "signature", existing_type=sa.String(length=128), type_=sa.String(length=64)
        )
