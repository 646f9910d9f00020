"""Finding ledger rows by the codes keepers use, with errors that name the code."""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import and_, bindparam, select
from sqlalchemy.orm import aliased
from sqlmodel import Session, col

from supply.db import dialect_insert
from supply.errors import Conflict, InvalidInput, NotFound
from supply.limits import NAME_MAX, check_code, check_optional_text
from supply.models import GUARDED_KINDS, Batch, Item, Location, LocationKind, Ownership


def item_by_code(session: Session, code: str) -> Item:
    check_code("item", code)
    item = session.scalars(select(Item).where(col(Item.code) == code)).first()
    if item is None:
        raise NotFound("item", code)
    return item


def depot_by_code(session: Session, code: str, *, field: str = "depot") -> Location:
    check_code(field, code)
    loc = session.scalars(select(Location).where(col(Location.code) == code)).first()
    if loc is None or loc.kind != LocationKind.DEPOT:
        raise NotFound(field, code)
    _known_kind(session, loc)
    return loc


def _known_kind(session: Session, loc: Location) -> None:
    """Tell the ledger's per-session cache of physical locations what this one is, so that
    posting does not ask the database again (a location's kind never changes)."""
    cache: dict[int, bool] = session.info.setdefault("guarded_locations", {})
    cache[loc.id] = loc.kind in GUARDED_KINDS  # type: ignore[index]


def active_depot_ids(session: Session) -> dict[str, int]:
    """Every active depot's id by code, in one query, for work that names many depots (a
    bulk import); the ledger is told they are physical locations, so it does not ask."""
    rows = session.execute(
        select(col(Location.code), col(Location.id)).where(
            col(Location.kind) == LocationKind.DEPOT.value, col(Location.active).is_(True)
        )
    )
    ids: dict[str, int] = dict(rows.all())
    cache: dict[int, bool] = session.info.setdefault("guarded_locations", {})
    cache.update(dict.fromkeys(ids.values(), LocationKind.DEPOT in GUARDED_KINDS))
    return ids


def active_depot(session: Session, code: str, *, field: str = "depot") -> Location:
    loc = depot_by_code(session, code, field=field)
    if not loc.active:
        raise InvalidInput(field, f"depot {code} is inactive")
    return loc


def virtual(session: Session, kind: LocationKind) -> Location:
    """The single location of a virtual kind (seeded by the first migration).

    Cached on the session once found: virtual locations are never changed or removed.
    """
    cache: dict[str, Location] = session.info.setdefault("virtual_locations", {})
    if kind.value in cache:
        return cache[kind.value]
    loc = session.scalars(select(Location).where(col(Location.code) == kind.value)).first()
    if loc is not None:
        cache[kind.value] = loc
        _known_kind(session, loc)
    else:
        session.execute(
            dialect_insert(session, Location)
            .values(
                code=kind.value, name=kind.value.replace("_", " "), kind=kind.value, active=True
            )
            .on_conflict_do_nothing(index_elements=["code"])
        )
        loc = session.scalars(select(Location).where(col(Location.code) == kind.value)).one()
    return loc


@dataclass(frozen=True, slots=True)
class Posting:
    """What a keeper's single post names, found together: the active depot, the item, the
    lot's batch (None when the lot is new to the item) and the virtual location on the
    other side of the document."""

    depot: Location
    item: Item
    batch: Batch | None
    other: Location


#: The virtual location a posting's other side is (built once: an alias of a 14-column
#: table costs about as much CPU to build as the rest of a single issue's lookups).
_FAR = aliased(Location, name="far")
#: `posting`'s statements, built once with bound parameters (every keeper's post runs one;
#: building it again each time cost more CPU than executing it from the compiled cache).
_POSTING = (
    select(Location, Item, _FAR)
    .select_from(Location)
    .join(Item, col(Item.code) == bindparam("item"))
    .join(_FAR, col(_FAR.code) == bindparam("other"))
    .where(col(Location.code) == bindparam("depot"))
)
_POSTING_LOT = _POSTING.add_columns(Batch).outerjoin(
    Batch, and_(col(Batch.item_id) == col(Item.id), col(Batch.lot) == bindparam("lot"))
)


