"""Mutual aid between neighbouring jurisdictions (跨区域调拨/借用): the one writer of loans.

A borrower's people ask a neighbour for items (`request_loan`); the lender's people approve
it, fully or partly, naming the depot the goods leave from (`approve_loan`), or refuse it
with a reason (`refuse_loan`). Approval posts one `aid_loan` document: the lender's own
lots (never lots without a recorded owner) go to the borrower's depot and stay the
lender's, so the borrower's keepers cannot release them. The borrower then sends them back
(`return_loan`, an `aid_return` document to the depot they came from) or keeps and pays
for them at each lot's unit cost (`settle_loan`, an `aid_settlement` document: the
lender's lot leaves the depot and the same goods come in as a lot of the borrower's). A
loan whose lots are all back or settled is closed.

Each write is one transaction (the caller's) and records the acting user. A decision
flips the loan's status with a conditional update, so a loan approved twice, even at the
same moment, moves its stock once; the second approval is refused (`DocumentState`).
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import select, update
from sqlmodel import Session, col

from supply import ledger
from supply.db import utcnow
from supply.errors import DocumentState, InvalidInput, OutOfScope
from supply.ledger import Line, Posted
from supply.limits import (
    CODE_MAX,
    NAME_MAX,
    NOTE_MAX,
    check_optional_text,
    check_qty,
    check_text,
)
from supply.models import (
    AidLoan,
    AidLoanLine,
    AidLoanLot,
    AidSettlement,
    Batch,
    Document,
    DocumentKind,
    Funding,
    Item,
    Jurisdiction,
    LoanStatus,
    LocationKind,
    Ownership,
    User,
)
from supply.services.jurisdictions import jurisdiction_by_code, neighbour_ids, subtree_ids
from supply.services.loan_views import LoanView, loan_by_number, view_loan
from supply.services.lookup import active_depot, batch_for_receipt, item_by_code, virtual
from supply.services.stock import Meta, _draft, _take

#: Loan numbers: LN-000001, from the ledger's gapless counters.
LOAN_PREFIX = "LN"
_CENT = Decimal("0.01")
#: The outside side of a settlement: the lender's lot is sold out of the reserve, and the
#: borrower's comes in from outside, as a purchase does.
_SETTLEMENT_SIDE = LocationKind.SUPPLIER


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acts: their name (recorded on every write) and jurisdiction (None: the whole
    bureau, as the CLI acts)."""

    name: str
    jurisdiction_id: int | None = None

    @classmethod
    def of(cls, user: User) -> "Actor":
        return cls(user.username, user.jurisdiction_id)


def _in_scope(session: Session, actor: Actor, party_id: int, role: str, code: str) -> None:
    if actor.jurisdiction_id is None:
        return
    if party_id not in subtree_ids(session, actor.jurisdiction_id):
        raise OutOfScope(
            "loan", f"{actor.name} is not one of {role} {code}'s people; only they may do this"
        )


def _quantities(
    field: str, wanted: Mapping[str, int], allowed: Mapping[str, int], *, zero: bool
) -> dict[str, int]:
    """Quantities per item named in `wanted`, each within `allowed` (by item code)."""
    for code, qty in wanted.items():
        if code not in allowed:
            raise InvalidInput(field, f"item {code} is not part of this loan")
        check_qty(field, qty, allow_zero=zero)
        if qty > allowed[code]:
            raise InvalidInput(field, f"item {code}: {qty} is more than the {allowed[code]} due")
    return dict(wanted)


