"""residents' live connections: whether the resident of a chat is online, away or gone

Revision ID: 0012
Revises: 0011
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "resident_connections",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("server_id", sa.String(length=32), nullable=False),
        sa.Column("sid", sa.String(length=64), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("visible", sa.Boolean(), nullable=False),
        sa.Column("connected_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_resident_connections_conversation_id_conversations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_resident_connections")),
        sa.UniqueConstraint("server_id", "sid", name="uq_resident_connections_server_sid"),
    )
    with op.batch_alter_table("resident_connections") as batch_op:
        batch_op.create_index(
            batch_op.f("ix_resident_connections_conversation_id"), ["conversation_id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("resident_connections") as batch_op:
        batch_op.drop_index(batch_op.f("ix_resident_connections_conversation_id"))
    op.drop_table("resident_connections")
