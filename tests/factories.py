"""Builders for tests; they go through the services, never raw inserts."""

from datetime import date

from sqlmodel import Session

from supply.ledger import Posted
from supply.models import DepotCreate, Item, ItemCreate, Location, Tier
from supply.services import stock
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
                category="water",
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
    session: Session, code: str, tier: Tier = Tier.COUNTY, parent: str | None = None
) -> Location:
    upsert_depots(
        session, [DepotCreate(code=code, name=f"depot {code}", tier=tier, parent_code=parent)]
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
