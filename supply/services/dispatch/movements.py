"""A plan's trucks on the road: departing a trip (depot to in_transit) and delivering a stop
(in_transit to distributed, naming the shelter)."""

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlmodel import Session, col

from supply import ledger
from supply.db import utcnow
from supply.errors import DocumentState, InvalidInput, NotFound
from supply.ledger import DocumentDraft, Line, Posted
from supply.models import (
    DispatchLoad,
    DispatchPlan,
    DispatchStatus,
    Document,
    DocumentKind,
    LoadStatus,
    LocationKind,
    Reservation,
    ReservationStatus,
)
from supply.services import reservations
from supply.services.dispatch.queries import (
    departure_problem,
    needs_routes,
    plan_by_ref,
    plan_loads,
)
from supply.services.lookup import virtual
from supply.services.stock import Meta


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
    needs_routes(p)
    loads = plan_loads(session, p, vehicle=vehicle, trip=trip, lock=True)
    if not loads:
        raise NotFound("trip", f"{vehicle} trip {trip} in plan {p.number}")
    if any(ld.status != LoadStatus.RESERVED for ld in loads):
        raise DocumentState(
            "trip", f"{vehicle} trip {trip} of plan {p.number} is {_states(loads)}, not reserved"
        )
    held = {
        r.id: r
        for r in session.scalars(
            select(Reservation)
            .where(col(Reservation.id).in_([ld.reservation_id for ld in loads]))
            .with_for_update()
        )
    }
    transit = virtual(session, LocationKind.IN_TRANSIT)
    lines: list[Line] = []
    now = utcnow()
    for ld in loads:
        res = held[ld.reservation_id]
        if res.status != ReservationStatus.ACTIVE or res.qty != ld.qty:
            raise DocumentState(
                "trip", f"reservation {res.id} of {vehicle} trip {trip} is {res.status}"
            )
        reservations.use(session, res, ld.qty)
        lines.append(Line(ld.depot_id, ld.item_id, ld.batch_id, -ld.qty))
        lines.append(Line(transit.id, ld.item_id, ld.batch_id, ld.qty))  # type: ignore[arg-type]
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
    needs_routes(p)
    loads = plan_loads(session, p, vehicle=vehicle, stop=stop, lock=True)
    if not loads:
        raise NotFound("stop", f"{vehicle} stop {stop} in plan {p.number}")
    where = f"{vehicle} stop {stop} of plan {p.number}"
    if any(ld.status == LoadStatus.RESERVED for ld in loads):
        raise DocumentState("stop", f"{where} has not departed (trip {loads[0].trip})")
    if any(ld.status != LoadStatus.IN_TRANSIT for ld in loads):
        raise DocumentState("stop", f"{where} is {_states(loads)}, not in transit")
    for ld in {ld.departure_id: ld for ld in loads}.values():
        problem = departure_problem(session, ld)
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
        plan_loads(session, p, status=LoadStatus.RESERVED)
        or plan_loads(session, p, status=LoadStatus.IN_TRANSIT)
    ):
        p.status = DispatchStatus.COMPLETED.value
        p.closed_at = now
        session.flush()
    return _moved(p, posted, loads)


def on_delivery_reversed(session: Session, issue: Document) -> None:
    """A reversed delivery of a dispatch plan puts its loads back on the road (in transit,
    deliverable again), and reopens the plan if that delivery had completed it."""
    loads = session.scalars(
        select(DispatchLoad).where(col(DispatchLoad.delivery_id) == issue.id).with_for_update()
    ).all()
    for load in loads:
        load.status = LoadStatus.IN_TRANSIT.value
        load.delivery_id = None
        load.delivered_at = None
    plans = {load.plan_id for load in loads}
    for plan in session.scalars(select(DispatchPlan).where(col(DispatchPlan.id).in_(plans))):
        if plan.status == DispatchStatus.COMPLETED:
            plan.status = DispatchStatus.APPROVED.value
            plan.closed_at = None
    session.flush()
