"""Materialised stock balances and reservations against them."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, CheckConstraint, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from supply.db import UTCDateTime


class Balance(SQLModel, table=True):
    """Stock of one batch at one location, kept equal to the sum of its movements.

    `guarded` is copied from the location's kind so that the database itself can refuse a
    physical location going below zero or below what is reserved.
    """

    __tablename__ = "balance"
    __table_args__ = (
        UniqueConstraint("location_id", "item_id", "batch_id", name="uq_balance_key"),
        CheckConstraint("reserved >= 0", name="reserved_nonneg"),
        CheckConstraint("NOT guarded OR on_hand >= reserved", name="guarded_covers_reserved"),
    )

    id: int | None = Field(default=None, primary_key=True)
    location_id: int = Field(foreign_key="location.id")
    item_id: int = Field(foreign_key="item.id", index=True)
    #: Indexed so that the few balances of expired lots are found without a scan.
    batch_id: int = Field(foreign_key="batch.id", index=True)
    on_hand: int = Field(default=0, sa_type=BigInteger)
    reserved: int = Field(default=0, sa_type=BigInteger)
    guarded: bool = True
    version: int = 0


class DepotItemTotal(SQLModel, table=True):
    """Stock of one item at one physical location (all its lots), kept by the ledger in the
    same transaction as the balances, so a province's per-item figures sum a thousand rows
    an item instead of every lot's balance. `lots` counts the lots with stock on hand.
    `supply.verify` rebuilds it from the balances."""

    __tablename__ = "depot_item_total"
    # Revision 0007 makes it WITHOUT ROWID on SQLite (a depot's rows stored together); not
    # said here, as a dialect option loads the dialect (and asyncio) on every start-up.

    location_id: int = Field(foreign_key="location.id", primary_key=True)
    item_id: int = Field(foreign_key="item.id", primary_key=True, index=True)
    on_hand: int = Field(default=0, sa_type=BigInteger)
    reserved: int = Field(default=0, sa_type=BigInteger)
    lots: int = 0


class ReservationStatus(StrEnum):
    ACTIVE = "active"
    RELEASED = "released"
    CONSUMED = "consumed"


_RES_STATUSES = ", ".join(f"'{s.value}'" for s in ReservationStatus)


class Reservation(SQLModel, table=True):
    """Stock held for a plan. `qty` is what is still held; `consumed_qty` what left under it."""

    __tablename__ = "reservation"
    __table_args__ = (
        CheckConstraint("qty >= 0", name="qty_nonneg"),
        CheckConstraint("consumed_qty >= 0", name="consumed_nonneg"),
        CheckConstraint(f"status IN ({_RES_STATUSES})", name="status_known"),
    )

    id: int | None = Field(default=None, primary_key=True)
    location_id: int = Field(foreign_key="location.id")
    item_id: int = Field(foreign_key="item.id")
    batch_id: int = Field(foreign_key="batch.id")
    qty: int = Field(sa_type=BigInteger)
    consumed_qty: int = Field(default=0, sa_type=BigInteger)
    status: str = Field(sa_type=String(16))
    plan_ref: str | None = Field(default=None, max_length=100, index=True)
    note: str | None = Field(default=None, max_length=2000)
    created_at: datetime = Field(sa_type=UTCDateTime)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