def posting(
    session: Session, *, depot: str, item: str, lot: str | None, other: LocationKind
) -> Posting:
    """The rows of `Posting` in one statement instead of four: on a server database each
    lookup is a round trip, and they were most of a single post's statements.

    Anything not found falls back to the lookups one by one, so the refusals (and the
    creation of a missing virtual location) are exactly theirs. `batch` is None for a lot
    not found or not a valid code: the caller's lot lookup refuses or creates it.
    """
    check_code("depot", depot)
    check_code("item", item)
    if lot is not None:
        try:
            check_code("lot", lot)
        except InvalidInput:
            lot = None  # refused by the caller's own lot lookup, after depot and item
    params = {"depot": depot, "item": item, "other": other.value}
    if lot is None:
        row = session.execute(_POSTING, params).first()
    else:
        row = session.execute(_POSTING_LOT, {**params, "lot": lot}).first()
    if row is None or row[0].kind != LocationKind.DEPOT:
        loc, it = active_depot(session, depot), item_by_code(session, item)
        far_loc = virtual(session, other)
        batch = None
        if lot is not None:
            batch = session.scalars(
                select(Batch).where(col(Batch.item_id) == it.id, col(Batch.lot) == lot)
            ).first()
        return Posting(loc, it, batch, far_loc)
    loc, it, far_loc = row[0], row[1], row[2]
    _known_kind(session, loc)
    _known_kind(session, far_loc)
    session.info.setdefault("virtual_locations", {})[other.value] = far_loc
    if not loc.active:
        raise InvalidInput("depot", f"depot {depot} is inactive")
    return Posting(loc, it, row[3] if lot is not None else None, far_loc)


def ensure_virtual_locations(session: Session) -> None:
    for kind in LocationKind:
        if kind != LocationKind.DEPOT:
            virtual(session, kind)


def batch_by_lot(session: Session, item: Item, lot: str) -> Batch:
    check_code("lot", lot)
    batch = session.scalars(
        select(Batch).where(col(Batch.item_id) == item.id, col(Batch.lot) == lot)
    ).first()
    if batch is None:
        raise NotFound("lot", f"{lot} (item {item.code})")
    return batch


def batch_for_receipt(
    session: Session,
    item: Item,
    lot: str,
    *,
    expires_on: date | None,
    produced_on: date | None,
    supplier: str | None = None,
    unit_cost: Decimal | None = None,
    found: tuple[Batch | None] | None = None,
    ownership: Ownership | None = None,
    check_owner: bool = True,
) -> Batch:
    """The batch a receipt adds to, created on first receipt of the lot.

    An expiry is derived from the production date and shelf life when not given; a lot that
    already exists must not be received with a different expiry (it would be another lot).
    `found=(batch_or_none,)` passes a lookup of the lot already made in this transaction
    (`posting`), so it is not asked again. With `ownership`, a new lot is given it; with
    `check_owner` too, a lot already another's is refused (`Conflict`), as receiving more
    of it would hand the receiver's goods to that owner.
    """
    if not lot.strip():
        raise InvalidInput("lot", "a receipt needs a lot code")
    check_code("lot", lot)
    check_optional_text("supplier", supplier, NAME_MAX)
    if produced_on and expires_on and expires_on < produced_on:
        raise InvalidInput("expires_on", "expiry is before the production date")
    if expires_on is None and produced_on is not None and item.shelf_life_days:
        expires_on = date.fromordinal(produced_on.toordinal() + item.shelf_life_days)
    if found is not None:
        existing = found[0]
    else:
        existing = session.scalars(
            select(Batch).where(col(Batch.item_id) == item.id, col(Batch.lot) == lot)
        ).first()
    if existing is not None:
        if expires_on is not None and existing.expires_on != expires_on:
            was = existing.expires_on.isoformat() if existing.expires_on else "no expiry"
            raise InvalidInput(
                "expires_on",
                f"lot {lot} of item {item.code} is already recorded with {was}, "
                f"not {expires_on.isoformat()}",
            )
        if ownership is not None and check_owner and _other_owner(existing, ownership):
            raise Conflict(
                "lot",
                f"lot {lot} of item {item.code} belongs to another owner; receive these "
                "goods under a lot of their own",
            )
        return existing
    if expires_on is None and item.shelf_life_days:
        raise InvalidInput(
            "expires_on",
            f"item {item.code} has a shelf life of {item.shelf_life_days} days: "
            "give the expiry or the production date",
        )
    session.execute(
        dialect_insert(session, Batch)
        .values(
            item_id=item.id,
            lot=lot,
            produced_on=produced_on,
            expires_on=expires_on,
            supplier=supplier,
            unit_cost=unit_cost,
            **_owner_values(ownership or Ownership()),
        )
        .on_conflict_do_nothing(index_elements=["item_id", "lot"])
    )
    return batch_by_lot(session, item, lot)


def _owner_values(ownership: Ownership) -> dict[str, str | int | None]:
    return {
        "owner_id": ownership.owner_id,
        "donor": ownership.donor,
        "funding": ownership.funding.value,
    }


def _other_owner(batch: Batch, ownership: Ownership) -> bool:
    """Whether a recorded owner of `batch` differs from `ownership`'s (a lot with none
    recorded takes receipts from anyone, as before owners were kept)."""
    if batch.owner_id is None and batch.donor is None:
        return False
    return (batch.owner_id, batch.donor) != (ownership.owner_id, ownership.donor)
