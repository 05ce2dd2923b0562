"""service requests: requests, history, photos, Open311 clients, webhook outbox

Revision ID: 0006
Revises: 0005
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "open311_clients",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_open311_clients")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_open311_clients_key_hash")),
        sa.UniqueConstraint("name", name=op.f("uq_open311_clients_name")),
    )
    op.create_table(
        "outbox_webhooks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("delivery_id", sa.String(length=64), nullable=False),
        sa.Column("workgroup", sa.String(length=100), nullable=False),
        sa.Column("event", sa.String(length=32), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_webhooks")),
        sa.UniqueConstraint("delivery_id", name=op.f("uq_outbox_webhooks_delivery_id")),
    )
    with op.batch_alter_table("outbox_webhooks", schema=None) as batch_op:
        batch_op.create_index(
            "ix_outbox_webhooks_due", ["sent_at", "next_attempt_at"], unique=False
        )

    op.create_table(
        "service_request_counters",
        sa.Column("year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("last", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("year", name=op.f("pk_service_request_counters")),
    )
    op.create_table(
        "service_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=16), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=True),
        sa.Column("service_code", sa.String(length=64), nullable=False),
        sa.Column("department", sa.String(length=100), nullable=False),
        sa.Column("workgroup", sa.String(length=100), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("referred_to", sa.String(length=100), nullable=True),
        sa.Column("next_steps", sa.Text(), nullable=True),
        sa.Column("address", sa.String(length=200), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("long", sa.Float(), nullable=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("attributes", sa.JSON(), nullable=False),
        sa.Column("media_url", sa.String(length=1000), nullable=True),
        sa.Column("contact_name", sa.String(length=100), nullable=True),
        sa.Column("contact_email", sa.String(length=254), nullable=True),
        sa.Column("contact_phone", sa.String(length=40), nullable=True),
        sa.Column("conversation_id", sa.Integer(), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("created_by_staff_id", sa.Integer(), nullable=True),
        sa.Column("open311_client_id", sa.Integer(), nullable=True),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expected_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_service_requests_conversation_id_conversations"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by_staff_id"],
            ["staff.id"],
            name=op.f("fk_service_requests_created_by_staff_id_staff"),
        ),
        sa.ForeignKeyConstraint(
            ["open311_client_id"],
            ["open311_clients.id"],
            name=op.f("fk_service_requests_open311_client_id_open311_clients"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_requests")),
        sa.UniqueConstraint("client_id", name=op.f("uq_service_requests_client_id")),
        sa.UniqueConstraint("number", name=op.f("uq_service_requests_number")),
    )
    with op.batch_alter_table("service_requests", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_service_requests_contact_email"), ["contact_email"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_service_requests_conversation_id"), ["conversation_id"], unique=False
        )
        batch_op.create_index("ix_service_requests_requested", ["requested_at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_service_requests_service_code"), ["service_code"], unique=False
        )
        batch_op.create_index(
            "ix_service_requests_status_requested", ["status", "requested_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_service_requests_workgroup"), ["workgroup"], unique=False
        )

    op.create_table(
        "request_photos",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=True),
        sa.Column("request_id", sa.Integer(), nullable=True),
        sa.Column("content_type", sa.String(length=32), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_request_photos_conversation_id_conversations"),
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["service_requests.id"],
            name=op.f("fk_request_photos_request_id_service_requests"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_request_photos")),
    )
    with op.batch_alter_table("request_photos", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_request_photos_conversation_id"), ["conversation_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_request_photos_request_id"), ["request_id"], unique=False
        )

    op.create_table(
        "service_request_updates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("public", sa.Boolean(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=True),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["service_requests.id"],
            name=op.f("fk_service_request_updates_request_id_service_requests"),
        ),
        sa.ForeignKeyConstraint(
            ["staff_id"], ["staff.id"], name=op.f("fk_service_request_updates_staff_id_staff")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_request_updates")),
    )
    with op.batch_alter_table("service_request_updates", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_service_request_updates_request_id"), ["request_id"], unique=False
        )

    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("assistant_flow", sa.JSON(none_as_null=True), nullable=True))


def downgrade() -> None:

    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.drop_column("assistant_flow")

    with op.batch_alter_table("service_request_updates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_service_request_updates_request_id"))

    op.drop_table("service_request_updates")
    with op.batch_alter_table("request_photos", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_request_photos_request_id"))
        batch_op.drop_index(batch_op.f("ix_request_photos_conversation_id"))

    op.drop_table("request_photos")
    with op.batch_alter_table("service_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_service_requests_workgroup"))
        batch_op.drop_index("ix_service_requests_status_requested")
        batch_op.drop_index(batch_op.f("ix_service_requests_service_code"))
        batch_op.drop_index("ix_service_requests_requested")
        batch_op.drop_index(batch_op.f("ix_service_requests_conversation_id"))
        batch_op.drop_index(batch_op.f("ix_service_requests_contact_email"))

    op.drop_table("service_requests")
    op.drop_table("service_request_counters")
    with op.batch_alter_table("outbox_webhooks", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_webhooks_due")

    op.drop_table("outbox_webhooks")
    op.drop_table("open311_clients")
