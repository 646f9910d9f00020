"""Dispatch: committing a plan to the ledger.

A plan (the optimizer's JSON) is approved once: each of its loads reserves exactly its lot,
all or nothing. Departing a vehicle's trip moves the trip's loads from the depot into
`in_transit` (one transfer document); delivering a stop issues that stop's loads from
`in_transit` to `distributed` (one issue document naming the shelter). Cancelling releases
what has not left; loads on the road are still delivered. Agreement shipments are not
ledger stock (they arrive through call-offs), so approval reports them and reserves nothing.

`supply.services.snapshot` goes the other way: the ledger as the planner's problem, so that
a re-plan starts from stock, reservations and loads on the road as they are.

Every function takes `session` and flushes, never commits; a refusal is raised before any
write, so the caller's rollback has nothing to undo.
"""

import hashlib
import json
from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlmodel import Session

from optimizer.plan_document import PlanDocument, agreement_code
from supply import ledger
from supply.db import dialect_insert, utcnow
from supply.errors import Conflict, DocumentState, InvalidInput, NotFound
from supply.ledger import DocumentDraft, Line, Posted
from supply.models import (
    Agreement,
    Balance,
    Batch,
    CallOff,
    CallOffStatus,
    DispatchLoad,
    DispatchLoadRead,
    DispatchPlan,
    DispatchPlanRead,
    DispatchStatus,
    Document,
    DocumentKind,
    DocumentStatus,
    Item,
    LoadStatus,
    Location,
    LocationKind,
    Reservation,
    ReservationStatus,
    is_expired,
)
from supply.services import calloffs
from supply.services.lookup import active_depot, batch_by_lot, item_by_code, virtual
from supply.services.reservations import release, reserve
from supply.services.stock import Meta

PLAN_PREFIX = "DP"

# --- the plan document -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PlannedLoad:
    """One lot for one shelter; with routes, on a vehicle's trip and stop (1-based)."""

    depot: str
    shelter: str
    item: str
    lot: str
    qty: int
    vehicle: str | None = None
    trip: int | None = None
    stop: int | None = None
    arrival_hours: float | None = None


@dataclass(frozen=True, slots=True)
class PlannedAgreement:
    """Units an agreement's supplier brings straight to one shelter: a call-off on approval."""

    agreement: str
    shelter: str
    item: str
    qty: int


@dataclass(frozen=True, slots=True)
class ReadPlan:
    """What approval needs from a plan JSON, checked for shape.

    `agreement_qty` (per item) is what agreement suppliers deliver: not ledger stock.
    `unrouted_qty` is depot shipment units that no route carries (reported, not reserved).
    """

    name: str
    content_hash: str
    routed: bool
    loads: tuple[PlannedLoad, ...]
    agreement_qty: dict[str, int]
    unrouted_qty: int
    agreements: tuple[PlannedAgreement, ...] = ()


def plan_hash(document: Mapping[str, Any]) -> str:
    """SHA-256 of the plan's canonical JSON: the identity of a plan, whatever its layout."""
    text = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _validated(document: Mapping[str, Any]) -> PlanDocument:
    try:
        return PlanDocument.model_validate(document)
    except ValidationError as exc:
        err = exc.errors()[0]
        path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in err["loc"])
        raise InvalidInput(f"plan{path}", err["msg"].removeprefix("Value error, ")) from exc


