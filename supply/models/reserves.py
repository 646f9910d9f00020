"""Agreement reserves (协议储备): suppliers, their contracts, inspections, call-offs, settlements.

A supplier holds goods for us (a goods agreement) or keeps production capacity on call (a
capacity agreement, 产能储备: `rate_per_hour` units an hour once `lead_time_hours` have
passed). A call-off is the *expected receipt* of a disaster: it becomes stock only when the
goods arrive and are received through the ledger, and is paid for later (先征用后结算) in a
settlement. Which agreements may be called off, and how much, is decided in
`supply.services.agreements`; these tables only hold the shape of the facts.
"""

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel, ValidationInfo, field_validator, model_validator
from pydantic import Field as RowField
from sqlalchemy import BigInteger, CheckConstraint, Numeric, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from supply.db import UTCDateTime


class SupplierKind(StrEnum):
    SUPERMARKET = "supermarket"
    MANUFACTURER = "manufacturer"
    RED_CROSS = "red_cross"
    ENTERPRISE = "enterprise"
    OTHER = "other"


class AgreementKind(StrEnum):
    GOODS = "goods"  # 协议储备: the supplier keeps the committed goods in stock
    CAPACITY = "capacity"  # 产能储备: the supplier produces at a rate after a lead time


class Delivery(StrEnum):
    """Where the supplier delivers: into the agreement's depot, or straight to shelters in
    its area (the goods are still booked through that depot)."""

    DEPOT = "depot"
    SHELTERS = "shelters"


class AgreementStatus(StrEnum):
    """What the bureau has decided; expiry and exhaustion are derived, never stored."""

    ACTIVE = "active"
    SUSPENDED = "suspended"
    TERMINATED = "terminated"


class CallOffStatus(StrEnum):
    EXPECTED = "expected"
    RECEIVED = "received"
    CANCELLED = "cancelled"


def _in(column: str, enum: type[StrEnum]) -> str:
    return f"{column} IN (" + ", ".join(f"'{e.value}'" for e in enum) + ")"


Money = Decimal


class Supplier(SQLModel, table=True):
    """A supermarket, manufacturer, Red Cross branch or enterprise we hold agreements with."""

    __tablename__ = "supplier"
    __table_args__ = (CheckConstraint(_in("kind", SupplierKind), name="kind_known"),)

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=64, unique=True)
    name: str = Field(max_length=200)
    kind: str = Field(sa_type=String(16))
    contact: str | None = Field(default=None, max_length=200)
    lat: float | None = None
    lon: float | None = None


class Agreement(SQLModel, table=True):
    """A contract under which a supplier delivers up to `qty` units of one item.

    `depot_id` is the depot whose reserve the agreement belongs to (for quotas and
    readiness) and where a call-off is received unless another depot is named. Money is
    in yuan: `unit_price` and `compensation_per_unit` are owed per unit received under a
    call-off; `annual_fee` is the retainer for holding the reserve.
    """

    __tablename__ = "agreement"
    __table_args__ = (
        CheckConstraint(_in("kind", AgreementKind), name="kind_known"),
        CheckConstraint(_in("delivery", Delivery), name="delivery_known"),
        CheckConstraint(_in("status", AgreementStatus), name="status_known"),
        CheckConstraint("qty > 0", name="qty_positive"),
        CheckConstraint("lead_time_hours >= 0", name="lead_nonneg"),
        CheckConstraint("valid_to >= valid_from", name="valid_range"),
        CheckConstraint("rate_per_hour IS NULL OR rate_per_hour > 0", name="rate_positive"),
        CheckConstraint(
            "kind <> 'capacity' OR rate_per_hour IS NOT NULL", name="capacity_has_rate"
        ),
        CheckConstraint("unit_price >= 0", name="price_nonneg"),
        CheckConstraint("annual_fee >= 0", name="fee_nonneg"),
        CheckConstraint("compensation_per_unit >= 0", name="compensation_nonneg"),
        CheckConstraint("inspection_interval_days > 0", name="interval_positive"),
    )

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=64, unique=True)
    supplier_id: int = Field(foreign_key="supplier.id", index=True)
    item_id: int = Field(foreign_key="item.id", index=True)
    depot_id: int = Field(foreign_key="location.id", index=True)
    kind: str = Field(sa_type=String(16))
    delivery: str = Field(sa_type=String(16))
    status: str = Field(sa_type=String(16))
    qty: int = Field(sa_type=BigInteger)
    rate_per_hour: int | None = None
    lead_time_hours: float
    valid_from: date
    valid_to: date
    unit_price: Money = Field(sa_type=Numeric(14, 2))
    annual_fee: Money = Field(sa_type=Numeric(14, 2))
    compensation_per_unit: Money = Field(sa_type=Numeric(14, 2))
    inspection_interval_days: int
    terms: str | None = Field(default=None, max_length=2000)


