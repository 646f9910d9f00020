"""Documents and their movement lines: the immutable double-entry record of stock."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, CheckConstraint, Index, String
from sqlmodel import Field, SQLModel

from supply.db import UTCDateTime


class DocumentKind(StrEnum):
    RECEIPT = "receipt"
    ISSUE = "issue"
    TRANSFER = "transfer"  # both legs at once
    TRANSFER_DISPATCH = "transfer_dispatch"  # depot -> in_transit
    TRANSFER_ARRIVAL = "transfer_arrival"  # in_transit -> depot
    STOCKTAKE = "stocktake"
    REVERSAL = "reversal"
    WRITE_OFF = "write_off"
    RESERVATION_ISSUE = "reservation_issue"
    ROTATION = "rotation"  # old batch out to the rotation outlet, replacement in
    AID_LOAN = "aid_loan"  # a lender's lots to the borrower's depot, still the lender's
    AID_RETURN = "aid_return"  # lent lots back to the lender's depot
    AID_SETTLEMENT = "aid_settlement"  # lent lots bought: the lender's lot out, the borrower's in


class DisposalReason(StrEnum):
    """Why stock left the reserve other than to relief: rotation or write-off (核销)."""

    SOLD = "sold"
    DONATED = "donated"
    DRILL = "drill"  # used in an exercise
    DESTROYED = "destroyed"
    EXPIRED = "expired"
    DAMAGED = "damaged"
    LOST = "lost"


#: Short prefixes for document numbers a keeper can read aloud: RC-000042.
NUMBER_PREFIX: dict[DocumentKind, str] = {
    DocumentKind.RECEIPT: "RC",
    DocumentKind.ISSUE: "IS",
    DocumentKind.TRANSFER: "TR",
    DocumentKind.TRANSFER_DISPATCH: "TD",
    DocumentKind.TRANSFER_ARRIVAL: "TA",
    DocumentKind.STOCKTAKE: "ST",
    DocumentKind.REVERSAL: "RV",
    DocumentKind.WRITE_OFF: "WO",
    DocumentKind.RESERVATION_ISSUE: "RI",
    DocumentKind.ROTATION: "RO",
    DocumentKind.AID_LOAN: "AL",
    DocumentKind.AID_RETURN: "AR",
    DocumentKind.AID_SETTLEMENT: "AS",
}


class DocumentStatus(StrEnum):
    DRAFT = "draft"
    POSTED = "posted"
    REVERSED = "reversed"


_DOC_KINDS = ", ".join(f"'{k.value}'" for k in DocumentKind)
_DOC_STATUSES = ", ".join(f"'{s.value}'" for s in DocumentStatus)


class Document(SQLModel, table=True):
    """A receipt, issue, transfer... Posted documents never change except to be marked reversed.

    `reverses` points from a reversal at its original; `origin` from a transfer arrival at
    its dispatch; `destination` is where a dispatched transfer is headed.
    """

    __tablename__ = "document"
    __table_args__ = (
        CheckConstraint(f"kind IN ({_DOC_KINDS})", name="kind_known"),
        CheckConstraint(f"status IN ({_DOC_STATUSES})", name="status_known"),
    )

    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(max_length=32, unique=True)
    kind: str = Field(sa_type=String(32))
    status: str = Field(sa_type=String(16))
    occurred_at: datetime = Field(sa_type=UTCDateTime)
    posted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    actor: str = Field(max_length=100)
    reference: str | None = Field(default=None, max_length=100, index=True)
    note: str | None = Field(default=None, max_length=2000)
    reverses_id: int | None = Field(default=None, foreign_key="document.id", index=True)
    origin_id: int | None = Field(default=None, foreign_key="document.id", index=True)
    destination_id: int | None = Field(default=None, foreign_key="location.id")
    idempotency_key: str | None = Field(default=None, max_length=200, unique=True)
    reason: str | None = Field(default=None, max_length=32)


class Movement(SQLModel, table=True):
    """One signed line: `qty` units of a batch enter (+) or leave (-) a location."""

    __tablename__ = "movement"
    __table_args__ = (
        CheckConstraint("qty <> 0", name="qty_nonzero"),
        Index("ix_movement_location_item_batch", "location_id", "item_id", "batch_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    document_id: int = Field(foreign_key="document.id", index=True)
    location_id: int = Field(foreign_key="location.id")
    item_id: int = Field(foreign_key="item.id")
    batch_id: int = Field(foreign_key="batch.id", index=True)
    qty: int = Field(sa_type=BigInteger)


class DocumentCounter(SQLModel, table=True):
    """The last number used per prefix; bumped in the posting transaction, so no gaps."""

    __tablename__ = "document_counter"

    prefix: str = Field(primary_key=True, max_length=8)
    last: int = 0


class CountReason(StrEnum):
    """Why a counted lot differs from the ledger (盘点差异原因)."""

    DAMAGED = "damaged"
    LOST = "lost"
    FOUND = "found"
    MIS_PICKED = "mis_picked"
    OTHER = "other"


class CountLine(SQLModel, table=True):
    """One counted lot of a stocktake document, with why it differs: the count sheet as the
    keeper filled it in (the movements only hold the difference)."""

    __tablename__ = "count_line"
    __table_args__ = (
        CheckConstraint(
            "reason IS NULL OR reason IN (" + ", ".join(f"'{r.value}'" for r in CountReason) + ")",
            name="reason_known",
        ),
        CheckConstraint("counted >= 0", name="counted_nonneg"),
    )

    id: int | None = Field(default=None, primary_key=True)
    document_id: int = Field(foreign_key="document.id", index=True)
    item_id: int = Field(foreign_key="item.id")
    batch_id: int = Field(foreign_key="batch.id")
    on_hand: int
    counted: int
    reason: str | None = Field(default=None, sa_type=String(16))
    note: str | None = Field(default=None, max_length=500)
