"""Batches (lots): a quantity of one item with one production and expiry date."""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import CheckConstraint, Numeric, String, UniqueConstraint
from sqlmodel import Field, SQLModel


class Funding(StrEnum):
    """Who paid for a lot (资金来源)."""

    FISCAL = "fiscal"  # 财政资金
    DONATION = "donation"  # 社会捐赠
    AGREEMENT = "agreement"  # 协议储备 delivered under a contract
    OTHER = "other"


_FUNDING = ", ".join(f"'{f.value}'" for f in Funding)


class Batch(SQLModel, table=True):
    """A lot of an item. `lot` is unique per item; expiry is None for durable goods.

    Its owner is a jurisdiction (`owner_id`) or a donor (`donor`), never both; only the
    owner's people release it, wherever it lies (`supply.services.jurisdictions`). A lot
    with neither was received before owners were recorded, or by a bulk import: the
    people of the depot holding it release it, as before.
    """

    __tablename__ = "batch"
    __table_args__ = (
        UniqueConstraint("item_id", "lot", name="uq_batch_item_id_lot"),
        CheckConstraint(f"funding IN ({_FUNDING})", name="funding_known"),
        CheckConstraint("owner_id IS NULL OR donor IS NULL", name="one_owner"),
    )

    id: int | None = Field(default=None, primary_key=True)
    item_id: int = Field(foreign_key="item.id", index=True)
    lot: str = Field(max_length=64)
    produced_on: date | None = None
    expires_on: date | None = Field(default=None, index=True)
    supplier: str | None = Field(default=None, max_length=200)
    unit_cost: Decimal | None = Field(default=None, sa_type=Numeric(14, 4))
    owner_id: int | None = Field(default=None, foreign_key="jurisdiction.id", index=True)
    donor: str | None = Field(default=None, max_length=200)
    funding: str = Field(
        default=Funding.FISCAL.value,
        sa_type=String(16),
        sa_column_kwargs={"server_default": Funding.FISCAL.value},
    )


@dataclass(frozen=True, slots=True)
class Ownership:
    """Whose a new lot is: a jurisdiction's (by id), a donor's, or, with neither, no one
    recorded (the depot's people release it); and who paid for it."""

    owner_id: int | None = None
    donor: str | None = None
    funding: Funding = Funding.FISCAL


def rotation_date(expires_on: date | None, rotation_lead_days: int) -> date | None:
    """The day a batch must be rotated out: its expiry less the item's lead time."""
    if expires_on is None:
        return None
    return expires_on - timedelta(days=rotation_lead_days)


def is_expired(expires_on: date | None, today: date) -> bool:
    """A batch is usable through its expiry date and expired from the day after."""
    return expires_on is not None and expires_on < today
