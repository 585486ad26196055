"""loan.lender_count counts distinct lenders; loan.note_count counts notes

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("loan") as batch:
        batch.add_column(sa.Column("note_count", sa.Integer(), nullable=False, server_default="0"))
    # Recomputed from the notes already indexed: lender_count used to count notes.
    op.execute(
        "UPDATE loan SET note_count = (SELECT count(*) FROM note WHERE note.loan_id = loan.id), "
        "lender_count = (SELECT count(DISTINCT note.lender) FROM note WHERE note.loan_id = loan.id)"
    )
    with op.batch_alter_table("loan") as batch:
        batch.alter_column("note_count", server_default=None)


def downgrade() -> None:
    op.execute("UPDATE loan SET lender_count = note_count")
    with op.batch_alter_table("loan") as batch:
        batch.drop_column("note_count")
