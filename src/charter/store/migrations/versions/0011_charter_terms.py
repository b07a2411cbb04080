"""charter terms: the accepted text of each charter and the changes its file asked for

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 02:30:00.000000

Existing charters start with the text the store last recorded as their terms in force.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "charter_terms",
        sa.Column("charter", sa.String(length=200), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("accepted_by", sa.String(length=320), nullable=False),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("change_id", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("charter"),
    )
    op.create_table(
        "charter_changes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("charter", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("from_sha256", sa.String(length=64), nullable=False),
        sa.Column("to_sha256", sa.String(length=64), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("diff", sa.JSON(), nullable=False),
        sa.Column("governed", sa.JSON(), nullable=False),
        sa.Column("requires", sa.String(length=20), nullable=False),
        sa.Column("detected_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("detected_by", sa.String(length=320), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.String(length=320), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("charter_changes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_charter_changes_charter"), ["charter"], unique=False)
        batch_op.create_index(batch_op.f("ix_charter_changes_status"), ["status"], unique=False)
    op.execute(
        "INSERT INTO charter_terms (charter, sha256, content, accepted_by, accepted_at) "
        "SELECT name, sha256, content, 'recorded before change control', updated_at FROM charters"
    )


def downgrade() -> None:
    with op.batch_alter_table("charter_changes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_charter_changes_status"))
        batch_op.drop_index(batch_op.f("ix_charter_changes_charter"))
    op.drop_table("charter_changes")
    op.drop_table("charter_terms")