def read_plan(document: Mapping[str, Any]) -> ReadPlan:
    """Check a plan document's shape and list its loads: the routes' loads when it has
    routes, else its depot shipments.

    Raises
    ------
    InvalidInput
        Naming the JSON path at fault (e.g. `plan.routes[0].trips[1].stops[0].loads[2].qty`).
    """
    plan = _validated(document)
    if plan.untoured_depots:
        raise InvalidInput(
            "plan.untoured_depots",
            f"plan {plan.name} has shipments no tour carries from "
            f"{', '.join(plan.untoured_depots)}; re-plan before approving",
        )
    shipped: dict[tuple[str, str, str, str], int] = defaultdict(int)
    agreements: dict[str, int] = defaultdict(int)
    called: dict[tuple[str, str, str], int] = defaultdict(int)
    for ship in plan.shipments:
        if ship.source_kind == "agreement":
            agreements[ship.item] += ship.qty
            called[(agreement_code(ship.source), ship.shelter, ship.item)] += ship.qty
        elif ship.source_kind == "depot":  # not "en_route": already departed, not stock
            shipped[(ship.source, ship.shelter, ship.item, ship.lot or "")] += ship.qty
    loads = [
        PlannedLoad(
            r.depot, s.shelter, ld.item, ld.lot, ld.qty, r.vehicle, t.trip, s.stop, s.arrival_hours
        )
        for r in plan.routes
        for t in r.trips
        for s in t.stops
        for ld in s.loads
    ]
    unrouted = 0
    if plan.routes:
        carried: dict[tuple[str, str, str, str], int] = defaultdict(int)
        for ld in loads:
            carried[(ld.depot, ld.shelter, ld.item, ld.lot)] += ld.qty
        unrouted = sum(max(q - carried.get(k, 0), 0) for k, q in shipped.items())
    else:
        loads = [
            PlannedLoad(
                s.source, s.shelter, s.item, s.lot or "", s.qty, arrival_hours=s.arrival_hours
            )
            for s in plan.shipments
            if s.source_kind == "depot"
        ]
    return ReadPlan(
        name=plan.name,
        content_hash=plan_hash(document),
        routed=bool(plan.routes),
        loads=tuple(loads),
        agreement_qty=dict(sorted(agreements.items())),
        unrouted_qty=unrouted,
        agreements=tuple(
            PlannedAgreement(code, shelter, item, qty)
            for (code, shelter, item), qty in sorted(called.items())
        ),
    )


# --- approval ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Cancellation:
    """What cancelling a plan did: reservations released, loads left on the road."""

    number: str
    released_loads: int
    released_qty: int
    on_the_road_loads: int
    on_the_road_qty: int
    cancelled_call_offs: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Approval:
    """An approved plan: its number, what it reserved, and what it could not reserve."""

    number: str
    name: str
    routed: bool
    loads: int
    qty: int
    depots: int
    agreement_qty: dict[str, int]
    unrouted_qty: int
    replaced: tuple[Cancellation, ...] = ()
    #: Call-offs made for the plan's agreement shipments, by number.
    call_offs: tuple[str, ...] = ()
    #: Agreement shipments the ledger has no agreement for (a scenario's): units by code,
    #: to be arranged by hand.
    unknown_agreements: dict[str, int] = field(default_factory=dict)


Key = tuple[int, int, int]  # (depot id, item id, batch id)


def _resolve(
    session: Session, loads: Sequence[PlannedLoad]
) -> tuple[list[Key], dict[Key, tuple[str, str, str, date | None]]]:
    """The ledger key of each load, and codes (and expiry) per key, for messages."""
    depots: dict[str, Location] = {}
    items: dict[str, Item] = {}
    batches: dict[tuple[str, str], Batch] = {}
    keys: list[Key] = []
    names: dict[Key, tuple[str, str, str, date | None]] = {}
    for ld in loads:
        if ld.depot not in depots:
            depots[ld.depot] = active_depot(session, ld.depot)
        if ld.item not in items:
            items[ld.item] = item_by_code(session, ld.item)
        if (ld.item, ld.lot) not in batches:
            batches[(ld.item, ld.lot)] = batch_by_lot(session, items[ld.item], ld.lot)
        batch = batches[(ld.item, ld.lot)]
        key: Key = (depots[ld.depot].id, items[ld.item].id, batch.id)  # type: ignore[assignment]
        keys.append(key)
        names[key] = (ld.depot, ld.item, ld.lot, batch.expires_on)
    return keys, names


def held_by(session: Session, plan: DispatchPlan) -> dict[Key, int]:
    """Units a plan's undeparted loads hold, per key (what cancelling it would release)."""
    held: dict[Key, int] = defaultdict(int)
    for load in _loads(session, plan, status=LoadStatus.RESERVED):
        held[(load.depot_id, load.item_id, load.batch_id)] += load.qty
    return held


