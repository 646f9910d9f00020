"""Quantities as BIGINT: a line may carry up to 10^12 units and a balance 10^15
(`supply.limits`), beyond PostgreSQL's int4. SQLite's INTEGER is already 64-bit; its tables
are rebuilt (batch mode) only so that the declared types match the models.

Revision ID: 0007_bigint_quantities
Revises: 0005_load_arrival
Create Date: 2026-12-01 15:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_bigint_quantities"
down_revision: str | None = "0005_load_arrival"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = [
    ("movement", "qty", False),
    ("balance", "on_hand", False),
    ("balance", "reserved", False),
    ("reservation", "qty", False),
    ("reservation", "consumed_qty", False),
    ("dispatch_load", "qty", False),
    ("agreement", "qty", False),
    ("inspection", "verified_qty", False),
    ("call_off", "qty", False),
    ("call_off", "received_qty", True),
    ("quota", "qty", True),
]


def _alter(new: sa.types.TypeEngine[int], old: sa.types.TypeEngine[int]) -> None:
    tables: dict[str, list[tuple[str, bool]]] = {}
    for table, column, nullable in COLUMNS:
        tables.setdefault(table, []).append((column, nullable))
    for table, columns in tables.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column, nullable in columns:
                batch_op.alter_column(
                    column, type_=new, existing_type=old, existing_nullable=nullable
                )


def upgrade() -> None:
    _alter(sa.BigInteger(), sa.Integer())


def downgrade() -> None:
    _alter(sa.Integer(), sa.BigInteger())
