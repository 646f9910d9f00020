"""Approving a plan (reserve its lots, call off its agreement shipments: all or nothing) and
cancelling one (release what has not left, withdraw its call-offs)."""

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from supply import ledger
from supply.db import dialect_insert, utcnow
from supply.errors import Conflict, DocumentState, InvalidInput
from supply.models import (
    Agreement,
    Balance,
    Batch,
    CallOff,
    CallOffStatus,
    DispatchLoad,
    DispatchPlan,
    DispatchStatus,
    Item,
    LoadStatus,
    Location,
    LocationKind,
    is_expired,
)
from supply.services import calloffs, reservations
from supply.services.dispatch.document import PlannedAgreement, PlannedLoad, ReadPlan, read_plan
from supply.services.dispatch.queries import Key, held_by, plan_by_ref, plan_loads
from supply.services.lookup import active_depot, batch_by_lot, item_by_code
from supply.services.reservations import release
from supply.services.stock import Meta

PLAN_PREFIX = "DP"


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
    #: Loads of outside depots (not in the ledger): units by depot, not reserved.
    outside_qty: dict[str, int] = field(default_factory=dict)


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
            select(col(Balance.on_hand), col(Balance.reserved))
            .where(
                col(Balance.location_id) == key[0],
                col(Balance.item_id) == key[1],
                col(Balance.batch_id) == key[2],
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
    doc, outside = _outside_loads(session, doc)
    if not doc.loads:
        raise InvalidInput("plan", f"plan {doc.name} has no depot loads to reserve")
    earlier = session.scalars(
        select(DispatchPlan).where(col(DispatchPlan.content_hash) == doc.content_hash)
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
        .returning(col(DispatchPlan.id))
    ).scalar()
    if plan_id is None:  # approved by someone else since we looked
        raise Conflict("plan", f"plan {doc.name} was approved meanwhile")
    for old in olds:
        old.replaced_by_id = plan_id
    for key, ld in zip(keys, doc.loads, strict=True):
        # Codes were resolved once and availability checked under lock: hold by ids.
        res = reservations.hold(session, key, ld.qty, plan_ref=number, note=f"shelter {ld.shelter}")
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
        outside_qty=outside,
    )


def _outside_loads(session: Session, doc: ReadPlan) -> tuple[ReadPlan, dict[str, int]]:
    """The plan without the loads of its outside depots (sources of the plan the ledger
    does not know: a neighbouring region's, planned with `--outside-depots`), and their
    units by depot. A load from a depot that is neither in the ledger nor among the plan's
    sources stays, to be refused as unknown."""
    candidates = {ld.depot for ld in doc.loads} & doc.source_depots
    if not candidates:
        return doc, {}
    known = set(
        session.scalars(
            select(col(Location.code)).where(
                col(Location.code).in_(candidates),
                col(Location.kind) == LocationKind.DEPOT.value,
            )
        )
    )
    outside: dict[str, int] = defaultdict(int)
    kept: list[PlannedLoad] = []
    for ld in doc.loads:
        if ld.depot in candidates and ld.depot not in known:
            outside[ld.depot] += ld.qty
        else:
            kept.append(ld)
    return replace(doc, loads=tuple(kept)), dict(sorted(outside.items()))


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
            select(col(Agreement.code)).where(
                col(Agreement.code).in_({p.agreement for p in planned})
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
    held = plan_loads(session, p, status=LoadStatus.RESERVED, lock=True)
    for ld in held:
        release(session, ld.reservation_id)
        ld.status = LoadStatus.RELEASED.value
    road = plan_loads(session, p, status=LoadStatus.IN_TRANSIT)
    expected = session.scalars(
        select(col(CallOff.number))
        .where(col(CallOff.plan_id) == p.id, col(CallOff.status) == CallOffStatus.EXPECTED.value)
        .order_by(col(CallOff.number))
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