def _shortages(
    session: Session,
    needed: dict[Key, int],
    names: dict[Key, tuple[str, str, str, date | None]],
    freed: dict[Key, int],
    today: date,
) -> list[str]:
    """Why the needed lots cannot all be reserved now; balance rows are locked in key order
    (FOR UPDATE on PostgreSQL) so the answer holds until the reservations are written."""
    problems: list[str] = []
    for key in sorted(needed):
        depot, item, lot, expires_on = names[key]
        row = session.execute(
            select(Balance.on_hand, Balance.reserved)
            .where(
                Balance.location_id == key[0],
                Balance.item_id == key[1],
                Balance.batch_id == key[2],
            )
            .with_for_update()
        ).first()
        available = (row[0] - row[1] if row else 0) + freed.get(key, 0)
        if is_expired(expires_on, today):
            problems.append(f"{depot} {item} lot {lot} expired on {expires_on}")
        elif available < needed[key]:
            problems.append(
                f"{depot} {item} lot {lot}: available {available}, plan needs {needed[key]}"
            )
    return problems


def approve(
    session: Session,
    document: Mapping[str, Any],
    *,
    replaces: Sequence[str] = (),
    today: date | None = None,
    now: datetime | None = None,
    meta: Meta = Meta(),
) -> Approval:
    """Reserve exactly the lots of a plan's loads, all or nothing, under a new plan number.

    Parameters
    ----------
    document
        The plan JSON, parsed. With `routes`, each route load is reserved; without, each
        depot shipment. Agreement shipments are counted and reported, never reserved.
    replaces
        Approved plans (numbers or content hashes) this one replaces: they are cancelled in
        the same transaction, and their undeparted reservations count as available.
    today
        Decides which lots have expired (default: today).
    now
        When the call-offs are made (aware; default: now in UTC): each agreement shipment
        the ledger knows becomes a call-off for its shelter, due after the lead time.

    Raises
    ------
    InvalidInput
        A malformed plan, or one with no depot loads.
    NotFound
        A depot, item or lot the ledger does not know.
    Conflict
        The same plan was already approved; or stock moved since the plan was made (a lot
        is short or expired): every such lot is named and nothing is reserved; or an
        agreement can no longer be called off for what the plan asks (the caller's
        rollback then undoes the reservations too).
    """
    now = now or datetime.now(UTC)
    today = today or now.date()
    doc = read_plan(document)
    if not doc.loads:
        raise InvalidInput("plan", f"plan {doc.name} has no depot loads to reserve")
    earlier = session.scalars(
        select(DispatchPlan).where(DispatchPlan.content_hash == doc.content_hash)
    ).first()
    if earlier is not None:
        raise Conflict(
            "plan", f"this plan was already approved as {earlier.number} ({earlier.status})"
        )
    olds = [plan_by_ref(session, ref, lock=True) for ref in dict.fromkeys(replaces)]
    for old in olds:
        if old.status != DispatchStatus.APPROVED:
            raise DocumentState("replaces", f"plan {old.number} is {old.status}")
    keys, names = _resolve(session, doc.loads)
    needed: dict[Key, int] = defaultdict(int)
    for key, ld in zip(keys, doc.loads, strict=True):
        needed[key] += ld.qty
    freed: dict[Key, int] = defaultdict(int)
    for old in olds:
        for key, qty in held_by(session, old).items():
            freed[key] += qty
    problems = _shortages(session, needed, names, freed, today)
    if problems:
        more = f"; and {len(problems) - 5} more" if len(problems) > 5 else ""
        shown = "; ".join(problems[:5]) + more
        raise Conflict(
            "plan", f"stock has moved since plan {doc.name} was made, nothing reserved: {shown}"
        )

    replaced = tuple(cancel(session, old.number, meta=meta) for old in olds)
    number = ledger.next_number(session, PLAN_PREFIX)
    plan_id = session.execute(
        dialect_insert(session, DispatchPlan)
        .values(
            number=number,
            name=doc.name,
            content_hash=doc.content_hash,
            status=DispatchStatus.APPROVED.value,
            routed=doc.routed,
            agreement_qty=sum(doc.agreement_qty.values()),
            approved_at=meta.occurred_at or utcnow(),
            actor=meta.actor,
        )
        .on_conflict_do_nothing(index_elements=["content_hash"])
        .returning(DispatchPlan.id)
    ).scalar()
    if plan_id is None:  # approved by someone else since we looked
        raise Conflict("plan", f"plan {doc.name} was approved meanwhile")
    for old in olds:
        old.replaced_by_id = plan_id
    for key, ld in zip(keys, doc.loads, strict=True):
        (res,) = reserve(
            session,
            depot=ld.depot,
            item=ld.item,
            qty=ld.qty,
            lot=ld.lot,
            plan_ref=number,
            note=f"shelter {ld.shelter}",
            today=today,
        )
        session.add(
            DispatchLoad(
                plan_id=plan_id,
                vehicle=ld.vehicle,
                trip=ld.trip,
                stop=ld.stop,
                shelter=ld.shelter,
                depot_id=key[0],
                item_id=key[1],
                batch_id=key[2],
                qty=ld.qty,
                status=LoadStatus.RESERVED.value,
                reservation_id=res.id,  # type: ignore[arg-type]
                arrival_hours=ld.arrival_hours,
            )
        )
    session.flush()
    call_offs, unknown = _call_off(session, doc.agreements, plan_id, number, now, meta)
    return Approval(
        number=number,
        name=doc.name,
        routed=doc.routed,
        loads=len(doc.loads),
        qty=sum(ld.qty for ld in doc.loads),
        depots=len({ld.depot for ld in doc.loads}),
        agreement_qty=doc.agreement_qty,
        unrouted_qty=doc.unrouted_qty,
        replaced=replaced,
        call_offs=call_offs,
        unknown_agreements=unknown,
    )


