"""the language of left messages and requests: their mails are written in it; canned
responses' translations (the pane offers the one in the chat's language)

Revision ID: 0021
Revises: 0020
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Every message and request before this one was in English.
    for table in ("after_hours_messages", "service_requests"):
        op.add_column(
            table,
            sa.Column("language", sa.String(length=8), nullable=False, server_default="en"),
        )

    # {"es": {"title": ..., "text": ...}}: the same response in other languages.
    op.add_column("canned_responses", sa.Column("translations", sa.JSON(), nullable=True))


def downgrade() -> None:
    op.drop_column("canned_responses", "translations")
    for table in ("after_hours_messages", "service_requests"):
        op.drop_column(table, "language")
