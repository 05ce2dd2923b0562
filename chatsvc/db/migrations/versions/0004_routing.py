"""agents at work: presence, connections, the queue and assignments, notes, canned responses

Revision ID: 0004
Revises: 0003
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("staff") as batch_op:
        batch_op.add_column(
            sa.Column("status", sa.String(length=16), nullable=False, server_default="offline")
        )
        batch_op.add_column(sa.Column("idle_since", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("grace_until", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("conversations") as batch_op:
        batch_op.add_column(sa.Column("priority", sa.Integer(), nullable=False, server_default="2"))
        batch_op.add_column(sa.Column("queued_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("workgroup", sa.String(length=100), nullable=True))
        batch_op.add_column(
            sa.Column("workgroup_only", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(sa.Column("assigned_staff_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("agent_name", sa.String(length=100), nullable=True))
        batch_op.add_column(
            sa.Column("first_agent_reply_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("disposition", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("ended_by", sa.String(length=16), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_conversations_assigned_staff_id_staff"),
            "staff",
            ["assigned_staff_id"],
            ["id"],
        )
        batch_op.create_index(
            batch_op.f("ix_conversations_assigned_staff_id"), ["assigned_staff_id"]
        )
        batch_op.create_index("ix_conversations_queue", ["stage", "priority", "queued_at"])
    op.create_table(
        "agent_connections",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("server_id", sa.String(length=32), nullable=False),
        sa.Column("sid", sa.String(length=64), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("connected_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["staff_id"], ["staff.id"], name=op.f("fk_agent_connections_staff_id_staff")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agent_connections")),
        sa.UniqueConstraint("server_id", "sid", name="uq_agent_connections_server_sid"),
    )
    with op.batch_alter_table("agent_connections") as batch_op:
        batch_op.create_index(batch_op.f("ix_agent_connections_staff_id"), ["staff_id"])
    op.create_table(
        "conversation_notes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_conversation_notes_conversation_id_conversations"),
        ),
        sa.ForeignKeyConstraint(
            ["staff_id"], ["staff.id"], name=op.f("fk_conversation_notes_staff_id_staff")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conversation_notes")),
    )
    with op.batch_alter_table("conversation_notes") as batch_op:
        batch_op.create_index(
            batch_op.f("ix_conversation_notes_conversation_id"), ["conversation_id"]
        )
    op.create_table(
        "canned_responses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("shortcut", sa.String(length=32), nullable=False),
        sa.Column("title", sa.String(length=100), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("updated_by", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["updated_by"], ["staff.id"], name=op.f("fk_canned_responses_updated_by_staff")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_canned_responses")),
        sa.UniqueConstraint("shortcut", name=op.f("uq_canned_responses_shortcut")),
    )


def downgrade() -> None:
    op.drop_table("canned_responses")
    op.drop_table("conversation_notes")
    op.drop_table("agent_connections")
    with op.batch_alter_table("conversations") as batch_op:
        batch_op.drop_index("ix_conversations_queue")
        batch_op.drop_index(batch_op.f("ix_conversations_assigned_staff_id"))
        batch_op.drop_constraint(
            batch_op.f("fk_conversations_assigned_staff_id_staff"), type_="foreignkey"
        )
        for column in (
            "ended_by",
            "disposition",
            "first_agent_reply_at",
            "agent_name",
            "assigned_at",
            "assigned_staff_id",
            "workgroup_only",
            "workgroup",
            "queued_at",
            "priority",
        ):
            batch_op.drop_column(column)
    with op.batch_alter_table("staff") as batch_op:
        for column in ("grace_until", "idle_since", "status"):
            batch_op.drop_column(column)