def _call_off(
    session: Session,
    planned: Sequence[PlannedAgreement],
    plan_id: int,
    number: str,
    now: datetime,
    meta: Meta,
) -> tuple[tuple[str, ...], dict[str, int]]:
    """One call-off per agreement and shelter of the plan, delivered straight to the shelter;
    agreements the ledger does not know are returned with their units."""
    known = set(
        session.scalars(
            select(Agreement.code).where(
                Agreement.code.in_({p.agreement for p in planned})  # type: ignore[attr-defined]
            )
        )
    )
    made: list[str] = []
    unknown: dict[str, int] = defaultdict(int)
    for p in planned:
        if p.agreement not in known:
            unknown[p.agreement] += p.qty
            continue
        row = calloffs.call_off(
            session,
            agreement=p.agreement,
            qty=p.qty,
            now=now,
            meta=Meta(actor=meta.actor, reference=number, note=f"shelter {p.shelter}"),
        ).call_off
        row.plan_id = plan_id
        row.shelter = p.shelter
        made.append(row.number)
    session.flush()
    return tuple(made), dict(unknown)


# --- finding plans and loads -------------------------------------------------------------


def plan_by_ref(session: Session, ref: str, *, lock: bool = False) -> DispatchPlan:
    """A plan by its number (DP-000001) or the content hash of its document."""
    stmt = select(DispatchPlan).where(
        (DispatchPlan.number == ref) | (DispatchPlan.content_hash == ref)
    )
    if lock:
        stmt = stmt.with_for_update()
    plan = session.scalars(stmt).first()
    if plan is None:
        shown = f"{ref[:12]}… (a plan file never approved)" if len(ref) == 64 else ref
        raise NotFound("plan", shown)
    return plan


def _loads(
    session: Session,
    plan: DispatchPlan,
    *,
    status: LoadStatus | None = None,
    vehicle: str | None = None,
    trip: int | None = None,
    stop: int | None = None,
    lock: bool = False,
) -> list[DispatchLoad]:
    stmt = select(DispatchLoad).where(DispatchLoad.plan_id == plan.id)
    if status is not None:
        stmt = stmt.where(DispatchLoad.status == status.value)
    if vehicle is not None:
        stmt = stmt.where(DispatchLoad.vehicle == vehicle)
    if trip is not None:
        stmt = stmt.where(DispatchLoad.trip == trip)
    if stop is not None:
        stmt = stmt.where(DispatchLoad.stop == stop)
    if lock:
        stmt = stmt.with_for_update()
    return list(session.scalars(stmt.order_by(DispatchLoad.id)))  # type: ignore[arg-type]


