"""Mutual aid (跨区域调拨/借用): a jurisdiction borrows stock from a neighbour.

A loan is asked for by the borrower (items and quantities, for a disaster, by a date), and
the lender approves it (fully or partly) or refuses it with a reason. Approval moves the
lender's lots to the borrower's depot through the ledger; they stay the lender's
(`AidLoanLot` records which lots went and what became of them) until the borrower returns
them or settles them at the lot's unit cost (`AidSettlement`). Which moves are allowed is
decided in `supply.services.aid`; these tables only hold the facts.
"""

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import BigInteger, CheckConstraint, Numeric, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from supply.db import UTCDateTime


class LoanStatus(StrEnum):
    REQUESTED = "requested"  # 待审批
    APPROVED = "approved"  # 已批准: the goods went; some may still be out
    REFUSED = "refused"  # 已拒绝
    CLOSED = "closed"  # 已结清: everything lent was returned or settled


_STATUSES = ", ".join(f"'{s.value}'" for s in LoanStatus)


class AidLoan(SQLModel, table=True):
    """One request of `borrower` to `lender`, and what the lender decided."""

    __tablename__ = "aid_loan"
    __table_args__ = (
        CheckConstraint(f"status IN ({_STATUSES})", name="status_known"),
        CheckConstraint("borrower_id <> lender_id", name="two_parties"),
    )

    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(max_length=32, unique=True)
    status: str = Field(sa_type=String(16), index=True)
    borrower_id: int = Field(foreign_key="jurisdiction.id", index=True)
    lender_id: int = Field(foreign_key="jurisdiction.id", index=True)
    #: The borrower's depot the goods go to.
    destination_id: int = Field(foreign_key="location.id")
    #: The lender's depot they leave from (chosen when approving).
    source_id: int | None = Field(default=None, foreign_key="location.id")
    disaster: str = Field(max_length=200)
    needed_by: date
    note: str | None = Field(default=None, max_length=2000)
    requested_by: str = Field(max_length=100)
    requested_at: datetime = Field(sa_type=UTCDateTime)
    decided_by: str | None = Field(default=None, max_length=100)
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    refusal_reason: str | None = Field(default=None, max_length=500)
    #: The ledger document that moved the goods (kind `aid_loan`).
    document_id: int | None = Field(default=None, foreign_key="document.id")


class AidLoanLine(SQLModel, table=True):
    """An item asked for, and how much of it the lender approved."""

    __tablename__ = "aid_loan_line"
    __table_args__ = (
        UniqueConstraint("loan_id", "item_id", name="uq_aid_loan_line_loan_id_item_id"),
        CheckConstraint("requested_qty > 0", name="requested_positive"),
        CheckConstraint(
            "approved_qty IS NULL OR (approved_qty >= 0 AND approved_qty <= requested_qty)",
            name="approved_within_requested",
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    loan_id: int = Field(foreign_key="aid_loan.id", index=True)
    item_id: int = Field(foreign_key="item.id")
    requested_qty: int = Field(sa_type=BigInteger)
    approved_qty: int | None = Field(default=None, sa_type=BigInteger)


class AidLoanLot(SQLModel, table=True):
    """A lender's lot that went out under a loan: how much, and how much has since been
    returned or settled (the rest is still out, and still the lender's)."""

    __tablename__ = "aid_loan_lot"
    __table_args__ = (
        UniqueConstraint("loan_id", "batch_id", name="uq_aid_loan_lot_loan_id_batch_id"),
        CheckConstraint("lent_qty > 0", name="lent_positive"),
        CheckConstraint(
            "returned_qty >= 0 AND settled_qty >= 0 AND returned_qty + settled_qty <= lent_qty",
            name="back_within_lent",
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    loan_id: int = Field(foreign_key="aid_loan.id", index=True)
    item_id: int = Field(foreign_key="item.id")
    batch_id: int = Field(foreign_key="batch.id")
    lent_qty: int = Field(sa_type=BigInteger)
    returned_qty: int = Field(default=0, sa_type=BigInteger)
    settled_qty: int = Field(default=0, sa_type=BigInteger)


class AidSettlement(SQLModel, table=True):
    """Lent units the borrower kept and pays for at the lot's unit cost: they became a lot
    of the borrower's (`new_batch_id`) by the ledger document `document_id`."""

    __tablename__ = "aid_settlement"
    __table_args__ = (
        CheckConstraint("qty > 0", name="qty_positive"),
        CheckConstraint("amount >= 0", name="amount_nonneg"),
    )

    id: int | None = Field(default=None, primary_key=True)
    loan_id: int = Field(foreign_key="aid_loan.id", index=True)
    document_id: int = Field(foreign_key="document.id")
    batch_id: int = Field(foreign_key="batch.id")
    new_batch_id: int = Field(foreign_key="batch.id")
    qty: int = Field(sa_type=BigInteger)
    unit_cost: Decimal = Field(sa_type=Numeric(14, 4))
    amount: Decimal = Field(sa_type=Numeric(14, 2))
    actor: str = Field(max_length=100)
    settled_at: datetime = Field(sa_type=UTCDateTime)
