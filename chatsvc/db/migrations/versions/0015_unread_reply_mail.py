"""an agent's messages a resident left unread: one mail, with a one-time link back to the chat

Revision ID: 0015
Revises: 0014
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "unread_reply_watches",
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("away_noticed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("mailed_through_seq", sa.Integer(), nullable=False),
        sa.Column("mailed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("returned", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_unread_reply_watches_conversation_id_conversations"),
        ),
        sa.PrimaryKeyConstraint("conversation_id", name=op.f("pk_unread_reply_watches")),
    )
    op.create_table(
        "resume_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_resume_links_conversation_id_conversations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_resume_links")),
        sa.UniqueConstraint("code_hash", name=op.f("uq_resume_links_code_hash")),
    )
    with op.batch_alter_table("resume_links") as batch_op:
        batch_op.create_index(batch_op.f("ix_resume_links_conversation_id"), ["conversation_id"])


def downgrade() -> None:
    with op.batch_alter_table("resume_links") as batch_op:
        batch_op.drop_index(batch_op.f("ix_resume_links_conversation_id"))
    op.drop_table("resume_links")
    op.drop_table("unread_reply_watches")
