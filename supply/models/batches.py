"""Batches (lots): a quantity of one item with one production and expiry date."""

from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import Numeric, UniqueConstraint
from sqlmodel import Field, SQLModel


class Batch(SQLModel, table=True):
    """A lot of an item. `lot` is unique per item; expiry is None for durable goods."""

    __tablename__ = "batch"
    __table_args__ = (UniqueConstraint("item_id", "lot", name="uq_batch_item_id_lot"),)

    id: int | None = Field(default=None, primary_key=True)
    item_id: int = Field(foreign_key="item.id", index=True)
    lot: str = Field(max_length=64)
    produced_on: date | None = None
    expires_on: date | None = Field(default=None, index=True)
    supplier: str | None = Field(default=None, max_length=200)
    unit_cost: Decimal | None = Field(default=None, sa_type=Numeric(14, 4))


def rotation_date(expires_on: date | None, rotation_lead_days: int) -> date | None:
    """The day a batch must be rotated out: its expiry less the item's lead time."""
    if expires_on is None:
        return None
    return expires_on - timedelta(days=rotation_lead_days)


def is_expired(expires_on: date | None, today: date) -> bool:
    """A batch is usable through its expiry date and expired from the day after."""
    return expires_on is not None and expires_on < today