def _needs_routes(plan: DispatchPlan) -> None:
    if not plan.routed:
        raise InvalidInput(
            "plan",
            f"plan {plan.number} has no routes (made with --no-routes): its stock is held, "
            "but departing and delivering need vehicles, trips and stops; approve a routed "
            f"plan that replaces {plan.number}",
        )


def _departure_problem(session: Session, load: DispatchLoad) -> str | None:
    """Why a departed load's goods are no longer on the road, if they are not."""
    doc = session.get(Document, load.departure_id)
    assert doc is not None
    if doc.status != DocumentStatus.POSTED:
        return f"its departure {doc.number} was reversed"
    back = session.scalars(
        select(Document.number).where(
            Document.origin_id == doc.id,
            Document.kind == DocumentKind.TRANSFER_ARRIVAL.value,
            Document.status == DocumentStatus.POSTED.value,
        )
    ).first()
    return f"its departure {doc.number} came back to the depot as {back}" if back else None


# --- moving loads ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Moved:
    """A posted departure or delivery: the document and what it moved."""

    plan: str
    document: str
    vehicle: str
    trip: int
    stops: tuple[int, ...]
    shelters: tuple[str, ...]
    loads: int
    qty: int


def _states(loads: Sequence[DispatchLoad]) -> str:
    return ", ".join(sorted({ld.status for ld in loads}))


def depart(session: Session, plan: str, vehicle: str, trip: int, *, meta: Meta = Meta()) -> Moved:
    """A vehicle leaves on a trip: its loads' reservations are consumed and the goods move
    from the depot into `in_transit` (one transfer document, referencing the plan).

    The document's destination is the depot itself, so a truck that turns back is put right
    with `relief stock arrive` (the goods return, unreserved; the stops cannot be delivered).

    Raises
    ------
    NotFound
        Unknown plan, or no such vehicle and trip in it.
    InvalidInput
        The plan has no routes.
    DocumentState
        The trip already left, or its loads were released.
    """
    p = plan_by_ref(session, plan, lock=True)
    _needs_routes(p)
    loads = _loads(session, p, vehicle=vehicle, trip=trip, lock=True)
    if not loads:
        raise NotFound("trip", f"{vehicle} trip {trip} in plan {p.number}")
    if any(ld.status != LoadStatus.RESERVED for ld in loads):
        raise DocumentState(
            "trip", f"{vehicle} trip {trip} of plan {p.number} is {_states(loads)}, not reserved"
        )
    reservations = {
        r.id: r
        for r in session.scalars(
            select(Reservation)
            .where(Reservation.id.in_([ld.reservation_id for ld in loads]))  # type: ignore[union-attr]
            .with_for_update()
        )
    }
    transit = virtual(session, LocationKind.IN_TRANSIT)
    lines: list[Line] = []
    now = utcnow()
    for ld in loads:
        res = reservations[ld.reservation_id]
        if res.status != ReservationStatus.ACTIVE or res.qty != ld.qty:
            raise DocumentState(
                "trip", f"reservation {res.id} of {vehicle} trip {trip} is {res.status}"
            )
        ledger.unhold(session, (ld.depot_id, ld.item_id, ld.batch_id), ld.qty)
        lines.append(Line(ld.depot_id, ld.item_id, ld.batch_id, -ld.qty))
        lines.append(Line(transit.id, ld.item_id, ld.batch_id, ld.qty))  # type: ignore[arg-type]
        res.qty = 0
        res.consumed_qty += ld.qty
        res.status = ReservationStatus.CONSUMED.value
        res.closed_at = now
    depot_ids = {ld.depot_id for ld in loads}
    if len(depot_ids) != 1:
        raise InvalidInput("trip", f"{vehicle} trip {trip} loads at more than one depot")
    posted = ledger.post(
        session,
        DocumentDraft(
            kind=DocumentKind.TRANSFER_DISPATCH,
            lines=lines,
            actor=meta.actor,
            occurred_at=meta.occurred_at or now,
            reference=p.number,
            note=meta.note or f"{vehicle} trip {trip}",
            destination_id=depot_ids.pop(),
        ),
    )
    for ld in loads:
        ld.status = LoadStatus.IN_TRANSIT.value
        ld.departure_id = posted.id
        ld.departed_at = meta.occurred_at or now
    session.flush()
    return _moved(p, posted, loads)


