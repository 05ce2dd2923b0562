"""the help center's "Was this helpful?" answers, one row each, counted for the reports

Revision ID: 0020
Revises: 0019
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "article_votes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("article_id", sa.String(length=100), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("helpful", sa.Boolean(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_article_votes")),
    )
    op.create_index("ix_article_votes_at", "article_votes", ["at"])


def downgrade() -> None:
    op.drop_index("ix_article_votes_at", table_name="article_votes")
    op.drop_table("article_votes")
