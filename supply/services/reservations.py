"""Holding stock for a plan: reserve, release, and consume (issue what was held)."""

from datetime import date

from sqlalchemy import select
from sqlmodel import Session

from supply import ledger
from supply.db import utcnow
from supply.errors import DocumentState, InvalidInput, NotFound
from supply.ledger import Line, Posted
from supply.limits import NOTE_MAX, REFERENCE_MAX, check_optional_text
from supply.models import DocumentKind, LocationKind, Reservation, ReservationStatus
from supply.services.lookup import active_depot, item_by_code, virtual
from supply.services.stock import Meta, _draft, _positive, _take


def reserve(
    session: Session,
    *,
    depot: str,
    item: str,
    qty: int,
    lot: str | None = None,
    plan_ref: str | None = None,
    note: str | None = None,
    today: date | None = None,
) -> list[Reservation]:
    """Hold available stock (FEFO over usable lots when no lot is named); never expired lots."""
    _positive(qty)
    check_optional_text("plan_ref", plan_ref, REFERENCE_MAX)
    check_optional_text("note", note, NOTE_MAX, multiline=True)
    loc = active_depot(session, depot)
    it = item_by_code(session, item)
    taken = _take(session, loc, it, qty, lot, allow_expired=False, today=today or date.today())
    out: list[Reservation] = []
    for batch, units in taken:
        ledger.hold(session, (loc.id, it.id, batch.id), units)  # type: ignore[arg-type]
        res = Reservation(
            location_id=loc.id,  # type: ignore[arg-type]
            item_id=it.id,  # type: ignore[arg-type]
            batch_id=batch.id,  # type: ignore[arg-type]
            qty=units,
            status=ReservationStatus.ACTIVE.value,
            plan_ref=plan_ref,
            note=note,
            created_at=utcnow(),
        )
        session.add(res)
        out.append(res)
    session.flush()
    return out


def _active(session: Session, reservation_id: int) -> Reservation:
    res = session.scalars(
        select(Reservation).where(Reservation.id == reservation_id).with_for_update()
    ).first()
    if res is None:
        raise NotFound("reservation", str(reservation_id))
    if res.status != ReservationStatus.ACTIVE:
        raise DocumentState("reservation", f"reservation {reservation_id} is {res.status}")
    return res


def release(session: Session, reservation_id: int) -> Reservation:
    """Give back what a reservation still holds."""
    res = _active(session, reservation_id)
    ledger.unhold(session, (res.location_id, res.item_id, res.batch_id), res.qty)
    res.qty = 0
    res.status = ReservationStatus.RELEASED.value
    res.closed_at = utcnow()
    session.flush()
    return res


def consume(
    session: Session, reservation_id: int, *, qty: int | None = None, meta: Meta = Meta()
) -> Posted:
    """Issue held stock to `distributed`; the rest (if `qty` is partial) stays held."""
    res = _active(session, reservation_id)
    units = res.qty if qty is None else qty
    _positive(units)
    if units > res.qty:
        raise InvalidInput("qty", f"reservation {reservation_id} holds {res.qty}, not {units}")
    key = (res.location_id, res.item_id, res.batch_id)
    ledger.unhold(session, key, units)
    out = virtual(session, LocationKind.DISTRIBUTED)
    lines = [
        Line(res.location_id, res.item_id, res.batch_id, -units),
        Line(out.id, res.item_id, res.batch_id, units),  # type: ignore[arg-type]
    ]
    posted = ledger.post(session, _draft(DocumentKind.RESERVATION_ISSUE, lines, meta))
    res.qty -= units
    res.consumed_qty += units
    if res.qty == 0:
        res.status = ReservationStatus.CONSUMED.value
        res.closed_at = utcnow()
    session.flush()
    return posted