def request_loan(
    session: Session,
    *,
    borrower: str,
    lender: str,
    destination: str,
    lines: Sequence[tuple[str, int]],
    disaster: str,
    needed_by: date,
    note: str | None = None,
    actor: Actor,
) -> LoanView:
    """The borrower asks a neighbour for items, to arrive at one of its depots.

    Raises
    ------
    InvalidInput
        No line, an item twice, a quantity not positive, the lender not a neighbour of the
        borrower, or the destination not one of the borrower's depots.
    NotFound
        An unknown jurisdiction, depot or item.
    OutOfScope
        The actor is not one of the borrower's people.
    """
    check_text("disaster", disaster, NAME_MAX)
    check_optional_text("note", note, NOTE_MAX, multiline=True)
    taker = jurisdiction_by_code(session, borrower)
    giver = jurisdiction_by_code(session, lender)
    assert taker.id is not None
    assert giver.id is not None
    _in_scope(session, actor, taker.id, "borrower", taker.code)
    if giver.id not in neighbour_ids(session, taker.id):
        raise InvalidInput(
            "lender", f"{giver.code} is not a neighbour of {taker.code}; aid is between neighbours"
        )
    depot = active_depot(session, destination, field="destination")
    if depot.jurisdiction_id not in subtree_ids(session, taker.id):
        raise InvalidInput("destination", f"depot {destination} is not one of {taker.code}'s")
    if not lines:
        raise InvalidInput("lines", "ask for at least one item")
    items: dict[int, int] = {}
    for code, qty in lines:
        found = item_by_code(session, code)
        check_qty("qty", qty)
        assert found.id is not None
        if found.id in items:
            raise InvalidInput("lines", f"item {code} is asked for twice")
        items[found.id] = qty
    loan = AidLoan(
        number=ledger.next_number(session, LOAN_PREFIX),
        status=LoanStatus.REQUESTED.value,
        borrower_id=taker.id,
        lender_id=giver.id,
        destination_id=depot.id,  # type: ignore[arg-type]
        disaster=disaster,
        needed_by=needed_by,
        note=note,
        requested_by=actor.name,
        requested_at=utcnow(),
    )
    session.add(loan)
    session.flush()
    assert loan.id is not None
    for item_id, qty in items.items():
        session.add(AidLoanLine(loan_id=loan.id, item_id=item_id, requested_qty=qty))
    session.flush()
    return view_loan(session, loan.number)


def _decide(
    session: Session, loan: AidLoan, status: LoanStatus, actor: Actor, **values: object
) -> None:
    """Flip a requested loan to `status`, or refuse if another decision came first."""
    flipped = session.execute(
        update(AidLoan)
        .where(col(AidLoan.id) == loan.id, col(AidLoan.status) == LoanStatus.REQUESTED.value)
        .values(status=status.value, decided_by=actor.name, decided_at=utcnow(), **values)
        .execution_options(synchronize_session=False)
    )
    if flipped.rowcount != 1:  # type: ignore[attr-defined]
        session.expire(loan)
        raise DocumentState("loan", f"loan {loan.number} is already {loan.status}")
    session.expire(loan)


def _code(session: Session, jurisdiction_id: int) -> str:
    return session.get_one(Jurisdiction, jurisdiction_id).code


def approve_loan(
    session: Session,
    number: str,
    *,
    source: str,
    approved: Mapping[str, int] | None = None,
    actor: Actor,
) -> LoanView:
    """The lender grants the loan: all that was asked, or `approved` units per item code
    (an item left out gets what was asked; 0 grants none of it), sent from `source`.

    The lender's own lots at `source` leave first expiry first; they stay the lender's.

    Raises
    ------
    DocumentState
        The loan was already approved or refused.
    InvalidInput
        An item not asked for, more than was asked, nothing granted at all, or a source
        depot not of the lender.
    OutOfScope
        The actor is not one of the lender's people.
    InsufficientStock
        The lender's usable lots at `source` hold less than is granted.
    """
    loan = loan_by_number(session, number, lock=True)
    lender = _code(session, loan.lender_id)
    _in_scope(session, actor, loan.lender_id, "lender", lender)
    if loan.status != LoanStatus.REQUESTED:
        raise DocumentState("loan", f"loan {number} is already {loan.status}")
    depot = active_depot(session, source, field="source")
    if depot.jurisdiction_id not in subtree_ids(session, loan.lender_id):
        raise InvalidInput("source", f"depot {source} is not one of {lender}'s")
    asked = _lines(session, loan)
    grant = {code: line.requested_qty for code, (line, _) in asked.items()}
    grant.update(_quantities("approved", approved or {}, grant, zero=True))
    if not any(grant.values()):
        raise InvalidInput("approved", "grant at least one unit, or refuse the loan")
    _decide(session, loan, LoanStatus.APPROVED, actor, source_id=depot.id)
    lender_lots = subtree_ids(session, loan.lender_id)
    today = date.today()
    lines: list[Line] = []
    lots: list[AidLoanLot] = []
    for code, (line, item) in asked.items():
        line.approved_qty = grant[code]
        session.add(line)
        if not grant[code]:
            continue
        taken = _take(
            session,
            depot,
            item,
            grant[code],
            None,
            allow_expired=False,
            today=today,
            owners=lender_lots,
            owned_only=True,
        )
        for batch, units in taken:
            assert batch.id is not None
            assert item.id is not None
            lines.append(Line(depot.id, item.id, batch.id, -units))  # type: ignore[arg-type]
            lines.append(Line(loan.destination_id, item.id, batch.id, units))
            lots.append(
                AidLoanLot(loan_id=loan.id, item_id=item.id, batch_id=batch.id, lent_qty=units)  # type: ignore[arg-type]
            )
    posted = _post(session, DocumentKind.AID_LOAN, lines, loan, actor, key=f"aid:{number}")
    session.add_all(lots)
    session.execute(
        update(AidLoan)
        .where(col(AidLoan.id) == loan.id)
        .values(document_id=posted.id)
        .execution_options(synchronize_session=False)
    )
    session.flush()
    session.expire(loan)
    return view_loan(session, number)


