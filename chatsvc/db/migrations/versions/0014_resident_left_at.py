"""when a chat's resident left: waiting residents gone long enough leave the queue

Revision ID: 0014
Revises: 0013
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("conversations") as batch_op:
        batch_op.add_column(
            sa.Column("resident_left_at", sa.DateTime(timezone=True), nullable=True)
        )
    # Open chats with no connection now: their resident left at the latest when it last changed.
    op.execute(
        "UPDATE conversations SET resident_left_at = updated_at"
        " WHERE status = 'open' AND NOT EXISTS ("
        "SELECT 1 FROM resident_connections"
        " WHERE resident_connections.conversation_id = conversations.id)"
    )


def downgrade() -> None:
    with op.batch_alter_table("conversations") as batch_op:
        batch_op.drop_column("resident_left_at")
