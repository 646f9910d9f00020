"""Reading stock: balances by depot, subtree, item and expiry window."""

from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlmodel import Session, col

from supply.errors import OutOfScope
from supply.models import (
    Balance,
    Batch,
    DepotItemTotal,
    Item,
    Jurisdiction,
    Location,
    LocationKind,
    LocationTree,
    is_expired,
    rotation_date,
)
from supply.services.lookup import depot_by_code, item_by_code


@dataclass(frozen=True, slots=True)
class BalanceRow:
    """Stock of one lot at one depot; `available` is on hand less reserved. The CLI's
    JSON and the HTTP API's balances are this one schema."""

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
    #: Whose the lot is: a jurisdiction's code, or a donor (neither: not recorded, the
    #: depot's people release it); and who paid for it.
    owner: str | None = None
    donor: str | None = None
    funding: str = "fiscal"

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("expires_on", "rotation_due"):
            value = data[key]
            data[key] = value.isoformat() if value else None
        return data


def subtree_ids(session: Session, root_id: int) -> Any:
    """A selectable of the ids of a depot and every depot below it (the closure table)."""
    return select(col(LocationTree.descendant_id)).where(col(LocationTree.ancestor_id) == root_id)


#: The depots whose stock a reader may see (`jurisdictions.visible_depot_ids`); None: all.
Visible = frozenset[int] | None


def _scope(
    session: Session,
    stmt: Any,
    *,
    depot: str | None,
    subtree: bool,
    item: str | None,
    of: Any = Balance,
    visible: Visible = None,
) -> Any:
    """Restrict a query of balances (or of `of`, with the same two columns) to a depot (or
    its subtree), an item, and the depots a reader may see (`visible`; a depot named
    outside them is refused, `OutOfScope`)."""
    if visible is not None:
        stmt = stmt.where(of.location_id.in_(visible))
    if depot is not None:
        loc = depot_by_code(session, depot)
        if visible is not None and loc.id not in visible and not subtree:
            raise OutOfScope("depot", f"depot {depot}'s stock is not shared with your jurisdiction")
        if subtree:
            stmt = stmt.join(
                LocationTree,
                (col(LocationTree.descendant_id) == of.location_id)
                & (col(LocationTree.ancestor_id) == loc.id),
            )
        else:
            stmt = stmt.where(of.location_id == loc.id)
    if item is not None:
        stmt = stmt.where(of.item_id == item_by_code(session, item).id)
    return stmt


def balances(
    session: Session,
    *,
    visible: Visible = None,
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
            col(Batch.owner_id),
            col(Batch.donor),
            col(Batch.funding),
        )
        .join(Location, col(Location.id) == col(Balance.location_id))
        .join(Item, col(Item.id) == col(Balance.item_id))
        .join(Batch, col(Batch.id) == col(Balance.batch_id))
        .where(col(Location.kind) == LocationKind.DEPOT.value)
    )
    stmt = _scope(session, stmt, depot=depot, subtree=subtree, item=item, visible=visible)
    if expires_before is not None:
        stmt = stmt.where(col(Batch.expires_on) <= expires_before)
    if expires_after is not None:
        stmt = stmt.where(col(Batch.expires_on) >= expires_after)
    if not include_zero:
        stmt = stmt.where(col(Balance.on_hand) != 0)
    stmt = stmt.order_by(col(Location.code), col(Item.code), col(Batch.expires_on), col(Batch.lot))
    found = session.execute(stmt).all()
    # Owners by code: one small look-up, and none when no lot has an owner recorded.
    owner_ids = {row[11] for row in found if row[11] is not None}
    owners: dict[int, str] = {}
    if owner_ids:
        owners = dict(
            session.execute(
                select(col(Jurisdiction.id), col(Jurisdiction.code)).where(
                    col(Jurisdiction.id).in_(owner_ids)
                )
            ).all()
        )
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
        owner_id,
        donor,
        funding,
    ) in found:
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
                owner=owners.get(owner_id) if owner_id is not None else None,
                donor=donor,
                funding=funding,
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
    visible: Visible = None,
) -> list[BalanceRow]:
    """Depot stock whose rotation date falls within `within_days` (overdue included),
    soonest first, of the `visible` depots."""
    today = today or date.today()
    horizon = date.fromordinal(today.toordinal() + within_days)
    rows = balances(session, depot=depot, subtree=subtree, today=today, visible=visible)
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
    visible: Visible = None,
    depot: str | None = None,
    subtree: bool = False,
    item: str | None = None,
    today: date | None = None,
) -> list[ItemTotal]:
    """Per-item totals from the per-depot item totals the ledger keeps (one row a depot and
    item, not one a lot), less what lies in expired lots (found from the expiry index). A
    province of 1,000 depots x 50 items x 5 lots sums 50,000 rows, not 250,000.

    `expired` counts units on hand past their expiry date; they are included in `on_hand`
    but can never be allocated, so `available` excludes them. `lots` counts lot holdings:
    a lot held at two depots counts twice.
    """
    today = today or date.today()
    totals = select(
        col(DepotItemTotal.item_id),
        func.count(),
        func.sum(col(DepotItemTotal.lots)),
        func.sum(col(DepotItemTotal.on_hand)),
        func.sum(col(DepotItemTotal.reserved)),
    ).where(col(DepotItemTotal.on_hand) != 0)
    if not (depot is not None and subtree):  # the closure table holds depots only
        totals = totals.join(Location, col(Location.id) == col(DepotItemTotal.location_id)).where(
            col(Location.kind) == LocationKind.DEPOT.value
        )
    totals = _scope(
        session,
        totals,
        depot=depot,
        subtree=subtree,
        item=item,
        of=DepotItemTotal,
        visible=visible,
    )
    rows = session.execute(totals.group_by(col(DepotItemTotal.item_id))).all()
    past = _expired_units(session, today, depot=depot, subtree=subtree, item=item, visible=visible)
    items = {
        i.id: i for i in session.scalars(select(Item).where(col(Item.id).in_([r[0] for r in rows])))
    }
    out: list[ItemTotal] = []
    for item_id, depots, lots, on_hand, reserved in rows:
        units, free = past.get(item_id, (0, 0))
        it = items[item_id]
        out.append(
            ItemTotal(
                item=it.code,
                item_name=it.name_en,
                unit=it.unit,
                depots=int(depots),
                lots=int(lots),
                on_hand=int(on_hand),
                reserved=int(reserved),
                available=int(on_hand) - int(reserved) - free,
                expired=units,
            )
        )
    return sorted(out, key=lambda t: t.item)