def _moved(plan: DispatchPlan, posted: Posted, loads: Sequence[DispatchLoad]) -> Moved:
    return Moved(
        plan=plan.number,
        document=posted.number,
        vehicle=loads[0].vehicle or "",
        trip=loads[0].trip or 0,
        stops=tuple(sorted({ld.stop or 0 for ld in loads})),
        shelters=tuple(sorted({ld.shelter for ld in loads})),
        loads=len(loads),
        qty=sum(ld.qty for ld in loads),
    )


def deliver(session: Session, plan: str, vehicle: str, stop: int, *, meta: Meta = Meta()) -> Moved:
    """A vehicle reaches a stop: its loads leave `in_transit` to `distributed` in one issue
    document whose note names the shelter (and the load rows record it).

    Raises
    ------
    NotFound
        Unknown plan, or no such vehicle and stop in it.
    InvalidInput
        The plan has no routes.
    DocumentState
        The stop's trip has not departed, was turned back or reversed, or the stop was
        already delivered or released.
    """
    p = plan_by_ref(session, plan, lock=True)
    _needs_routes(p)
    loads = _loads(session, p, vehicle=vehicle, stop=stop, lock=True)
    if not loads:
        raise NotFound("stop", f"{vehicle} stop {stop} in plan {p.number}")
    where = f"{vehicle} stop {stop} of plan {p.number}"
    if any(ld.status == LoadStatus.RESERVED for ld in loads):
        raise DocumentState("stop", f"{where} has not departed (trip {loads[0].trip})")
    if any(ld.status != LoadStatus.IN_TRANSIT for ld in loads):
        raise DocumentState("stop", f"{where} is {_states(loads)}, not in transit")
    for ld in {ld.departure_id: ld for ld in loads}.values():
        problem = _departure_problem(session, ld)
        if problem:
            raise DocumentState("stop", f"{where} cannot be delivered: {problem}")
    transit = virtual(session, LocationKind.IN_TRANSIT)
    out = virtual(session, LocationKind.DISTRIBUTED)
    lines: list[Line] = []
    for ld in loads:
        lines.append(Line(transit.id, ld.item_id, ld.batch_id, -ld.qty))  # type: ignore[arg-type]
        lines.append(Line(out.id, ld.item_id, ld.batch_id, ld.qty))  # type: ignore[arg-type]
    now = meta.occurred_at or utcnow()
    shelter = loads[0].shelter
    posted = ledger.post(
        session,
        DocumentDraft(
            kind=DocumentKind.ISSUE,
            lines=lines,
            actor=meta.actor,
            occurred_at=now,
            reference=p.number,
            note=meta.note or f"shelter {shelter}; {vehicle} stop {stop}",
        ),
    )
    for ld in loads:
        ld.status = LoadStatus.DELIVERED.value
        ld.delivery_id = posted.id
        ld.delivered_at = now
    session.flush()
    if p.status == DispatchStatus.APPROVED and not (
        _loads(session, p, status=LoadStatus.RESERVED)
        or _loads(session, p, status=LoadStatus.IN_TRANSIT)
    ):
        p.status = DispatchStatus.COMPLETED.value
        p.closed_at = now
        session.flush()
    return _moved(p, posted, loads)


def cancel(session: Session, plan: str, *, meta: Meta = Meta()) -> Cancellation:
    """Release every load that has not left; loads on the road stay deliverable.

    Raises
    ------
    NotFound
        Unknown plan.
    DocumentState
        The plan is already cancelled or completed.
    """
    p = plan_by_ref(session, plan, lock=True)
    if p.status != DispatchStatus.APPROVED:
        raise DocumentState("plan", f"plan {p.number} is {p.status}")
    held = _loads(session, p, status=LoadStatus.RESERVED, lock=True)
    for ld in held:
        release(session, ld.reservation_id)
        ld.status = LoadStatus.RELEASED.value
    road = _loads(session, p, status=LoadStatus.IN_TRANSIT)
    expected = session.scalars(
        select(CallOff.number)
        .where(CallOff.plan_id == p.id, CallOff.status == CallOffStatus.EXPECTED.value)
        .order_by(CallOff.number)
    ).all()
    for call in expected:
        calloffs.cancel_call_off(session, call)
    p.status = DispatchStatus.CANCELLED.value
    p.closed_at = meta.occurred_at or utcnow()
    session.flush()
    return Cancellation(
        number=p.number,
        released_loads=len(held),
        released_qty=sum(ld.qty for ld in held),
        on_the_road_loads=len(road),
        on_the_road_qty=sum(ld.qty for ld in road),
        cancelled_call_offs=tuple(expected),
    )


