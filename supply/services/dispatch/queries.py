"""Finding approved plans and their loads, and reading them back with codes."""

from collections import defaultdict
from collections.abc import Collection
from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from supply.errors import InvalidInput, NotFound
from supply.models import (
    Batch,
    DispatchLoad,
    DispatchLoadRead,
    DispatchPlan,
    DispatchPlanRead,
    Document,
    DocumentKind,
    DocumentStatus,
    Item,
    LoadStatus,
    Location,
)

Key = tuple[int, int, int]  # (depot id, item id, batch id)


def plan_by_ref(session: Session, ref: str, *, lock: bool = False) -> DispatchPlan:
    """A plan by its number (DP-000001) or the content hash of its document."""
    stmt = select(DispatchPlan).where(
        (col(DispatchPlan.number) == ref) | (col(DispatchPlan.content_hash) == ref)
    )
    if lock:
        stmt = stmt.with_for_update()
    plan = session.scalars(stmt).first()
    if plan is None:
        shown = f"{ref[:12]}… (a plan file never approved)" if len(ref) == 64 else ref
        raise NotFound("plan", shown)
    return plan


def plan_loads(
    session: Session,
    plan: DispatchPlan,
    *,
    status: LoadStatus | None = None,
    vehicle: str | None = None,
    trip: int | None = None,
    stop: int | None = None,
    lock: bool = False,
) -> list[DispatchLoad]:
    stmt = select(DispatchLoad).where(col(DispatchLoad.plan_id) == plan.id)
    if status is not None:
        stmt = stmt.where(col(DispatchLoad.status) == status.value)
    if vehicle is not None:
        stmt = stmt.where(col(DispatchLoad.vehicle) == vehicle)
    if trip is not None:
        stmt = stmt.where(col(DispatchLoad.trip) == trip)
    if stop is not None:
        stmt = stmt.where(col(DispatchLoad.stop) == stop)
    if lock:
        stmt = stmt.with_for_update()
    return list(session.scalars(stmt.order_by(col(DispatchLoad.id))))


def needs_routes(plan: DispatchPlan) -> None:
    if not plan.routed:
        raise InvalidInput(
            "plan",
            f"plan {plan.number} has no routes (made with --no-routes): its stock is held, "
            "but departing and delivering need vehicles, trips and stops; approve a routed "
            f"plan that replaces {plan.number}",
        )


def departure_problem(session: Session, load: DispatchLoad) -> str | None:
    """Why a departed load's goods are no longer on the road, if they are not."""
    doc = session.get(Document, load.departure_id)
    assert doc is not None
    if doc.status != DocumentStatus.POSTED:
        return f"its departure {doc.number} was reversed"
    back = session.scalars(
        select(col(Document.number)).where(
            col(Document.origin_id) == doc.id,
            col(Document.kind) == DocumentKind.TRANSFER_ARRIVAL.value,
            col(Document.status) == DocumentStatus.POSTED.value,
        )
    ).first()
    return f"its departure {doc.number} came back to the depot as {back}" if back else None


def _load_views(session: Session, where: Any) -> list[DispatchLoadRead]:
    depot = (
        select(col(Location.code))
        .where(col(Location.id) == col(DispatchLoad.depot_id))
        .scalar_subquery()
    )
    departure = (
        select(col(Document.number))
        .where(col(Document.id) == col(DispatchLoad.departure_id))
        .scalar_subquery()
    )
    delivery = (
        select(col(Document.number))
        .where(col(Document.id) == col(DispatchLoad.delivery_id))
        .scalar_subquery()
    )
    rows = session.execute(
        select(
            DispatchLoad,
            col(DispatchPlan.number),
            depot,
            col(Item.code),
            col(Batch.lot),
            departure,
            delivery,
        )
        .join(DispatchPlan, col(DispatchPlan.id) == col(DispatchLoad.plan_id))
        .join(Item, col(Item.id) == col(DispatchLoad.item_id))
        .join(Batch, col(Batch.id) == col(DispatchLoad.batch_id))
        .where(where)
        .order_by(
            col(DispatchLoad.plan_id),
            col(DispatchLoad.vehicle),
            col(DispatchLoad.stop),
            col(DispatchLoad.id),
        )
    ).all()
    problems: dict[int, str | None] = {}
    views: list[DispatchLoadRead] = []
    for ld, number, depot_code, item, lot, dep, dlv in rows:
        problem = None
        if ld.status == LoadStatus.IN_TRANSIT:
            if ld.departure_id not in problems:
                problems[ld.departure_id] = departure_problem(session, ld)
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
        select(col(DispatchPlan.number)).where(col(DispatchPlan.replaced_by_id) == p.id)
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
        loads=_load_views(session, col(DispatchLoad.plan_id) == p.id),
    )


def list_plans(session: Session) -> list[DispatchPlanRead]:
    """Every approved plan, newest first, with its loads."""
    numbers = session.scalars(
        select(col(DispatchPlan.number)).order_by(col(DispatchPlan.id).desc())
    )
    return [plan_status(session, number) for number in numbers.all()]


def loads_on_the_road(
    session: Session, *, shelters: Collection[str] | None = None
) -> list[DispatchLoadRead]:
    """Loads that have departed and not been delivered (nor turned back): what a re-plan
    must leave alone, since they are already on their way to their shelters."""
    views = _load_views(session, col(DispatchLoad.status) == LoadStatus.IN_TRANSIT.value)
    return [v for v in views if v.problem is None and (shelters is None or v.shelter in shelters)]


def held_by(session: Session, plan: DispatchPlan) -> dict[Key, int]:
    """Units a plan's undeparted loads hold, per key (what cancelling it would release)."""
    held: dict[Key, int] = defaultdict(int)
    for load in plan_loads(session, plan, status=LoadStatus.RESERVED):
        held[(load.depot_id, load.item_id, load.batch_id)] += load.qty
    return held