def _expired_units(
    session: Session,
    today: date,
    *,
    depot: str | None,
    subtree: bool,
    item: str | None,
    visible: Visible = None,
) -> dict[int, tuple[int, int]]:
    """item id -> (units on hand, units unreserved) in lots expired by `today`: the expired
    lots first (expiry index), then their balances (batch index), so a ledger with none
    costs one small look-up."""
    expired = list(session.scalars(select(col(Batch.id)).where(col(Batch.expires_on) < today)))
    out: dict[int, tuple[int, int]] = {}
    for start in range(0, len(expired), 500):
        stmt = (
            select(
                col(Balance.item_id),
                func.sum(col(Balance.on_hand)),
                func.sum(col(Balance.on_hand) - col(Balance.reserved)),
            )
            .join(Location, col(Location.id) == col(Balance.location_id))
            .where(
                col(Balance.batch_id).in_(expired[start : start + 500]),
                col(Location.kind) == LocationKind.DEPOT.value,
                col(Balance.on_hand) != 0,
            )
            .group_by(col(Balance.item_id))
        )
        stmt = _scope(session, stmt, depot=depot, subtree=subtree, item=item, visible=visible)
        for item_id, units, free in session.execute(stmt):
            was = out.get(item_id, (0, 0))
            out[item_id] = (was[0] + int(units), was[1] + int(free))
    return out


def usable_on_hand(
    session: Session, *, today: date, depot_ids: set[int] | None = None
) -> dict[tuple[int, int], int]:
    """(depot id, item id) -> units on hand in lots not expired on `today`.

    Reserved units count (they are still in the reserve); expired ones never do. Read from
    the per-depot item totals, less the (few) balances of expired lots.
    """
    totals = (
        select(
            col(DepotItemTotal.location_id),
            col(DepotItemTotal.item_id),
            col(DepotItemTotal.on_hand),
        )
        .join(Location, col(Location.id) == col(DepotItemTotal.location_id))
        .where(col(Location.kind) == LocationKind.DEPOT.value, col(DepotItemTotal.on_hand) != 0)
    )
    if depot_ids is not None:
        totals = totals.where(col(DepotItemTotal.location_id).in_(depot_ids))
    out = {(loc, item): int(total) for loc, item, total in session.execute(totals)}
    expired = list(session.scalars(select(col(Batch.id)).where(col(Batch.expires_on) < today)))
    for start in range(0, len(expired), 500):
        rows = session.execute(
            select(col(Balance.location_id), col(Balance.item_id), func.sum(col(Balance.on_hand)))
            .where(
                col(Balance.batch_id).in_(expired[start : start + 500]),
                col(Balance.on_hand) != 0,
            )
            .group_by(col(Balance.location_id), col(Balance.item_id))
        )
        for loc, item, units in rows:
            if (loc, item) in out:
                out[(loc, item)] -= int(units)
    return {key: units for key, units in out.items() if units}