class Inspection(SQLModel, table=True):
    """An on-site check (督促检查) of an agreement: what the inspector found.

    `verified_qty` is the units found on site for a goods agreement, and the hourly output
    shown for a capacity agreement. One inspection per agreement and day.
    """

    __tablename__ = "inspection"
    __table_args__ = (
        UniqueConstraint("agreement_id", "inspected_on", name="uq_inspection_agreement_day"),
        CheckConstraint("verified_qty >= 0", name="verified_nonneg"),
    )

    id: int | None = Field(default=None, primary_key=True)
    agreement_id: int = Field(foreign_key="agreement.id")
    inspected_on: date
    inspector: str = Field(max_length=100)
    verified_qty: int = Field(sa_type=BigInteger)
    findings: str | None = Field(default=None, max_length=2000)


class Settlement(SQLModel, table=True):
    """A payment run to one supplier covering received call-offs (先征用后结算)."""

    __tablename__ = "settlement"
    __table_args__ = (CheckConstraint("amount >= 0", name="amount_nonneg"),)

    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(max_length=32, unique=True)
    supplier_id: int = Field(foreign_key="supplier.id", index=True)
    settled_at: datetime = Field(sa_type=UTCDateTime)
    amount: Money = Field(sa_type=Numeric(14, 2))
    actor: str = Field(max_length=100)
    reference: str | None = Field(default=None, max_length=100)
    note: str | None = Field(default=None, max_length=2000)


class CallOff(SQLModel, table=True):
    """A call-off (征用) under an agreement: an expected receipt until the goods arrive.

    The contract's prices are copied when the call-off is made, so a later change of the
    agreement never changes what is owed for goods already requisitioned.
    """

    __tablename__ = "call_off"
    __table_args__ = (
        CheckConstraint(_in("status", CallOffStatus), name="status_known"),
        CheckConstraint("qty > 0", name="qty_positive"),
        CheckConstraint(
            "received_qty IS NULL OR (received_qty >= 0 AND received_qty <= qty)",
            name="received_within_qty",
        ),
        CheckConstraint(
            "status <> 'received' OR received_qty IS NOT NULL", name="received_has_qty"
        ),
        CheckConstraint("settlement_id IS NULL OR status = 'received'", name="settled_received"),
    )

    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(max_length=32, unique=True)
    agreement_id: int = Field(foreign_key="agreement.id", index=True)
    depot_id: int = Field(foreign_key="location.id")
    qty: int = Field(sa_type=BigInteger)
    status: str = Field(sa_type=String(16))
    called_at: datetime = Field(sa_type=UTCDateTime)
    due_at: datetime = Field(sa_type=UTCDateTime)
    unit_price: Money = Field(sa_type=Numeric(14, 2))
    compensation_per_unit: Money = Field(sa_type=Numeric(14, 2))
    received_qty: int | None = Field(default=None, sa_type=BigInteger)
    received_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    receipt_id: int | None = Field(default=None, foreign_key="document.id")
    settlement_id: int | None = Field(default=None, foreign_key="settlement.id", index=True)
    actor: str = Field(max_length=100)
    reference: str | None = Field(default=None, max_length=100)
    note: str | None = Field(default=None, max_length=2000)
    idempotency_key: str | None = Field(default=None, max_length=200, unique=True)
    #: The approved plan that made this call-off (cancelling the plan cancels it).
    plan_id: int | None = Field(default=None, foreign_key="dispatch_plan.id", index=True)
    #: Where the supplier delivers when it brings the goods straight to a shelter: the goods
    #: are received into the call-off's depot and issued to the shelter in one transaction.
    shelter: str | None = Field(default=None, max_length=64)


