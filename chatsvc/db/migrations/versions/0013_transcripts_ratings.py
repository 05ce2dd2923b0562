"""transcripts by email (when one was last sent) and residents' ratings of a chat with a person

Revision ID: 0013
Revises: 0012
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("conversations") as batch_op:
        batch_op.add_column(sa.Column("transcript_sent_at", sa.DateTime(timezone=True)))
        batch_op.add_column(sa.Column("transcript_sent_to", sa.String(length=254)))
    op.create_table(
        "conversation_ratings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=True),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_conversation_ratings_conversation_id_conversations"),
        ),
        sa.ForeignKeyConstraint(
            ["staff_id"], ["staff.id"], name=op.f("fk_conversation_ratings_staff_id_staff")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conversation_ratings")),
        sa.UniqueConstraint(
            "conversation_id", name=op.f("uq_conversation_ratings_conversation_id")
        ),
    )
    with op.batch_alter_table("conversation_ratings") as batch_op:
        batch_op.create_index(batch_op.f("ix_conversation_ratings_created_at"), ["created_at"])


def downgrade() -> None:
    with op.batch_alter_table("conversation_ratings") as batch_op:
        batch_op.drop_index(batch_op.f("ix_conversation_ratings_created_at"))
    op.drop_table("conversation_ratings")
    with op.batch_alter_table("conversations") as batch_op:
        batch_op.drop_column("transcript_sent_to")
        batch_op.drop_column("transcript_sent_at")
