"""after hours: messages left for the center, and the mail outbox

Revision ID: 0005
Revises: 0004
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "after_hours_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=16), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=True),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reply_due", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("spam_score", sa.Float(), nullable=False),
        sa.Column("spam_reasons", sa.JSON(), nullable=True),
        sa.Column("sender_key", sa.String(length=64), nullable=False),
        sa.Column("owner_staff_id", sa.Integer(), nullable=True),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reply_body", sa.Text(), nullable=True),
        sa.Column("replied_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("replied_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_after_hours_messages_conversation_id_conversations"),
        ),
        sa.ForeignKeyConstraint(
            ["owner_staff_id"],
            ["staff.id"],
            name=op.f("fk_after_hours_messages_owner_staff_id_staff"),
        ),
        sa.ForeignKeyConstraint(
            ["replied_by"], ["staff.id"], name=op.f("fk_after_hours_messages_replied_by_staff")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_after_hours_messages")),
        sa.UniqueConstraint("reference", name=op.f("uq_after_hours_messages_reference")),
        sa.UniqueConstraint("client_id", name=op.f("uq_after_hours_messages_client_id")),
    )
    with op.batch_alter_table("after_hours_messages") as batch_op:
        batch_op.create_index(batch_op.f("ix_after_hours_messages_email"), ["email"])
        batch_op.create_index(batch_op.f("ix_after_hours_messages_sender_key"), ["sender_key"])
        batch_op.create_index("ix_after_hours_messages_inbox", ["status", "reply_due"])
    op.create_table(
        "outbox_mail",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("to_address", sa.String(length=254), nullable=False),
        sa.Column("reply_to", sa.String(length=254), nullable=True),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_mail")),
        sa.UniqueConstraint("message_id", name=op.f("uq_outbox_mail_message_id")),
    )
    with op.batch_alter_table("outbox_mail") as batch_op:
        batch_op.create_index("ix_outbox_mail_due", ["sent_at", "next_attempt_at"])


def downgrade() -> None:
    op.drop_table("outbox_mail")
    op.drop_table("after_hours_messages")