# --- reading -----------------------------------------------------------------------------


def _load_views(session: Session, where: Any) -> list[DispatchLoadRead]:
    depot = select(Location.code).where(Location.id == DispatchLoad.depot_id).scalar_subquery()
    departure = (
        select(Document.number).where(Document.id == DispatchLoad.departure_id).scalar_subquery()
    )
    delivery = (
        select(Document.number).where(Document.id == DispatchLoad.delivery_id).scalar_subquery()
    )
    rows = session.execute(
        select(DispatchLoad, DispatchPlan.number, depot, Item.code, Batch.lot, departure, delivery)
        .join(DispatchPlan, DispatchPlan.id == DispatchLoad.plan_id)  # type: ignore[arg-type]
        .join(Item, Item.id == DispatchLoad.item_id)  # type: ignore[arg-type]
        .join(Batch, Batch.id == DispatchLoad.batch_id)  # type: ignore[arg-type]
        .where(where)
        .order_by(DispatchLoad.plan_id, DispatchLoad.vehicle, DispatchLoad.stop, DispatchLoad.id)  # type: ignore[arg-type]
    ).all()
    problems: dict[int, str | None] = {}
    views: list[DispatchLoadRead] = []
    for ld, number, depot_code, item, lot, dep, dlv in rows:
        problem = None
        if ld.status == LoadStatus.IN_TRANSIT:
            if ld.departure_id not in problems:
                problems[ld.departure_id] = _departure_problem(session, ld)
            problem = problems[ld.departure_id]
        views.append(
            DispatchLoadRead(
                plan=number,
                vehicle=ld.vehicle,
                trip=ld.trip,
                stop=ld.stop,
                shelter=ld.shelter,
                depot=depot_code,
                item=item,
                lot=lot,
                qty=ld.qty,
                status=ld.status,
                departure=dep,
                delivery=dlv,
                departed_at=ld.departed_at,
                problem=problem,
                arrival_hours=ld.arrival_hours,
            )
        )
    return views


def plan_status(session: Session, plan: str) -> DispatchPlanRead:
    """A plan and every load of it, with codes and document numbers."""
    p = plan_by_ref(session, plan)
    newer = session.get(DispatchPlan, p.replaced_by_id) if p.replaced_by_id else None
    older = session.scalars(
        select(DispatchPlan.number).where(DispatchPlan.replaced_by_id == p.id)
    ).all()
    return DispatchPlanRead(
        number=p.number,
        name=p.name,
        status=p.status,
        routed=p.routed,
        approved_at=p.approved_at,
        actor=p.actor,
        agreement_qty=p.agreement_qty,
        replaces=list(older),
        replaced_by=newer.number if newer else None,
        loads=_load_views(session, DispatchLoad.plan_id == p.id),
    )


def list_plans(session: Session) -> list[DispatchPlanRead]:
    """Every approved plan, newest first, with its loads."""
    numbers = session.scalars(select(DispatchPlan.number).order_by(DispatchPlan.id.desc()))  # type: ignore[union-attr]
    return [plan_status(session, number) for number in numbers.all()]


def loads_on_the_road(
    session: Session, *, shelters: Collection[str] | None = None
) -> list[DispatchLoadRead]:
    """Loads that have departed and not been delivered (nor turned back): what a re-plan
    must leave alone, since they are already on their way to their shelters."""
    views = _load_views(session, DispatchLoad.status == LoadStatus.IN_TRANSIT.value)
    return [v for v in views if v.problem is None and (shelters is None or v.shelter in shelters)]
