"""LoanBook v2: disbursement window, borrower identity, live schedule level and interest start

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 07:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import backend.db.types

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("loan", schema=None) as batch_op:
        batch_op.add_column(sa.Column("identity_hash", sqlmodel.sql.sqltypes.AutoString(), nullable=True))
        batch_op.add_column(
            sa.Column("disburse_seconds", sa.BigInteger(), nullable=False, server_default="0")
        )
        batch_op.add_column(
            sa.Column("level", backend.db.types.Uint256(length=78), nullable=False, server_default="0")
        )
        batch_op.add_column(sa.Column("interest_from", sa.BigInteger(), nullable=False, server_default="0"))
        batch_op.create_index(batch_op.f("ix_loan_identity_hash"), ["identity_hash"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("loan", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_loan_identity_hash"))
        batch_op.drop_column("interest_from")
        batch_op.drop_column("level")
        batch_op.drop_column("disburse_seconds")
        batch_op.drop_column("identity_hash")
