"""the assistant: message format, quick replies and decisions; conversation stage

Revision ID: 0002
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("messages") as batch_op:
        batch_op.add_column(
            sa.Column("format", sa.String(length=16), nullable=False, server_default="text")
        )
        batch_op.add_column(sa.Column("quick_replies", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("decision", sa.JSON(), nullable=True))
    with op.batch_alter_table("conversations") as batch_op:
        batch_op.add_column(
            sa.Column("stage", sa.String(length=16), nullable=False, server_default="assistant")
        )
        batch_op.add_column(sa.Column("topic", sa.String(length=64), nullable=True))
        batch_op.add_column(
            sa.Column("assistant_misses", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(sa.Column("handoff_reason", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("handoff_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("conversations") as batch_op:
        for column in ("handoff_at", "handoff_reason", "assistant_misses", "topic", "stage"):
            batch_op.drop_column(column)
    with op.batch_alter_table("messages") as batch_op:
        for column in ("decision", "quick_replies", "format"):
            batch_op.drop_column(column)
