"""starter canned responses: what was loaded once from the knowledge base; a canned response
loaded from it has no staff author

Revision ID: 0010
Revises: 0009
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "knowledge_base_loads",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("loaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_knowledge_base_loads")),
    )
    with op.batch_alter_table("canned_responses", schema=None) as batch_op:
        batch_op.alter_column("updated_by", existing_type=sa.Integer(), nullable=True)
    # An installation whose supervisors already keep canned responses does not get the starter
    # set on top of theirs.
    op.execute(
        "INSERT INTO knowledge_base_loads (name, loaded_at) "
        "SELECT 'starter_canned', updated_at FROM canned_responses ORDER BY updated_at LIMIT 1"
    )


def downgrade() -> None:
    op.execute("DELETE FROM canned_responses WHERE updated_by IS NULL")
    with op.batch_alter_table("canned_responses", schema=None) as batch_op:
        batch_op.alter_column("updated_by", existing_type=sa.Integer(), nullable=False)
    op.drop_table("knowledge_base_loads")
