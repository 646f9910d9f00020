"""Owners of lots, neighbouring jurisdictions, and mutual aid (跨区域调拨/借用).

`batch` gains an owner (a jurisdiction or a donor) and a funding source; existing lots are
given the jurisdiction of the depot that first received them (none if it had none, as
before: the people of the depot holding such a lot release it) and `fiscal` funding.
`jurisdiction` gains `shares_with_neighbours`; `jurisdiction_neighbour` holds the
symmetric neighbour relation once per pair. Loans, their lines and lots, and settlements
are new tables; `document.kind` admits the three aid documents.

Revision ID: 0010_ownership_aid
Revises: 0009_plan_jobs
Create Date: 2026-12-01 20:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import supply.db


revision: str = "0010_ownership_aid"
down_revision: str | None = "0009_plan_jobs"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KINDS_BEFORE = (
    "receipt", "issue", "transfer", "transfer_dispatch", "transfer_arrival", "stocktake",
    "reversal", "write_off", "reservation_issue", "rotation",
)
KINDS_AFTER = (*KINDS_BEFORE, "aid_loan", "aid_return", "aid_settlement")


def _kinds(kinds: tuple[str, ...]) -> str:
    return "kind IN (" + ", ".join(f"'{k}'" for k in kinds) + ")"


def upgrade() -> None:
    with op.batch_alter_table("document", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_document_kind_known"), type_="check")
        batch_op.create_check_constraint(op.f("ck_document_kind_known"), _kinds(KINDS_AFTER))

    with op.batch_alter_table("jurisdiction", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "shares_with_neighbours", sa.Boolean(), server_default=sa.false(), nullable=False
            )
        )
    op.create_table(
        "jurisdiction_neighbour",
        sa.Column("low_id", sa.Integer(), nullable=False),
        sa.Column("high_id", sa.Integer(), nullable=False),
        sa.CheckConstraint("low_id < high_id", name=op.f("ck_jurisdiction_neighbour_ordered")),
        sa.ForeignKeyConstraint(
            ["high_id"], ["jurisdiction.id"],
            name=op.f("fk_jurisdiction_neighbour_high_id_jurisdiction"),
        ),
        sa.ForeignKeyConstraint(
            ["low_id"], ["jurisdiction.id"],
            name=op.f("fk_jurisdiction_neighbour_low_id_jurisdiction"),
        ),
        sa.PrimaryKeyConstraint("low_id", "high_id", name=op.f("pk_jurisdiction_neighbour")),
    )
    with op.batch_alter_table("jurisdiction_neighbour", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_jurisdiction_neighbour_high_id"), ["high_id"], unique=False
        )

    with op.batch_alter_table("batch", schema=None) as batch_op:
        batch_op.add_column(sa.Column("owner_id", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("donor", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True)
        )
        batch_op.add_column(
            sa.Column("funding", sa.String(length=16), server_default="fiscal", nullable=False)
        )
        batch_op.create_index(batch_op.f("ix_batch_owner_id"), ["owner_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_batch_owner_id_jurisdiction"), "jurisdiction", ["owner_id"], ["id"]
        )
        batch_op.create_check_constraint(
            op.f("ck_batch_funding_known"),
            "funding IN ('fiscal', 'donation', 'agreement', 'other')",
        )
        batch_op.create_check_constraint(
            op.f("ck_batch_one_owner"), "owner_id IS NULL OR donor IS NULL"
        )
    # Each lot belongs to the jurisdiction of the depot that first received it.
    op.execute(
        "UPDATE batch SET owner_id = ("
        " SELECT location.jurisdiction_id FROM movement"
        " JOIN location ON location.id = movement.location_id"
        " WHERE movement.batch_id = batch.id AND movement.qty > 0"
        " AND location.kind = 'depot'"
        " ORDER BY movement.id LIMIT 1)"
    )

    op.create_table(
        "aid_loan",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("borrower_id", sa.Integer(), nullable=False),
        sa.Column("lender_id", sa.Integer(), nullable=False),
        sa.Column("destination_id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=True),
        sa.Column("disaster", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("needed_by", sa.Date(), nullable=False),
        sa.Column("note", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
        sa.Column("requested_by", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("requested_at", supply.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
        sa.Column("decided_at", supply.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("refusal_reason", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column("document_id", sa.Integer(), nullable=True),
        sa.CheckConstraint("borrower_id <> lender_id", name=op.f("ck_aid_loan_two_parties")),
        sa.CheckConstraint(
            "status IN ('requested', 'approved', 'refused', 'closed')",
            name=op.f("ck_aid_loan_status_known"),
        ),
        sa.ForeignKeyConstraint(
            ["borrower_id"], ["jurisdiction.id"], name=op.f("fk_aid_loan_borrower_id_jurisdiction")
        ),
        sa.ForeignKeyConstraint(
            ["destination_id"], ["location.id"], name=op.f("fk_aid_loan_destination_id_location")
        ),
        sa.ForeignKeyConstraint(
            ["document_id"], ["document.id"], name=op.f("fk_aid_loan_document_id_document")
        ),
        sa.ForeignKeyConstraint(
            ["lender_id"], ["jurisdiction.id"], name=op.f("fk_aid_loan_lender_id_jurisdiction")
        ),
        sa.ForeignKeyConstraint(
            ["source_id"], ["location.id"], name=op.f("fk_aid_loan_source_id_location")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_aid_loan")),
        sa.UniqueConstraint("number", name=op.f("uq_aid_loan_number")),
    )
    with op.batch_alter_table("aid_loan", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_aid_loan_borrower_id"), ["borrower_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_aid_loan_lender_id"), ["lender_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_aid_loan_status"), ["status"], unique=False)

    op.create_table(
        "aid_loan_line",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("loan_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("requested_qty", sa.BigInteger(), nullable=False),
        sa.Column("approved_qty", sa.BigInteger(), nullable=True),
        sa.CheckConstraint(
            "approved_qty IS NULL OR (approved_qty >= 0 AND approved_qty <= requested_qty)",
            name=op.f("ck_aid_loan_line_approved_within_requested"),
        ),
        sa.CheckConstraint(
            "requested_qty > 0", name=op.f("ck_aid_loan_line_requested_positive")
        ),
        sa.ForeignKeyConstraint(
            ["item_id"], ["item.id"], name=op.f("fk_aid_loan_line_item_id_item")
        ),
        sa.ForeignKeyConstraint(
            ["loan_id"], ["aid_loan.id"], name=op.f("fk_aid_loan_line_loan_id_aid_loan")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_aid_loan_line")),
        sa.UniqueConstraint(
            "loan_id", "item_id", name=op.f("uq_aid_loan_line_loan_id_item_id")
        ),
    )
    with op.batch_alter_table("aid_loan_line", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_aid_loan_line_loan_id"), ["loan_id"], unique=False)

    op.create_table(
        "aid_loan_lot",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("loan_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("lent_qty", sa.BigInteger(), nullable=False),
        sa.Column("returned_qty", sa.BigInteger(), nullable=False),
        sa.Column("settled_qty", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(
            "returned_qty >= 0 AND settled_qty >= 0 AND returned_qty + settled_qty <= lent_qty",
            name=op.f("ck_aid_loan_lot_back_within_lent"),
        ),
        sa.CheckConstraint("lent_qty > 0", name=op.f("ck_aid_loan_lot_lent_positive")),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["batch.id"], name=op.f("fk_aid_loan_lot_batch_id_batch")
        ),
        sa.ForeignKeyConstraint(["item_id"], ["item.id"], name=op.f("fk_aid_loan_lot_item_id_item")),
        sa.ForeignKeyConstraint(
            ["loan_id"], ["aid_loan.id"], name=op.f("fk_aid_loan_lot_loan_id_aid_loan")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_aid_loan_lot")),
        sa.UniqueConstraint("loan_id", "batch_id", name=op.f("uq_aid_loan_lot_loan_id_batch_id")),
    )
    with op.batch_alter_table("aid_loan_lot", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_aid_loan_lot_loan_id"), ["loan_id"], unique=False)

    op.create_table(
        "aid_settlement",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("loan_id", sa.Integer(), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("new_batch_id", sa.Integer(), nullable=False),
        sa.Column("qty", sa.BigInteger(), nullable=False),
        sa.Column("unit_cost", sa.Numeric(precision=14, scale=4), nullable=False),
        sa.Column("amount", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("actor", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("settled_at", supply.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("amount >= 0", name=op.f("ck_aid_settlement_amount_nonneg")),
        sa.CheckConstraint("qty > 0", name=op.f("ck_aid_settlement_qty_positive")),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["batch.id"], name=op.f("fk_aid_settlement_batch_id_batch")
        ),
        sa.ForeignKeyConstraint(
            ["document_id"], ["document.id"], name=op.f("fk_aid_settlement_document_id_document")
        ),
        sa.ForeignKeyConstraint(
            ["loan_id"], ["aid_loan.id"], name=op.f("fk_aid_settlement_loan_id_aid_loan")
        ),
        sa.ForeignKeyConstraint(
            ["new_batch_id"], ["batch.id"], name=op.f("fk_aid_settlement_new_batch_id_batch")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_aid_settlement")),
    )
    with op.batch_alter_table("aid_settlement", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_aid_settlement_loan_id"), ["loan_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("aid_settlement", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_aid_settlement_loan_id"))
    op.drop_table("aid_settlement")
    with op.batch_alter_table("aid_loan_lot", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_aid_loan_lot_loan_id"))
    op.drop_table("aid_loan_lot")
    with op.batch_alter_table("aid_loan_line", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_aid_loan_line_loan_id"))
    op.drop_table("aid_loan_line")
    with op.batch_alter_table("aid_loan", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_aid_loan_status"))
        batch_op.drop_index(batch_op.f("ix_aid_loan_lender_id"))
        batch_op.drop_index(batch_op.f("ix_aid_loan_borrower_id"))
    op.drop_table("aid_loan")

    with op.batch_alter_table("batch", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_batch_one_owner"), type_="check")
        batch_op.drop_constraint(op.f("ck_batch_funding_known"), type_="check")
        batch_op.drop_constraint(batch_op.f("fk_batch_owner_id_jurisdiction"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_batch_owner_id"))
        batch_op.drop_column("funding")
        batch_op.drop_column("donor")
        batch_op.drop_column("owner_id")

    with op.batch_alter_table("jurisdiction_neighbour", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_jurisdiction_neighbour_high_id"))
    op.drop_table("jurisdiction_neighbour")
    with op.batch_alter_table("jurisdiction", schema=None) as batch_op:
        batch_op.drop_column("shares_with_neighbours")

    # Aid documents cannot outlive their kind: the downgrade refuses while any exist.
    with op.batch_alter_table("document", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_document_kind_known"), type_="check")
        batch_op.create_check_constraint(op.f("ck_document_kind_known"), _kinds(KINDS_BEFORE))
