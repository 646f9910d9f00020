"""Reserve quotas (储备定额): how much of an item a depot, or every depot of a tier, should hold.

A quota is scoped to one depot or to one tier, and measured either as a quantity or as a
quantity per resident the depot serves (its `population_served`). A depot's own quota for
an item takes the place of its tier's.
"""

from decimal import Decimal

from pydantic import Field as RowField
from pydantic import ValidationInfo, field_validator
from sqlalchemy import BigInteger, CheckConstraint, Numeric, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from supply.models.reserves import SheetRow
from supply.network import Tier

_TIERS = ", ".join(f"'{t.value}'" for t in Tier)


class Quota(SQLModel, table=True):
    """One quota line; exactly one scope (depot or tier) and one measure (qty or per resident)."""

    __tablename__ = "quota"
    __table_args__ = (
        UniqueConstraint("depot_id", "item_id", name="uq_quota_depot_item"),
        UniqueConstraint("tier", "item_id", name="uq_quota_tier_item"),
        CheckConstraint("(depot_id IS NULL) <> (tier IS NULL)", name="one_scope"),
        CheckConstraint("(qty IS NULL) <> (per_resident IS NULL)", name="one_measure"),
        CheckConstraint(f"tier IS NULL OR tier IN ({_TIERS})", name="tier_known"),
        CheckConstraint("qty IS NULL OR qty >= 0", name="qty_nonneg"),
        CheckConstraint("per_resident IS NULL OR per_resident > 0", name="per_resident_positive"),
    )

    id: int | None = Field(default=None, primary_key=True)
    item_id: int = Field(foreign_key="item.id", index=True)
    depot_id: int | None = Field(default=None, foreign_key="location.id")
    tier: str | None = Field(default=None, sa_type=String(16))
    qty: int | None = Field(default=None, sa_type=BigInteger)
    per_resident: Decimal | None = Field(default=None, sa_type=Numeric(12, 6))


class QuotaCreate(SheetRow):
    """One row of a quotas file: `item`, then `depot` or `tier`, then `qty` or `per_resident`."""

    item: str = RowField(min_length=1, max_length=64)
    depot: str | None = RowField(default=None, max_length=64)
    tier: Tier | None = RowField(default=None, validate_default=True)
    qty: int | None = RowField(default=None, ge=0)
    per_resident: Decimal | None = RowField(
        default=None, gt=0, max_digits=12, decimal_places=6, validate_default=True
    )

    @field_validator("tier")
    @classmethod
    def _one_scope(cls, value: Tier | None, info: ValidationInfo) -> Tier | None:
        has_depot = info.data.get("depot") is not None
        if has_depot and value is not None:
            raise ValueError("give a depot or a tier, not both")
        if not has_depot and value is None and "depot" in info.data:
            raise ValueError("give a depot or a tier")
        return value

    @field_validator("per_resident")
    @classmethod
    def _one_measure(cls, value: Decimal | None, info: ValidationInfo) -> Decimal | None:
        if "qty" not in info.data:  # qty itself was invalid; that error is reported
            return value
        has_qty = info.data.get("qty") is not None
        if has_qty and value is not None:
            raise ValueError("give qty or per_resident, not both")
        if not has_qty and value is None:
            raise ValueError("give qty or per_resident")
        return value
