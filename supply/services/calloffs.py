"""Call-off (征用) of agreement reserves, their receipt into a depot, and settlement (结算).

A call-off is an *expected receipt*: nothing moves in the ledger until the goods arrive and
`receive` posts an ordinary receipt document through `stock.receive`. What is owed is the
received quantity at the prices copied onto the call-off when it was made; settling marks
those call-offs paid, per supplier, in one settlement each (先征用后结算).
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, col

from supply import ledger
from supply.errors import Conflict, DocumentState, InvalidInput, NotFound
from supply.ledger import Posted
from supply.models import (
    Agreement,
    CallOff,
    CallOffStatus,
    Document,
    Item,
    Location,
    Settlement,
    Supplier,
)
from supply.services.agreements import (
    AgreementState,
    agreement_by_code,
    hours_to_deliver,
    state_of,
    supplier_by_code,
    used_qty,
    validity_end,
)
from supply.services.lookup import active_depot
from supply.services.stock import Meta, _positive, issue, receive

CALL_OFF_PREFIX = "CO"
SETTLEMENT_PREFIX = "SE"


@dataclass(frozen=True, slots=True)
class CallOffResult:
    call_off: CallOff
    replayed: bool = False


def _refuse_unless_callable(agreement: Agreement, remaining: int, qty: int, now: datetime) -> None:
    """The reasons a call-off is refused, in the order a keeper would want to hear them."""
    today = now.date()
    state = state_of(agreement, remaining, today)
    code = agreement.code
    if state in (AgreementState.SUSPENDED, AgreementState.TERMINATED):
        raise Conflict("agreement", f"agreement {code} is {state.value}")
    if state == AgreementState.NOT_YET_VALID:
        raise Conflict(
            "agreement", f"agreement {code} is not valid until {agreement.valid_from.isoformat()}"
        )
    if state == AgreementState.EXPIRED:
        raise Conflict("agreement", f"agreement {code} expired on {agreement.valid_to.isoformat()}")
    if state == AgreementState.EXHAUSTED:
        raise Conflict(
            "agreement", f"agreement {code} is exhausted: all {agreement.qty} units called off"
        )
    if qty > remaining:
        raise Conflict(
            "qty",
            f"{qty} exceeds what is left under agreement {code}: "
            f"{remaining} of {agreement.qty} units",
        )
    due = now + timedelta(hours=float(hours_to_deliver(agreement, qty)))
    if due >= validity_end(agreement, now):
        raise Conflict(
            "agreement",
            f"agreement {code} expires on {agreement.valid_to.isoformat()}, before the delivery "
            f"would be due ({due.strftime('%Y-%m-%d %H:%M')}, "
            f"{_hours(hours_to_deliver(agreement, qty))} h after the call-off)",
        )


def _hours(value: Decimal) -> str:
    return f"{value.normalize():f}" if value == value.to_integral() else f"{value:.1f}"


def call_off(
    session: Session,
    *,
    agreement: str,
    qty: int,
    now: datetime,
    depot: str | None = None,
    meta: Meta = Meta(),
) -> CallOffResult:
    """Call off `qty` units under an agreement: an expected receipt due after its lead time
    (and, for a capacity reserve, the production time), at `depot` or the agreement's own.

    Raises
    ------
    Conflict
        If the agreement is suspended, terminated, not yet valid, expired or exhausted; if
        `qty` exceeds what is left under it; or if it ends before the delivery is due.
    """
    if now.tzinfo is None:
        raise InvalidInput("now", "needs a time zone")
    _positive(qty)
    if meta.idempotency_key:
        earlier = session.scalars(
            select(CallOff).where(col(CallOff.idempotency_key) == meta.idempotency_key)
        ).first()
        if earlier is not None:
            if earlier.agreement_id != agreement_by_code(session, agreement).id:
                raise Conflict(
                    "key",
                    f"key {meta.idempotency_key!r} was used for {earlier.number} "
                    "under another agreement",
                )
            return CallOffResult(earlier, replayed=True)
    # Locked so that two keepers calling off the same agreement cannot both take the last units.
    contract = agreement_by_code(session, agreement, lock=True)
    target = (
        active_depot(session, depot, field="to")
        if depot is not None
        else session.get(Location, contract.depot_id)
    )
    assert target is not None
    remaining = contract.qty - used_qty(session, [contract.id]).get(contract.id, 0)  # type: ignore[list-item, arg-type]
    _refuse_unless_callable(contract, remaining, qty, now)
    row = CallOff(
        number=ledger.next_number(session, CALL_OFF_PREFIX),
        agreement_id=contract.id,  # type: ignore[arg-type]
        depot_id=target.id,  # type: ignore[arg-type]
        qty=qty,
        status=CallOffStatus.EXPECTED.value,
        called_at=now,
        due_at=now + timedelta(hours=float(hours_to_deliver(contract, qty))),
        unit_price=contract.unit_price,
        compensation_per_unit=contract.compensation_per_unit,
        actor=meta.actor,
        reference=meta.reference,
        note=meta.note,
        idempotency_key=meta.idempotency_key,
    )
    session.add(row)
    session.flush()
    return CallOffResult(row)


def call_off_by_number(session: Session, number: str, *, lock: bool = False) -> CallOff:
    stmt = select(CallOff).where(col(CallOff.number) == number)
    if lock:
        stmt = stmt.with_for_update()
    row = session.scalars(stmt).first()
    if row is None:
        raise NotFound("call-off", number)
    return row


def _still_expected(session: Session, row: CallOff) -> None:
    if row.status == CallOffStatus.EXPECTED:
        return
    if row.status == CallOffStatus.RECEIVED:
        doc = session.get(Document, row.receipt_id) if row.receipt_id else None
        shown = f" as {doc.number}" if doc else ""
        raise DocumentState("call-off", f"{row.number} was already received{shown}")
    raise DocumentState("call-off", f"{row.number} is {row.status}")


def receive_call_off(
    session: Session,
    number: str,
    *,
    lot: str,
    now: datetime,
    qty: int | None = None,
    expires_on: date | None = None,
    produced_on: date | None = None,
    meta: Meta = Meta(),
) -> tuple[CallOff, Posted]:
    """The called-off goods arrive: post a receipt into the call-off's depot and close it.
    A call-off for a shelter (made by a plan's approval) is also issued to that shelter in
    the same transaction: the supplier delivered there, and what is owed is the same.

    `qty` defaults to what was called off; less is a short delivery (the rest goes back to
    the agreement), more is refused. The batch records the supplier and the unit price.
    """
    row = call_off_by_number(session, number, lock=True)
    _still_expected(session, row)
    units = row.qty if qty is None else qty
    _positive(units)
    if units > row.qty:
        raise InvalidInput(
            "qty", f"{number} called off {row.qty} units; {units} cannot be received"
        )
    contract = session.get(Agreement, row.agreement_id)
    assert contract is not None
    supplier = session.get(Supplier, contract.supplier_id)
    item = session.get(Item, contract.item_id)
    depot = session.get(Location, row.depot_id)
    assert supplier is not None
    assert item is not None
    assert depot is not None
    posted = receive(
        session,
        depot=depot.code,
        item=item.code,
        qty=units,
        lot=lot,
        expires_on=expires_on,
        produced_on=produced_on,
        supplier=supplier.name,
        unit_cost=row.unit_price,
        today=now.date(),
        # No idempotency key: the conditional close below lets one receipt through, and a
        # reversed receipt reopens the call-off for a fresh one.
        meta=Meta(
            actor=meta.actor, occurred_at=now, reference=meta.reference or number, note=meta.note
        ),
    )
    closed = session.execute(
        update(CallOff)
        .where(col(CallOff.id) == row.id, col(CallOff.status) == CallOffStatus.EXPECTED.value)
        .values(
            status=CallOffStatus.RECEIVED.value,
            received_qty=units,
            received_at=now,
            receipt_id=posted.id,
        )
        .execution_options(synchronize_session=False)
    )
    if closed.rowcount != 1:  # type: ignore[attr-defined]
        raise DocumentState("call-off", f"{number} was received meanwhile")
    if row.shelter is not None:
        # Brought straight to the shelter: booked through the depot and handed over at once.
        issue(
            session,
            depot=depot.code,
            item=item.code,
            qty=units,
            lot=lot,
            allow_expired=True,
            today=now.date(),
            meta=Meta(
                actor=meta.actor,
                occurred_at=now,
                reference=number,
                note=f"shelter {row.shelter}; delivered by the supplier under {number}",
            ),
        )
    session.refresh(row)
    return row, posted


def cancel_call_off(session: Session, number: str) -> CallOff:
    """Withdraw a call-off whose goods have not arrived; its units return to the agreement."""
    row = call_off_by_number(session, number, lock=True)
    _still_expected(session, row)
    row.status = CallOffStatus.CANCELLED.value
    session.flush()
    return row


@dataclass(frozen=True, slots=True)
class ExpectedRow:
    number: str
    agreement: str
    supplier: str
    item: str
    depot: str
    qty: int
    called_at: datetime
    due_at: datetime
    overdue: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "agreement": self.agreement,
            "supplier": self.supplier,
            "item": self.item,
            "depot": self.depot,
            "qty": self.qty,
            "called_at": self.called_at.isoformat(),
            "due_at": self.due_at.isoformat(),
            "overdue": self.overdue,
        }


def expected(session: Session, *, now: datetime) -> list[ExpectedRow]:
    """Call-offs whose goods have not arrived yet, soonest due first."""
    rows = session.execute(
        select(CallOff, col(Agreement.code), col(Supplier.code), col(Item.code), col(Location.code))
        .join(Agreement, col(Agreement.id) == col(CallOff.agreement_id))
        .join(Supplier, col(Supplier.id) == col(Agreement.supplier_id))
        .join(Item, col(Item.id) == col(Agreement.item_id))
        .join(Location, col(Location.id) == col(CallOff.depot_id))
        .where(col(CallOff.status) == CallOffStatus.EXPECTED.value)
        .order_by(col(CallOff.due_at), col(CallOff.number))
    ).all()
    return [
        ExpectedRow(
            number=c.number,
            agreement=agreement,
            supplier=supplier,
            item=item,
            depot=depot,
            qty=c.qty,
            called_at=c.called_at,
            due_at=c.due_at,
            overdue=c.due_at < now,
        )
        for c, agreement, supplier, item, depot in rows
    ]


@dataclass(frozen=True, slots=True)
class OwedLine:
    call_off: str
    agreement: str
    item: str
    qty: int
    unit_price: Decimal
    compensation_per_unit: Decimal

    @property
    def goods(self) -> Decimal:
        return self.qty * self.unit_price

    @property
    def compensation(self) -> Decimal:
        return self.qty * self.compensation_per_unit


@dataclass(slots=True)
class Owed:
    """What the bureau owes one supplier for received, unsettled call-offs (yuan)."""

    supplier: str
    supplier_name: str
    lines: list[OwedLine] = field(default_factory=list)

    @property
    def qty(self) -> int:
        return sum(line.qty for line in self.lines)

    @property
    def goods(self) -> Decimal:
        return sum((line.goods for line in self.lines), Decimal(0))

    @property
    def compensation(self) -> Decimal:
        return sum((line.compensation for line in self.lines), Decimal(0))

    @property
    def total(self) -> Decimal:
        return self.goods + self.compensation

    def to_json(self) -> dict[str, Any]:
        return {
            "supplier": self.supplier,
            "supplier_name": self.supplier_name,
            "call_offs": len(self.lines),
            "qty": self.qty,
            "goods": str(self.goods),
            "compensation": str(self.compensation),
            "total": str(self.total),
            "lines": [
                {
                    "call_off": line.call_off,
                    "agreement": line.agreement,
                    "item": line.item,
                    "qty": line.qty,
                    "unit_price": str(line.unit_price),
                    "compensation_per_unit": str(line.compensation_per_unit),
                    "goods": str(line.goods),
                    "compensation": str(line.compensation),
                }
                for line in self.lines
            ],
        }


def _owed_rows(session: Session, supplier_id: int | None) -> list[Any]:
    stmt = (
        select(
            CallOff,
            col(Agreement.code),
            col(Item.code),
            col(Supplier.id),
            col(Supplier.code),
            col(Supplier.name),
        )
        .join(Agreement, col(Agreement.id) == col(CallOff.agreement_id))
        .join(Supplier, col(Supplier.id) == col(Agreement.supplier_id))
        .join(Item, col(Item.id) == col(Agreement.item_id))
        .where(
            col(CallOff.status) == CallOffStatus.RECEIVED.value,
            col(CallOff.settlement_id).is_(None),
            col(CallOff.received_qty) > 0,
        )
        .order_by(col(Supplier.code), col(CallOff.number))
    )
    if supplier_id is not None:
        stmt = stmt.where(col(Supplier.id) == supplier_id)
    return list(session.execute(stmt).all())


def owed(session: Session, *, supplier: str | None = None) -> list[Owed]:
    """Per supplier, what is owed: received quantity × (unit price + compensation per unit)."""
    supplier_id = supplier_by_code(session, supplier).id if supplier is not None else None
    by_supplier: dict[str, Owed] = {}
    for c, agreement, item, _sid, code, name in _owed_rows(session, supplier_id):
        entry = by_supplier.setdefault(code, Owed(code, name))
        entry.lines.append(
            OwedLine(
                call_off=c.number,
                agreement=agreement,
                item=item,
                qty=c.received_qty,
                unit_price=c.unit_price,
                compensation_per_unit=c.compensation_per_unit,
            )
        )
    return list(by_supplier.values())


@dataclass(frozen=True, slots=True)
class Settled:
    number: str
    supplier: str
    call_offs: int
    amount: Decimal


def settle(
    session: Session,
    *,
    now: datetime,
    supplier: str | None = None,
    reference: str | None = None,
    note: str | None = None,
    actor: str = "system",
) -> list[Settled]:
    """Mark what is owed as settled: one settlement per supplier, covering every received,
    unsettled call-off (of `supplier` only, when given). Returns nothing when nothing is owed.
    """
    supplier_id = supplier_by_code(session, supplier).id if supplier is not None else None
    groups: dict[int, list[tuple[CallOff, str]]] = defaultdict(list)
    for c, _agreement, _item, sid, code, _name in _owed_rows(session, supplier_id):
        groups[sid].append((c, code))
    done: list[Settled] = []
    for sid, lines in groups.items():
        amount = sum(
            (c.received_qty * (c.unit_price + c.compensation_per_unit) for c, _ in lines),  # type: ignore[operator]
            Decimal(0),
        )
        settlement = Settlement(
            number=ledger.next_number(session, SETTLEMENT_PREFIX),
            supplier_id=sid,
            settled_at=now,
            amount=amount,
            actor=actor,
            reference=reference,
            note=note,
        )
        session.add(settlement)
        session.flush()
        ids = [c.id for c, _ in lines]
        marked = session.execute(
            update(CallOff)
            .where(col(CallOff.id).in_(ids), col(CallOff.settlement_id).is_(None))
            .values(settlement_id=settlement.id)
            .execution_options(synchronize_session=False)
        )
        if marked.rowcount != len(ids):  # type: ignore[attr-defined]
            raise Conflict("settlement", "some of these call-offs were settled meanwhile")
        for c, _ in lines:  # keep the loaded rows true to the database, without a reload
            set_committed_value(c, "settlement_id", settlement.id)
        done.append(Settled(settlement.number, lines[0][1], len(ids), amount))
    return done


def on_receipt_reversed(session: Session, receipt: Document) -> None:
    """A reversed receipt of called-off goods puts its call-off back to expected, so it can be
    received again (or cancelled) and nothing is owed for it; once settled it cannot be."""
    row = session.scalars(
        select(CallOff).where(col(CallOff.receipt_id) == receipt.id).with_for_update()
    ).first()
    if row is None:
        return
    if row.settlement_id is not None:
        settlement = session.get(Settlement, row.settlement_id)
        raise DocumentState(
            "document",
            f"{receipt.number} received call-off {row.number}, settled in "
            f"{settlement.number if settlement else row.settlement_id}; it cannot be reversed",
        )
    row.status = CallOffStatus.EXPECTED.value
    row.received_qty = None
    row.received_at = None
    row.receipt_id = None
    session.flush()
