"""Rotation (轮换) and write-off (核销): the only ways stock leaves other than relief.

A rotation is one document: the old batch goes out to the rotation outlet with a disposal
reason, and the replacement batch comes in. A write-off sends stock (expired, damaged,
lost) to the write-off location, with a reason. Neither may take stock held for a plan.
"""

from datetime import date

from sqlalchemy import select
from sqlmodel import Session, col

from supply import ledger
from supply.errors import Conflict, InvalidInput
from supply.ledger import Line, Posted
from supply.models import Balance, DisposalReason, DocumentKind, LocationKind
from supply.services.lookup import (
    active_depot,
    batch_by_lot,
    batch_for_receipt,
    item_by_code,
    virtual,
)
from supply.services.stock import Meta, _draft, _positive


def _reason(reason: str) -> DisposalReason:
    try:
        return DisposalReason(reason)
    except ValueError:
        known = ", ".join(r.value for r in DisposalReason)
        raise InvalidInput("reason", f"{reason!r} is not one of: {known}") from None


def _held(session: Session, depot_id: int, item_id: int, batch_id: int) -> tuple[int, int]:
    row = session.execute(
        select(col(Balance.on_hand), col(Balance.reserved))
        .where(
            col(Balance.location_id) == depot_id,
            col(Balance.item_id) == item_id,
            col(Balance.batch_id) == batch_id,
        )
        .with_for_update()
    ).first()
    return (row[0], row[1]) if row else (0, 0)


def _out_qty(depot: str, item: str, lot: str, qty: int | None, on_hand: int, reserved: int) -> int:
    """How much leaves: all that is not reserved by default; never reserved stock."""
    qty = on_hand - reserved if qty is None else qty
    _positive(qty)
    if qty > on_hand - reserved:
        if qty <= on_hand:
            raise Conflict(
                "qty",
                f"depot {depot}, item {item}, lot {lot}: {reserved} of {on_hand} are reserved "
                f"for a plan; taking {qty} would leave the reservation uncovered",
            )
        raise Conflict(
            "qty", f"depot {depot}, item {item}, lot {lot}: on hand {on_hand}, requested {qty}"
        )
    return qty


def rotate(
    session: Session,
    *,
    depot: str,
    item: str,
    lot: str,
    reason: str,
    new_lot: str,
    new_qty: int,
    new_expires_on: date | None = None,
    new_produced_on: date | None = None,
    qty: int | None = None,
    today: date | None = None,
    meta: Meta = Meta(),
) -> Posted:
    """Replace a batch: `qty` (default: all unreserved) of `lot` out, `new_qty` of `new_lot` in."""
    why = _reason(reason)
    _positive(new_qty, "new_qty")
    if new_lot == lot:
        raise InvalidInput("new_lot", "the replacement must be a different lot")
    loc = active_depot(session, depot)
    it = item_by_code(session, item)
    old = batch_by_lot(session, it, lot)
    on_hand, reserved = _held(session, loc.id, it.id, old.id)  # type: ignore[arg-type]
    out = _out_qty(depot, item, lot, qty, on_hand, reserved)
    new = batch_for_receipt(
        session, it, new_lot, expires_on=new_expires_on, produced_on=new_produced_on
    )
    today = today or date.today()
    if new.expires_on is not None and new.expires_on <= today:
        raise InvalidInput("new_expires", f"the replacement lot {new_lot} is already expired")
    outlet = virtual(session, LocationKind.ROTATION_OUTLET)
    supplier = virtual(session, LocationKind.SUPPLIER)
    lines = [
        Line(loc.id, it.id, old.id, -out),  # type: ignore[arg-type]
        Line(outlet.id, it.id, old.id, out),  # type: ignore[arg-type]
        Line(supplier.id, it.id, new.id, -new_qty),  # type: ignore[arg-type]
        Line(loc.id, it.id, new.id, new_qty),  # type: ignore[arg-type]
    ]
    draft = _draft(DocumentKind.ROTATION, lines, meta)
    draft.reason = why.value
    return ledger.post(session, draft)


def write_off(
    session: Session,
    *,
    depot: str,
    item: str,
    lot: str,
    reason: str,
    qty: int | None = None,
    meta: Meta = Meta(),
) -> Posted:
    """Write stock off (核销) with a reason; expired stock leaves this way."""
    why = _reason(reason)
    loc = active_depot(session, depot)
    it = item_by_code(session, item)
    batch = batch_by_lot(session, it, lot)
    on_hand, reserved = _held(session, loc.id, it.id, batch.id)  # type: ignore[arg-type]
    out = _out_qty(depot, item, lot, qty, on_hand, reserved)
    gone = virtual(session, LocationKind.WRITE_OFF)
    lines = [
        Line(loc.id, it.id, batch.id, -out),  # type: ignore[arg-type]
        Line(gone.id, it.id, batch.id, out),  # type: ignore[arg-type]
    ]
    draft = _draft(DocumentKind.WRITE_OFF, lines, meta)
    draft.reason = why.value
    return ledger.post(session, draft)
