"""daily caps per client address: the hash of the address a chat was started from, and of the
chat a wrong status lookup came from

Revision ID: 0009
Revises: 0008
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Chats and misses from before have no key: they count for no address.
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sender_key", sa.String(length=64), nullable=True))
        batch_op.create_index(
            "ix_conversations_sender_key_created_at", ["sender_key", "created_at"], unique=False
        )
    with op.batch_alter_table("status_lookup_misses", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sender_key", sa.String(length=64), nullable=True))
        batch_op.create_index(
            "ix_status_lookup_misses_sender_key_at", ["sender_key", "at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("status_lookup_misses", schema=None) as batch_op:
        batch_op.drop_index("ix_status_lookup_misses_sender_key_at")
        batch_op.drop_column("sender_key")
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.drop_index("ix_conversations_sender_key_created_at")
        batch_op.drop_column("sender_key")
