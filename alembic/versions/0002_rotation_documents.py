"""Rotation documents: the `rotation` kind and a disposal `reason` on documents.

Revision ID: 0002_rotation
Revises: 0001_ledger
Create Date: 2026-11-22 21:22:29.342268
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0002_rotation"
down_revision: str | None = "0001_ledger"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KINDS_BEFORE = (
    "receipt", "issue", "transfer", "transfer_dispatch", "transfer_arrival", "stocktake",
    "reversal", "write_off", "reservation_issue",
)
KINDS_AFTER = (*KINDS_BEFORE, "rotation")


def _kinds(kinds: tuple[str, ...]) -> str:
    return "kind IN (" + ", ".join(f"'{k}'" for k in kinds) + ")"


def upgrade() -> None:
    with op.batch_alter_table("document", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True)
        )
        batch_op.drop_constraint(op.f("ck_document_kind_known"), type_="check")
        batch_op.create_check_constraint(op.f("ck_document_kind_known"), _kinds(KINDS_AFTER))


def downgrade() -> None:
    with op.batch_alter_table("document", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_document_kind_known"), type_="check")
        batch_op.create_check_constraint(op.f("ck_document_kind_known"), _kinds(KINDS_BEFORE))
        batch_op.drop_column("reason")
