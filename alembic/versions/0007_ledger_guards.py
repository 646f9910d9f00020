"""Ledger guards: quantities as BIGINT, the depot tree as a closure table, per-depot item
totals kept by the ledger.

Quantities: a line may carry up to 10^12 units and a balance 10^15 (`supply.limits`), beyond
PostgreSQL's int4. SQLite's INTEGER is already 64-bit; its tables are rebuilt (batch mode)
only so that the declared types match the models.

`location_tree` and `depot_item_total` are filled from the existing depots and balances, so
an upgraded ledger verifies clean at once. `item_category` is the catalogue's list of
categories: the defaults, and every category existing items already use.

Revision ID: 0007_ledger_guards
Revises: 0005_load_arrival
Create Date: 2026-12-01 15:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_ledger_guards"
down_revision: str | None = "0006_fleet"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: The default categories (as `supply.models.catalogue.DEFAULT_CATEGORIES` at this revision).
CATEGORIES = [
    ("food_water", "食品饮用水", "Food and drinking water"),
    ("shelter", "帐篷篷布", "Tents and shelter"),
    ("bedding", "被服", "Bedding"),
    ("clothing", "衣物", "Clothing"),
    ("medical", "医疗卫生", "Medical"),
    ("hygiene", "清洁卫生", "Hygiene"),
    ("lighting", "照明", "Lighting"),
    ("power", "电力", "Power"),
    ("rescue", "救援器材", "Rescue equipment"),
    ("tools", "工具", "Tools"),
    ("communication", "通信", "Communication"),
]

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
    op.create_table(
        "location_tree",
        sa.Column("ancestor_id", sa.Integer(), nullable=False),
        sa.Column("descendant_id", sa.Integer(), nullable=False),
        sa.Column("depth", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["ancestor_id"], ["location.id"], name=op.f("fk_location_tree_ancestor_id_location")
        ),
        sa.ForeignKeyConstraint(
            ["descendant_id"],
            ["location.id"],
            name=op.f("fk_location_tree_descendant_id_location"),
        ),
        sa.PrimaryKeyConstraint("ancestor_id", "descendant_id", name=op.f("pk_location_tree")),
        sqlite_with_rowid=False,
    )
    with op.batch_alter_table("location_tree", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_location_tree_descendant_id"), ["descendant_id"], unique=False
        )
    op.create_table(
        "depot_item_total",
        sa.Column("location_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("on_hand", sa.BigInteger(), nullable=False),
        sa.Column("reserved", sa.BigInteger(), nullable=False),
        sa.Column("lots", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"], ["item.id"], name=op.f("fk_depot_item_total_item_id_item")
        ),
        sa.ForeignKeyConstraint(
            ["location_id"], ["location.id"], name=op.f("fk_depot_item_total_location_id_location")
        ),
        sa.PrimaryKeyConstraint("location_id", "item_id", name=op.f("pk_depot_item_total")),
        sqlite_with_rowid=False,
    )
    with op.batch_alter_table("depot_item_total", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_depot_item_total_item_id"), ["item_id"], unique=False
        )
    with op.batch_alter_table("balance", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_balance_batch_id"), ["batch_id"], unique=False)
    category = op.create_table(
        "item_category",
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name_zh", sa.String(length=200), nullable=False),
        sa.Column("name_en", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_item_category")),
    )
    op.bulk_insert(
        category, [{"code": c, "name_zh": zh, "name_en": en} for c, zh, en in CATEGORIES]
    )
    op.execute(
        "INSERT INTO item_category (code, name_zh, name_en) "
        "SELECT DISTINCT category, category, category FROM item "
        "WHERE category NOT IN (SELECT code FROM item_category)"
    )
    op.execute(
        """
        WITH RECURSIVE tree(ancestor_id, descendant_id, depth) AS (
            SELECT id, id, 0 FROM location WHERE kind = 'depot'
            UNION ALL
            SELECT location.parent_id, tree.descendant_id, tree.depth + 1
            FROM tree JOIN location ON location.id = tree.ancestor_id
            WHERE location.parent_id IS NOT NULL
        )
        INSERT INTO location_tree (ancestor_id, descendant_id, depth)
        SELECT ancestor_id, descendant_id, depth FROM tree
        """
    )
    op.execute(
        """
        INSERT INTO depot_item_total (location_id, item_id, on_hand, reserved, lots)
        SELECT location_id, item_id, SUM(on_hand), SUM(reserved),
               SUM(CASE WHEN on_hand <> 0 THEN 1 ELSE 0 END)
        FROM balance WHERE guarded
        GROUP BY location_id, item_id
        """
    )


def downgrade() -> None:
    op.drop_table("item_category")
    with op.batch_alter_table("balance", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_balance_batch_id"))
    op.drop_table("depot_item_total")
    op.drop_table("location_tree")
    _alter(sa.Integer(), sa.BigInteger())