def refuse_loan(session: Session, number: str, *, reason: str, actor: Actor) -> LoanView:
    """The lender declines the loan, saying why; nothing moves.

    Raises
    ------
    DocumentState
        The loan was already approved or refused.
    OutOfScope
        The actor is not one of the lender's people.
    """
    check_text("reason", reason, 500)
    loan = loan_by_number(session, number, lock=True)
    _in_scope(session, actor, loan.lender_id, "lender", _code(session, loan.lender_id))
    _decide(session, loan, LoanStatus.REFUSED, actor, refusal_reason=reason)
    return view_loan(session, number)


def _lines(session: Session, loan: AidLoan) -> dict[str, tuple[AidLoanLine, Item]]:
    rows = session.execute(
        select(AidLoanLine, Item)
        .join(Item, col(Item.id) == col(AidLoanLine.item_id))
        .where(col(AidLoanLine.loan_id) == loan.id)
        .order_by(col(Item.code))
    ).all()
    return {item.code: (line, item) for line, item in rows}


def _out_lots(session: Session, loan: AidLoan) -> list[tuple[AidLoanLot, Batch, str]]:
    """The loan's lots with units still out, first expiry first (as they would be used)."""
    rows = session.execute(
        select(AidLoanLot, Batch, col(Item.code))
        .join(Batch, col(Batch.id) == col(AidLoanLot.batch_id))
        .join(Item, col(Item.id) == col(AidLoanLot.item_id))
        .where(
            col(AidLoanLot.loan_id) == loan.id,
            col(AidLoanLot.returned_qty) + col(AidLoanLot.settled_qty) < col(AidLoanLot.lent_qty),
        )
        .order_by(col(Item.code), col(Batch.expires_on), col(Batch.lot))
    ).all()
    return [(lot, batch, code) for lot, batch, code in rows]


def _open_for_borrower(session: Session, number: str, actor: Actor) -> AidLoan:
    loan = loan_by_number(session, number, lock=True)
    _in_scope(session, actor, loan.borrower_id, "borrower", _code(session, loan.borrower_id))
    if loan.status != LoanStatus.APPROVED:
        raise DocumentState("loan", f"loan {number} is {loan.status}; nothing of it is out")
    return loan


def _portions(
    session: Session, loan: AidLoan, wanted: Mapping[str, int] | None, field: str
) -> list[tuple[AidLoanLot, Batch, int]]:
    """How many units of each out lot a return or settlement takes: all that is out, or
    `wanted` units per item code, lot by lot."""
    out = _out_lots(session, loan)
    due: dict[str, int] = {}
    for lot, _, code in out:
        due[code] = due.get(code, 0) + lot.lent_qty - lot.returned_qty - lot.settled_qty
    if not due:
        raise DocumentState("loan", f"loan {loan.number} has nothing out")
    left = _quantities(field, wanted, due, zero=False) if wanted is not None else dict(due)
    if not any(left.values()):
        raise InvalidInput(field, "name at least one unit")
    portions: list[tuple[AidLoanLot, Batch, int]] = []
    for lot, batch, code in out:
        units = min(left.get(code, 0), lot.lent_qty - lot.returned_qty - lot.settled_qty)
        if units:
            portions.append((lot, batch, units))
            left[code] -= units
    return portions


def return_loan(
    session: Session, number: str, *, quantities: Mapping[str, int] | None = None, actor: Actor
) -> LoanView:
    """The borrower sends lent goods back to the depot they came from: all that is out, or
    `quantities` per item code. The loan closes once nothing is out.

    Raises
    ------
    DocumentState
        The loan is not approved, or nothing of it is out.
    InvalidInput
        An item not lent, or more than is out.
    OutOfScope
        The actor is not one of the borrower's people.
    InsufficientStock
        The borrower's depot no longer holds what is to go back.
    """
    loan = _open_for_borrower(session, number, actor)
    assert loan.source_id is not None
    lines: list[Line] = []
    for lot, _batch, units in _portions(session, loan, quantities, "quantities"):
        lines.append(Line(loan.destination_id, lot.item_id, lot.batch_id, -units))
        lines.append(Line(loan.source_id, lot.item_id, lot.batch_id, units))
        lot.returned_qty += units
        session.add(lot)
    _post(session, DocumentKind.AID_RETURN, lines, loan, actor)
    return _close_if_done(session, loan)


