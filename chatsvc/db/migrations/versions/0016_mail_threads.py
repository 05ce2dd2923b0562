"""mail threads: outgoing mail names the thread a reply goes to; replies received are kept

Revision ID: 0016
Revises: 0015
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outbox_mail") as batch_op:
        batch_op.add_column(sa.Column("thread_kind", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("thread_id", sa.Integer(), nullable=True))
        batch_op.create_index("ix_outbox_mail_thread", ["thread_kind", "thread_id"])
    op.create_table(
        "inbound_mail",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.String(length=200), nullable=False),
        sa.Column("from_address", sa.String(length=254), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("thread_kind", sa.String(length=16), nullable=False),
        sa.Column("thread_id", sa.Integer(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbound_mail")),
        sa.UniqueConstraint("message_id", name=op.f("uq_inbound_mail_message_id")),
    )
    op.create_index("ix_inbound_mail_thread", "inbound_mail", ["thread_kind", "thread_id"])


def downgrade() -> None:
    op.drop_index("ix_inbound_mail_thread", table_name="inbound_mail")
    op.drop_table("inbound_mail")
    with op.batch_alter_table("outbox_mail") as batch_op:
        batch_op.drop_index("ix_outbox_mail_thread")
        batch_op.drop_column("thread_id")
        batch_op.drop_column("thread_kind")
