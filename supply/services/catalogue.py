"""The reserve catalogue and the depot network: creating and importing them."""

from collections import Counter
from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import aliased
from sqlmodel import Session, col

from supply.errors import InvalidInput, NotFound, SupplyError
from supply.limits import NAME_MAX, check_code, check_text
from supply.models import (
    DEFAULT_CATEGORIES,
    DepotCreate,
    Item,
    ItemCategory,
    ItemCreate,
    Location,
    LocationKind,
    LocationTree,
    Supplier,
)


def upsert_items(session: Session, items: Sequence[ItemCreate]) -> tuple[int, int]:
    """Create or update items by code. Returns (created, updated)."""
    codes = [i.code for i in items]
    dupes = {c for c, n in Counter(codes).items() if n > 1}
    if dupes:
        raise InvalidInput("code", f"item code(s) repeated: {', '.join(sorted(dupes))}")
    known = set(session.scalars(select(col(ItemCategory.code))))
    for index, data in enumerate(items):
        try:
            _check_item_text(data)
            _check_plausible(data, known)
        except SupplyError as exc:
            exc.index = index
            raise
    existing = {i.code: i for i in session.scalars(select(Item).where(col(Item.code).in_(codes)))}
    created = updated = 0
    for data in items:
        row = existing.get(data.code)
        if row is None:
            session.add(Item.model_validate(data))
            created += 1
        else:
            row.sqlmodel_update(data.model_dump())
            updated += 1
    session.flush()
    return created, updated


def list_items(session: Session) -> list[Item]:
    """Every catalogue item, by code."""
    return list(session.scalars(select(Item).order_by(col(Item.code))))


def _check_item_text(data: ItemCreate) -> None:
    """Field lengths and characters both databases hold (see `supply.limits`)."""
    check_code("code", data.code)
    check_text("name_zh", data.name_zh, NAME_MAX)
    check_text("name_en", data.name_en, NAME_MAX)
    check_code("category", data.category)
    check_text("unit", data.unit, 32)


def _check_plausible(data: ItemCreate, categories: set[str]) -> None:
    """Refuse what cannot be meant: a category outside the catalogue's list (a typo would
    start a category of its own), a rotation lead not below the shelf life (a lot would be
    due for rotation the day it arrives)."""
    if data.category not in categories:
        raise InvalidInput(
            "category",
            f"{data.category!r} is not a catalogue category ({', '.join(sorted(categories))}); "
            "add it with `relief catalog categories add CODE --name-zh ... --name-en ...`",
        )
    if data.shelf_life_days is not None and data.rotation_lead_days >= data.shelf_life_days:
        raise InvalidInput(
            "rotation_lead_days",
            f"{data.rotation_lead_days} days is not below the shelf life of "
            f"{data.shelf_life_days} days: every lot would be due for rotation on arrival",
        )


def add_category(session: Session, *, code: str, name_zh: str, name_en: str) -> bool:
    """Add a category to the catalogue's list (or rename it); True when it is new."""
    check_code("code", code.strip() or "?")
    if not code.strip():
        raise InvalidInput("code", "must not be blank")
    check_text("name_zh", name_zh, NAME_MAX)
    check_text("name_en", name_en, NAME_MAX)
    row = session.get(ItemCategory, code)
    if row is None:
        session.add(ItemCategory(code=code, name_zh=name_zh, name_en=name_en))
    else:
        row.name_zh, row.name_en = name_zh, name_en
    session.flush()
    return row is None


def list_categories(session: Session) -> list[ItemCategory]:
    return list(session.scalars(select(ItemCategory).order_by(col(ItemCategory.code))))


def ensure_default_categories(session: Session) -> None:
    """The default list, for a ledger built without migrations (tests)."""
    for code, name_zh, name_en in DEFAULT_CATEGORIES:
        if session.get(ItemCategory, code) is None:
            session.add(ItemCategory(code=code, name_zh=name_zh, name_en=name_en))
    session.flush()


def upsert_depots(session: Session, depots: Sequence[DepotCreate]) -> tuple[int, int]:
    """Create or update depots by code; parents may come earlier in the same list.

    A parent must be a depot of a higher tier, so the hierarchy can never loop.
    """
    codes = [d.code for d in depots]
    dupes = {c for c, n in Counter(codes).items() if n > 1}
    if dupes:
        raise InvalidInput("code", f"depot code(s) repeated: {', '.join(sorted(dupes))}")
    tier_rank = {"province": 0, "city": 1, "county": 2, "township": 3, "village": 4}
    created = updated = 0
    for index, data in enumerate(depots):
        try:
            made = _upsert_depot(session, data, tier_rank)
        except SupplyError as exc:
            exc.index = index
            raise
        created += made
        updated += not made
    return created, updated


