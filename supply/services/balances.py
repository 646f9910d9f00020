"""Reading stock: balances by depot, subtree, item and expiry window."""

from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

from sqlalchemy import case, func, select
from sqlmodel import Session, col

from supply.models import Balance, Batch, Item, Location, LocationKind, is_expired, rotation_date
from supply.services.lookup import depot_by_code, item_by_code


@dataclass(frozen=True, slots=True)
class BalanceRow:
    depot: str
    depot_name: str
    tier: str | None
    item: str
    item_name: str
    unit: str
    lot: str
    on_hand: int
    reserved: int
    available: int
    expires_on: date | None
    rotation_due: date | None
    expired: bool

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("expires_on", "rotation_due"):
            value = data[key]
            data[key] = value.isoformat() if value else None
        return data


def subtree_ids(session: Session, root_id: int) -> select:  # type: ignore[valid-type]
    """A selectable of the ids of a depot and every depot below it (recursive CTE)."""
    tree = select(col(Location.id)).where(col(Location.id) == root_id).cte("tree", recursive=True)
    child = select(col(Location.id)).join(tree, col(Location.parent_id) == tree.c.id)
    tree = tree.union_all(child)
    return select(tree.c.id)


def _scope(
    session: Session, stmt: Any, *, depot: str | None, subtree: bool, item: str | None
) -> Any:
    """Restrict a balance query to a depot (or its subtree) and an item."""
    if depot is not None:
        loc = depot_by_code(session, depot)
        if subtree:
            stmt = stmt.where(col(Balance.location_id).in_(subtree_ids(session, loc.id)))  # type: ignore[arg-type, attr-defined]
        else:
            stmt = stmt.where(col(Balance.location_id) == loc.id)
    if item is not None:
        stmt = stmt.where(col(Balance.item_id) == item_by_code(session, item).id)
    return stmt


def balances(
    session: Session,
    *,
    depot: str | None = None,
    subtree: bool = False,
    item: str | None = None,
    expires_before: date | None = None,
    expires_after: date | None = None,
    include_zero: bool = False,
    today: date | None = None,
) -> list[BalanceRow]:
    """Depot stock per batch, ordered by depot, item, expiry.

    `expires_before`/`expires_after` bound the expiry date inclusively; durable goods (no
    expiry) are left out whenever an expiry bound is given.
    """
    today = today or date.today()
    stmt = (
        select(
            col(Location.code),
            col(Location.name),
            col(Location.tier),
            col(Item.code),
            col(Item.name_en),
            col(Item.unit),
            col(Item.rotation_lead_days),
            col(Batch.lot),
            col(Batch.expires_on),
            col(Balance.on_hand),
            col(Balance.reserved),
        )
        .join(Location, col(Location.id) == col(Balance.location_id))
        .join(Item, col(Item.id) == col(Balance.item_id))
        .join(Batch, col(Batch.id) == col(Balance.batch_id))
        .where(col(Location.kind) == LocationKind.DEPOT.value)
    )
    stmt = _scope(session, stmt, depot=depot, subtree=subtree, item=item)
    if expires_before is not None:
        stmt = stmt.where(col(Batch.expires_on) <= expires_before)
    if expires_after is not None:
        stmt = stmt.where(col(Batch.expires_on) >= expires_after)
    if not include_zero:
        stmt = stmt.where(col(Balance.on_hand) != 0)
    stmt = stmt.order_by(col(Location.code), col(Item.code), col(Batch.expires_on), col(Batch.lot))
    rows: list[BalanceRow] = []
    for (
        code,
        name,
        tier,
        item_code,
        item_name,
        unit,
        lead,
        lot,
        expires_on,
        on_hand,
        reserved,
    ) in session.execute(stmt):
        rows.append(
            BalanceRow(
                depot=code,
                depot_name=name,
                tier=tier,
                item=item_code,
                item_name=item_name,
                unit=unit,
                lot=lot,
                on_hand=on_hand,
                reserved=reserved,
                available=on_hand - reserved,
                expires_on=expires_on,
                rotation_due=rotation_date(expires_on, lead),
                expired=is_expired(expires_on, today),
            )
        )
    return rows


