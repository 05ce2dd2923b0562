"""mail suppression: addresses that asked for no more mail, the unsubscribe link's token;
status lookup misses

Revision ID: 0008
Revises: 0007
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "mail_suppressions",
        sa.Column("address", sa.String(length=254), nullable=False),
        sa.Column("suppressed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("address", name=op.f("pk_mail_suppressions")),
    )
    op.create_table(
        "status_lookup_misses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=16), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_status_lookup_misses")),
    )
    with op.batch_alter_table("status_lookup_misses", schema=None) as batch_op:
        batch_op.create_index("ix_status_lookup_misses_number_at", ["number", "at"], unique=False)
    with op.batch_alter_table("outbox_mail", schema=None) as batch_op:
        batch_op.add_column(sa.Column("unsubscribe_token", sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(
            batch_op.f("uq_outbox_mail_unsubscribe_token"), ["unsubscribe_token"]
        )
        batch_op.create_index("ix_outbox_mail_created_at", ["created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("outbox_mail", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_mail_created_at")
        batch_op.drop_constraint(batch_op.f("uq_outbox_mail_unsubscribe_token"), type_="unique")
        batch_op.drop_column("unsubscribe_token")
    op.drop_table("mail_suppressions")
    with op.batch_alter_table("status_lookup_misses", schema=None) as batch_op:
        batch_op.drop_index("ix_status_lookup_misses_number_at")
    op.drop_table("status_lookup_misses")
