"""Holding stock for a plan: reserve, release, and consume (issue what was held)."""

from datetime import date

from sqlmodel import Session, col, select

from supply import ledger
from supply.db import utcnow
from supply.errors import DocumentState, InvalidInput, NotFound
from supply.ledger import Key, Line, Posted
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
    out = [
        hold(session, (loc.id, it.id, batch.id), units, plan_ref=plan_ref, note=note)  # type: ignore[arg-type]
        for batch, units in taken
    ]
    session.flush()
    return out


def hold(
    session: Session,
    key: Key,
    qty: int,
    *,
    plan_ref: str | None = None,
    note: str | None = None,
) -> Reservation:
    """Hold `qty` units of one lot at one depot, by ids: the one writer of reservations
    (`reserve` and plan approval both come here, once their codes are resolved).

    Raises
    ------
    InsufficientStock
        Fewer units are available (on hand − reserved) than `qty`; checked in SQL.
    """
    _positive(qty)
    ledger.hold(session, key, qty)
    res = Reservation(
        location_id=key[0],
        item_id=key[1],
        batch_id=key[2],
        qty=qty,
        status=ReservationStatus.ACTIVE.value,
        plan_ref=plan_ref,
        note=note,
        created_at=utcnow(),
    )
    session.add(res)
    session.flush()
    return res


def use(session: Session, res: Reservation, units: int) -> None:
    """Record that `units` of a reservation left the depot (issued, or departed on a truck):
    its hold is given back to the balance, and it closes when nothing is left. The caller
    posts the document that moves the goods."""
    ledger.unhold(session, (res.location_id, res.item_id, res.batch_id), units)
    res.qty -= units
    res.consumed_qty += units
    if res.qty == 0:
        res.status = ReservationStatus.CONSUMED.value
        res.closed_at = utcnow()


def _active(session: Session, reservation_id: int) -> Reservation:
    res = session.scalars(
        select(Reservation).where(col(Reservation.id) == reservation_id).with_for_update()
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
    use(session, res, units)
    out = virtual(session, LocationKind.DISTRIBUTED)
    lines = [
        Line(res.location_id, res.item_id, res.batch_id, -units),
        Line(out.id, res.item_id, res.batch_id, units),  # type: ignore[arg-type]
    ]
    posted = ledger.post(session, _draft(DocumentKind.RESERVATION_ISSUE, lines, meta))
    session.flush()
    return posted