def settle_loan(
    session: Session, number: str, *, quantities: Mapping[str, int] | None = None, actor: Actor
) -> LoanView:
    """The borrower keeps lent goods and pays for them at each lot's unit cost: all that is
    out, or `quantities` per item code. The goods become a lot of the borrower's (the
    lender's lot code followed by `/` and the borrower's code), released by its people.

    Raises
    ------
    DocumentState
        The loan is not approved, or nothing of it is out.
    InvalidInput
        An item not lent, more than is out, or a lot with no unit cost recorded (return
        it instead, or record its cost).
    OutOfScope
        The actor is not one of the borrower's people.
    InsufficientStock
        The borrower's depot no longer holds the goods.
    """
    loan = _open_for_borrower(session, number, actor)
    borrower = session.get_one(Jurisdiction, loan.borrower_id)
    outside = virtual(session, _SETTLEMENT_SIDE)
    lines: list[Line] = []
    records: list[AidSettlement] = []
    now = utcnow()
    for lot, batch, units in _portions(session, loan, quantities, "quantities"):
        if batch.unit_cost is None:
            raise InvalidInput(
                "unit_cost",
                f"lot {batch.lot} has no unit cost recorded; return it, or record its cost",
            )
        mine = _borrowers_lot(session, batch, borrower)
        assert mine.id is not None
        assert outside.id is not None
        lines += [
            Line(loan.destination_id, lot.item_id, lot.batch_id, -units),
            Line(outside.id, lot.item_id, lot.batch_id, units),
            Line(outside.id, lot.item_id, mine.id, -units),
            Line(loan.destination_id, lot.item_id, mine.id, units),
        ]
        lot.settled_qty += units
        session.add(lot)
        records.append(
            AidSettlement(
                loan_id=loan.id,  # type: ignore[arg-type]
                document_id=0,
                batch_id=lot.batch_id,
                new_batch_id=mine.id,
                qty=units,
                unit_cost=batch.unit_cost,
                amount=(batch.unit_cost * units).quantize(_CENT, ROUND_HALF_UP),
                actor=actor.name,
                settled_at=now,
            )
        )
    posted = _post(session, DocumentKind.AID_SETTLEMENT, lines, loan, actor)
    for record in records:
        record.document_id = posted.id
        session.add(record)
    session.flush()
    return _close_if_done(session, loan)


def _borrowers_lot(session: Session, batch: Batch, borrower: Jurisdiction) -> Batch:
    lot = f"{batch.lot}/{borrower.code}"
    if len(lot) > CODE_MAX:
        raise InvalidInput("lot", f"lot {batch.lot} is too long to be settled as {lot}")
    item = session.get_one(Item, batch.item_id)
    return batch_for_receipt(
        session,
        item,
        lot,
        expires_on=batch.expires_on,
        produced_on=batch.produced_on,
        supplier=batch.supplier,
        unit_cost=batch.unit_cost,
        ownership=Ownership(owner_id=borrower.id, funding=Funding.FISCAL),
    )


def _post(
    session: Session,
    kind: DocumentKind,
    lines: list[Line],
    loan: AidLoan,
    actor: Actor,
    *,
    key: str | None = None,
) -> Posted:
    meta = Meta(actor=actor.name, reference=loan.number, idempotency_key=key)
    draft = _draft(kind, lines, meta, destination_id=loan.destination_id)
    posted = ledger.post(session, draft)
    if posted.replayed:
        raise DocumentState("loan", f"loan {loan.number} already moved as {posted.number}")
    return posted


def refuse_reversal(_session: Session, document: Document) -> None:
    """Aid documents are undone through their loan (a return), not by a reversal, which
    would leave the loan's record of what is out wrong."""
    raise DocumentState(
        "document",
        f"{document.number} moved stock under loan {document.reference}; "
        "return the goods through the loan instead",
    )


def _close_if_done(session: Session, loan: AidLoan) -> LoanView:
    session.flush()
    if not _out_lots(session, loan):
        session.execute(
            update(AidLoan)
            .where(col(AidLoan.id) == loan.id)
            .values(status=LoanStatus.CLOSED.value)
            .execution_options(synchronize_session=False)
        )
        session.expire(loan)
    return view_loan(session, loan.number)