class SheetRow(BaseModel):
    """A row of a keeper's spreadsheet: a blank cell means "use the default"."""

    @model_validator(mode="before")
    @classmethod
    def _blank_is_default(cls, data: object) -> object:
        if isinstance(data, dict):
            return {k: v for k, v in data.items() if v is not None}
        return data


def _code(value: str) -> str:
    value = value.strip()
    if not value:
        raise ValueError("must not be blank")
    return value


class SupplierCreate(SheetRow):
    """One row of a suppliers file."""

    code: str = RowField(min_length=1, max_length=64)
    name: str = RowField(min_length=1, max_length=200)
    kind: SupplierKind
    contact: str | None = RowField(default=None, max_length=200)
    lat: float | None = RowField(default=None, ge=-90, le=90)
    lon: float | None = RowField(default=None, ge=-180, le=180)

    @field_validator("code")
    @classmethod
    def _strip_code(cls, value: str) -> str:
        return _code(value)


class AgreementCreate(SheetRow):
    """One row of an agreements file; `supplier`, `item` and `depot` are codes."""

    code: str = RowField(min_length=1, max_length=64)
    supplier: str = RowField(min_length=1, max_length=64)
    item: str = RowField(min_length=1, max_length=64)
    depot: str = RowField(min_length=1, max_length=64)
    kind: AgreementKind = AgreementKind.GOODS
    delivery: Delivery = Delivery.DEPOT
    status: AgreementStatus = AgreementStatus.ACTIVE
    qty: int = RowField(gt=0)
    rate_per_hour: int | None = RowField(default=None, gt=0, validate_default=True)
    lead_time_hours: float = RowField(ge=0, le=24 * 365)
    valid_from: date
    valid_to: date
    unit_price: Money = RowField(ge=0, max_digits=14, decimal_places=2)
    annual_fee: Money = RowField(default=Decimal(0), ge=0, max_digits=14, decimal_places=2)
    compensation_per_unit: Money = RowField(
        default=Decimal(0), ge=0, max_digits=14, decimal_places=2
    )
    inspection_interval_days: int = RowField(default=90, gt=0)
    terms: str | None = RowField(default=None, max_length=2000)

    @field_validator("code")
    @classmethod
    def _strip_code(cls, value: str) -> str:
        return _code(value)

    @field_validator("rate_per_hour")
    @classmethod
    def _rate_for_capacity(cls, value: int | None, info: ValidationInfo) -> int | None:
        kind = info.data.get("kind")
        if kind == AgreementKind.CAPACITY and value is None:
            raise ValueError("a capacity agreement needs a rate per hour")
        if kind == AgreementKind.GOODS and value is not None:
            raise ValueError("only a capacity agreement has a rate per hour")
        return value

    @field_validator("valid_to")
    @classmethod
    def _after_start(cls, value: date, info: ValidationInfo) -> date:
        start = info.data.get("valid_from")
        if start is not None and value < start:
            raise ValueError(f"is before valid_from {start.isoformat()}")
        return value


class InspectionCreate(SheetRow):
    """One row of an inspections file."""

    agreement: str = RowField(min_length=1, max_length=64)
    inspected_on: date
    inspector: str = RowField(min_length=1, max_length=100)
    verified_qty: int = RowField(ge=0)
    findings: str | None = RowField(default=None, max_length=2000)
