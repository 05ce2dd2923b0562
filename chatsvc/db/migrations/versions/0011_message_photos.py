"""messages.photo_id: the photo a resident's message shows in the chat

Revision ID: 0011
Revises: 0010
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # No foreign key: a photo no request took is deleted after CHATSVC_UNFILED_PHOTO_HOURS and
    # its message stays (the chat then says the photo is no longer available).
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("photo_id", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_column("photo_id")