def _upsert_depot(session: Session, data: DepotCreate, tier_rank: dict[str, int]) -> bool:
    """Returns True when the depot was created, False when updated."""
    check_code("code", data.code)
    check_text("name", data.name, NAME_MAX)
    if data.parent_code:
        check_code("parent_code", data.parent_code)
    parent_id = None
    if data.parent_code:
        parent = session.scalars(
            select(Location).where(col(Location.code) == data.parent_code)
        ).first()
        if parent is None or parent.kind != LocationKind.DEPOT:
            raise NotFound("parent_code", data.parent_code)
        assert parent.tier is not None
        if tier_rank[parent.tier] >= tier_rank[data.tier.value]:
            raise InvalidInput(
                "parent_code",
                f"parent {parent.code} is a {parent.tier} depot; a {data.tier.value} "
                "depot's parent must be of a higher tier",
            )
        parent_id = parent.id
    row = session.scalars(select(Location).where(col(Location.code) == data.code)).first()
    values: dict[str, Any] = {
        "name": data.name,
        "tier": data.tier.value,
        "parent_id": parent_id,
        "lat": data.lat,
        "lon": data.lon,
        "capacity_m3": data.capacity_m3,
        "population_served": data.population_served,
        "loading_hours": data.loading_hours,
    }
    if row is None:
        created = Location(code=data.code, kind=LocationKind.DEPOT.value, **values)
        session.add(created)
        session.flush()
        _place_in_tree(session, created.id, parent_id, new=True)  # type: ignore[arg-type]
        return True
    if row.kind != LocationKind.DEPOT:
        raise InvalidInput("code", f"{data.code} is a {row.kind} location, not a depot")
    moved = row.parent_id != parent_id
    for key, value in values.items():
        setattr(row, key, value)
    session.flush()
    if moved:
        _place_in_tree(session, row.id, parent_id, new=False)  # type: ignore[arg-type]
    return False


def _place_in_tree(session: Session, depot_id: int, parent_id: int | None, *, new: bool) -> None:
    """Keep the closure table (`LocationTree`) right: a new depot gets a row for itself and
    one per ancestor; a moved depot's whole subtree leaves its old ancestors for the new."""
    tree = LocationTree.__table__  # type: ignore[attr-defined]
    if new:
        session.execute(tree.insert().values(ancestor_id=depot_id, descendant_id=depot_id, depth=0))
    else:
        below = select(tree.c.descendant_id).where(tree.c.ancestor_id == depot_id)
        above = select(tree.c.ancestor_id).where(
            tree.c.descendant_id == depot_id, tree.c.ancestor_id != depot_id
        )
        session.execute(
            delete(tree).where(
                tree.c.descendant_id.in_(below.scalar_subquery()),
                tree.c.ancestor_id.in_(above.scalar_subquery()),
            )
        )
    if parent_id is None:
        return
    up = tree.alias("up")
    down = tree.alias("down")
    session.execute(
        insert(tree).from_select(
            ["ancestor_id", "descendant_id", "depth"],
            select(up.c.ancestor_id, down.c.descendant_id, up.c.depth + down.c.depth + 1)
            .select_from(up.join(down, down.c.ancestor_id == depot_id))
            .where(up.c.descendant_id == parent_id),
        )
    )


def list_depots(session: Session) -> list[tuple[Location, str | None, str | None]]:
    """Every depot with its parent's code and its custodian's (entrusted storage), by code."""
    parent = aliased(Location)
    rows = session.execute(
        select(Location, col(parent.code), col(Supplier.code))
        .outerjoin(parent, col(parent.id) == col(Location.parent_id))
        .outerjoin(Supplier, col(Supplier.id) == col(Location.custodian_id))
        .where(col(Location.kind) == LocationKind.DEPOT.value)
        .order_by(col(Location.code))
    ).all()
    return [(loc, parent_code, custodian) for loc, parent_code, custodian in rows]


ITEM_EXPORT_COLUMNS = (
    "code",
    "name_zh",
    "name_en",
    "category",
    "unit",
    "unit_weight_kg",
    "unit_volume_m3",
    "shelf_life_days",
    "rotation_lead_days",
)
DEPOT_EXPORT_COLUMNS = (
    "code",
    "name",
    "tier",
    "parent_code",
    "lat",
    "lon",
    "capacity_m3",
    "population_served",
    "loading_hours",
)


def item_table(session: Session) -> list[list[Any]]:
    """Every item as a row of ITEM_EXPORT_COLUMNS (what `catalog import` reads)."""
    items = session.scalars(select(Item).order_by(col(Item.code)))
    return [[getattr(i, c) for c in ITEM_EXPORT_COLUMNS] for i in items]


def depot_table(session: Session) -> list[list[Any]]:
    """Every depot as a row of DEPOT_EXPORT_COLUMNS, parents before their children (so the
    file imports back in one pass)."""
    rows = list_depots(session)
    by_code = {loc.code: (loc, parent) for loc, parent, _ in rows}
    done: list[str] = []

    def visit(code: str) -> None:
        if code in done:
            return
        parent = by_code[code][1]
        if parent in by_code:
            visit(parent)
        done.append(code)

    for code in by_code:
        visit(code)
    out: list[list[Any]] = []
    for code in done:
        loc, parent = by_code[code]
        out.append(
            [
                loc.code,
                loc.name,
                loc.tier,
                parent,
                loc.lat,
                loc.lon,
                loc.capacity_m3,
                loc.population_served,
                loc.loading_hours,
            ]
        )
    return out
