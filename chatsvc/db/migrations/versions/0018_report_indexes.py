"""report indexes: each report reads one period of its table by the moment that places a row in it

Revision ID: 0018
Revises: 0017
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (index, table, columns); requests opened in a period already have ix_service_requests_requested.
INDEXES = (
    # The chat report's chats: those started in the period.
    ("ix_conversations_created_at", "conversations", ["created_at"]),
    # The request report's resolved: those closed in the period, whenever opened.
    ("ix_service_requests_closed_at", "service_requests", ["closed_at"]),
    # The after-hours report: the messages left in the period.
    ("ix_after_hours_messages_received_at", "after_hours_messages", ["received_at"]),
)


def upgrade() -> None:
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns)


def downgrade() -> None:
    for name, table, _ in reversed(INDEXES):
        op.drop_index(name, table_name=table)
