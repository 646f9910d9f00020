"""Builders for tests; they go through the services, never raw inserts."""

from datetime import date
from typing import Any

from sqlmodel import Session

from supply.ledger import Posted
from supply.models import (
    Agreement,
    AgreementCreate,
    DepotCreate,
    Item,
    ItemCreate,
    Location,
    Supplier,
    SupplierCreate,
    Tier,
)
from supply.services import stock
from supply.services.agreements import (
    agreement_by_code,
    supplier_by_code,
    upsert_agreements,
    upsert_suppliers,
)
from supply.services.catalogue import upsert_depots, upsert_items
from supply.services.lookup import depot_by_code, item_by_code

TODAY = date(2026, 6, 1)


def make_item(
    session: Session,
    code: str = "WATER",
    *,
    shelf_life_days: int | None = 365,
    rotation_lead_days: int = 30,
) -> Item:
    upsert_items(
        session,
        [
            ItemCreate(
                code=code,
                name_zh="饮用水",
                name_en="Drinking water",
                category="food_water",
                unit="case",
                unit_weight_kg=13.2,
                unit_volume_m3=0.02,
                shelf_life_days=shelf_life_days,
                rotation_lead_days=rotation_lead_days,
            )
        ],
    )
    return item_by_code(session, code)


def make_depot(
    session: Session,
    code: str,
    tier: Tier = Tier.COUNTY,
    parent: str | None = None,
    *,
    population_served: int | None = None,
) -> Location:
    upsert_depots(
        session,
        [
            DepotCreate(
                code=code,
                name=f"depot {code}",
                tier=tier,
                parent_code=parent,
                population_served=population_served,
            )
        ],
    )
    return depot_by_code(session, code)


def receive(
    session: Session,
    depot: str,
    item: str,
    qty: int,
    lot: str,
    expires_on: date | None = date(2027, 1, 1),
) -> Posted:
    return stock.receive(
        session, depot=depot, item=item, qty=qty, lot=lot, expires_on=expires_on, today=TODAY
    )


def make_supplier(session: Session, code: str = "SM", kind: str = "supermarket") -> Supplier:
    upsert_suppliers(session, [SupplierCreate(code=code, name=f"supplier {code}", kind=kind)])  # type: ignore[arg-type]
    return supplier_by_code(session, code)


def make_agreement(
    session: Session,
    code: str = "AG",
    *,
    supplier: str = "SM",
    item: str = "WATER",
    depot: str = "CTY",
    qty: int = 100,
    lead_time_hours: float = 2,
    valid_from: date = date(2026, 1, 1),
    valid_to: date = date(2026, 12, 31),
    unit_price: str = "28.00",
    compensation_per_unit: str = "1.50",
    **extra: Any,
) -> Agreement:
    """An agreement through the import service (so the same rules apply as for a file)."""
    upsert_agreements(
        session,
        [
            AgreementCreate.model_validate(
                {
                    "code": code,
                    "supplier": supplier,
                    "item": item,
                    "depot": depot,
                    "qty": qty,
                    "lead_time_hours": lead_time_hours,
                    "valid_from": valid_from,
                    "valid_to": valid_to,
                    "unit_price": unit_price,
                    "compensation_per_unit": compensation_per_unit,
                    **extra,
                }
            )
        ],
    )
    return agreement_by_code(session, code)