def due_for_rotation(
    session: Session,
    *,
    within_days: int = 90,
    depot: str | None = None,
    subtree: bool = False,
    today: date | None = None,
) -> list[BalanceRow]:
    """Depot stock whose rotation date falls within `within_days` (overdue included),
    soonest first."""
    today = today or date.today()
    horizon = date.fromordinal(today.toordinal() + within_days)
    rows = balances(session, depot=depot, subtree=subtree, today=today)
    due = [r for r in rows if r.rotation_due is not None and r.rotation_due <= horizon]
    return sorted(due, key=lambda r: (r.rotation_due, r.depot, r.item, r.lot))


@dataclass(frozen=True, slots=True)
class ItemTotal:
    """Stock of one item summed over a depot (or its subtree): the dispatcher's overview."""

    item: str
    item_name: str
    unit: str
    depots: int
    lots: int
    on_hand: int
    reserved: int
    available: int
    expired: int

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def balance_totals(
    session: Session,
    *,
    depot: str | None = None,
    subtree: bool = False,
    item: str | None = None,
    today: date | None = None,
) -> list[ItemTotal]:
    """Per-item totals, aggregated in SQL so a whole province costs one grouped scan.

    `expired` counts units on hand past their expiry date; they are included in `on_hand`
    but can never be allocated, so `available` excludes them.
    """
    today = today or date.today()
    is_past = col(Batch.expires_on) < today
    expired_units = case((is_past, col(Balance.on_hand)), else_=0)
    usable_units = case((is_past, 0), else_=col(Balance.on_hand) - col(Balance.reserved))
    stmt = (
        select(
            col(Item.code),
            col(Item.name_en),
            col(Item.unit),
            func.count(func.distinct(col(Balance.location_id))),
            func.count(func.distinct(col(Balance.batch_id))),
            func.sum(col(Balance.on_hand)),
            func.sum(col(Balance.reserved)),
            func.sum(expired_units),
            func.sum(usable_units),
        )
        .join(Location, col(Location.id) == col(Balance.location_id))
        .join(Item, col(Item.id) == col(Balance.item_id))
        .join(Batch, col(Batch.id) == col(Balance.batch_id))
        .where(col(Location.kind) == LocationKind.DEPOT.value, col(Balance.on_hand) != 0)
        .group_by(col(Item.code), col(Item.name_en), col(Item.unit))
        .order_by(col(Item.code))
    )
    stmt = _scope(session, stmt, depot=depot, subtree=subtree, item=item)
    return [
        ItemTotal(
            item=code,
            item_name=name,
            unit=unit,
            depots=depots,
            lots=lots,
            on_hand=int(on_hand),
            reserved=int(reserved),
            available=int(usable),
            expired=int(expired),
        )
        for code, name, unit, depots, lots, on_hand, reserved, expired, usable in session.execute(
            stmt
        )
    ]


def usable_on_hand(
    session: Session, *, today: date, depot_ids: set[int] | None = None
) -> dict[tuple[int, int], int]:
    """(depot id, item id) -> units on hand in lots not expired on `today`.

    Reserved units count (they are still in the reserve); expired ones never do.
    """
    stmt = (
        select(col(Balance.location_id), col(Balance.item_id), func.sum(col(Balance.on_hand)))
        .join(Location, col(Location.id) == col(Balance.location_id))
        .join(Batch, col(Batch.id) == col(Balance.batch_id))
        .where(
            col(Location.kind) == LocationKind.DEPOT.value,
            col(Balance.on_hand) != 0,
            (col(Batch.expires_on).is_(None)) | (col(Batch.expires_on) >= today),  # type: ignore[union-attr, operator]
        )
        .group_by(col(Balance.location_id), col(Balance.item_id))
    )
    if depot_ids is not None:
        stmt = stmt.where(col(Balance.location_id).in_(depot_ids))
    return {(loc, item): int(total) for loc, item, total in session.execute(stmt)}
