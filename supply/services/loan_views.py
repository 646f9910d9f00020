"""Loans of mutual aid as shown: parties and depots by code, each item asked, approved,
lent, returned and settled, and what the borrower owes. Written by `supply.services.aid`
alone; read here by the API, the CLI and the writer itself (its answers)."""

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import select
from sqlmodel import Session, col

from supply.errors import NotFound
from supply.limits import check_code
from supply.models import (
    AidLoan,
    AidLoanLine,
    AidLoanLot,
    AidSettlement,
    Document,
    Item,
    Jurisdiction,
    LoanStatus,
    Location,
)
from supply.services.jurisdictions import jurisdiction_by_code


@dataclass(frozen=True, slots=True)
class LoanLineView:
    """One item of a loan: asked, approved, and what became of what was lent."""

    item: str
    requested: int
    approved: int | None
    lent: int
    returned: int
    settled: int
    #: Lent and neither returned nor settled: still out, still the lender's.
    outstanding: int


@dataclass(frozen=True, slots=True)
class LoanView:
    number: str
    status: str
    borrower: str
    lender: str
    destination: str
    source: str | None
    disaster: str
    needed_by: date
    note: str | None
    requested_by: str
    requested_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    refusal_reason: str | None
    document: str | None
    lines: tuple[LoanLineView, ...]
    #: What the borrower owes for settled goods, at the lots' unit costs.
    settled_amount: Decimal
    #: Approved for less than was asked.
    partial: bool


def loan_by_number(session: Session, number: str, *, lock: bool = False) -> AidLoan:
    check_code("loan", number)
    stmt = select(AidLoan).where(col(AidLoan.number) == number)
    if lock:
        stmt = stmt.with_for_update()
    loan = session.scalars(stmt).first()
    if loan is None:
        raise NotFound("loan", number)
    return loan


def view_loan(session: Session, number: str) -> LoanView:
    """A loan as shown: parties by code, lines with what was lent and what came back."""
    return _views(session, [loan_by_number(session, number)])[0]


def list_loans(
    session: Session,
    *,
    jurisdiction: str | None = None,
    status: LoanStatus | None = None,
) -> list[LoanView]:
    """Loans by number, those of `jurisdiction` (as borrower or lender) if named."""
    stmt = select(AidLoan).order_by(col(AidLoan.number))
    if jurisdiction is not None:
        party = jurisdiction_by_code(session, jurisdiction).id
        stmt = stmt.where((col(AidLoan.borrower_id) == party) | (col(AidLoan.lender_id) == party))
    if status is not None:
        stmt = stmt.where(col(AidLoan.status) == status.value)
    return _views(session, list(session.scalars(stmt)))


def _views(session: Session, loans: list[AidLoan]) -> list[LoanView]:
    if not loans:
        return []
    ids = [loan.id for loan in loans]
    codes = dict(session.execute(select(col(Jurisdiction.id), col(Jurisdiction.code))).all())
    depots = dict(
        session.execute(
            select(col(Location.id), col(Location.code)).where(
                col(Location.id).in_(
                    {loan.destination_id for loan in loans}
                    | {loan.source_id for loan in loans if loan.source_id is not None}
                )
            )
        ).all()
    )
    documents = dict(
        session.execute(
            select(col(Document.id), col(Document.number)).where(
                col(Document.id).in_({loan.document_id for loan in loans if loan.document_id})
            )
        ).all()
    )
    asked: dict[int, list[tuple[AidLoanLine, str]]] = {}
    for line, code in session.execute(
        select(AidLoanLine, col(Item.code))
        .join(Item, col(Item.id) == col(AidLoanLine.item_id))
        .where(col(AidLoanLine.loan_id).in_(ids))
        .order_by(col(Item.code))
    ):
        asked.setdefault(line.loan_id, []).append((line, code))
    moved: dict[tuple[int, int], list[int]] = {}
    for lot in session.scalars(select(AidLoanLot).where(col(AidLoanLot.loan_id).in_(ids))):
        sums = moved.setdefault((lot.loan_id, lot.item_id), [0, 0, 0])
        sums[0] += lot.lent_qty
        sums[1] += lot.returned_qty
        sums[2] += lot.settled_qty
    owed: dict[int, Decimal] = {}
    for loan_id, amount in session.execute(
        select(col(AidSettlement.loan_id), col(AidSettlement.amount)).where(
            col(AidSettlement.loan_id).in_(ids)
        )
    ):
        owed[loan_id] = owed.get(loan_id, Decimal(0)) + amount
    views = []
    for loan in loans:
        assert loan.id is not None
        lines = tuple(
            _line_view(code, line, *moved.get((loan.id, line.item_id), [0, 0, 0]))
            for line, code in asked.get(loan.id, [])
        )
        views.append(
            LoanView(
                number=loan.number,
                status=loan.status,
                borrower=codes[loan.borrower_id],
                lender=codes[loan.lender_id],
                destination=depots[loan.destination_id],
                source=depots.get(loan.source_id) if loan.source_id is not None else None,
                disaster=loan.disaster,
                needed_by=loan.needed_by,
                note=loan.note,
                requested_by=loan.requested_by,
                requested_at=loan.requested_at,
                decided_by=loan.decided_by,
                decided_at=loan.decided_at,
                refusal_reason=loan.refusal_reason,
                document=documents.get(loan.document_id) if loan.document_id else None,
                lines=lines,
                settled_amount=owed.get(loan.id, Decimal(0)),
                partial=any(v.approved is not None and v.approved < v.requested for v in lines),
            )
        )
    return views


def _line_view(
    code: str, line: AidLoanLine, lent: int, returned: int, settled: int
) -> LoanLineView:
    return LoanLineView(
        item=code,
        requested=line.requested_qty,
        approved=line.approved_qty,
        lent=lent,
        returned=returned,
        settled=settled,
        outstanding=lent - returned - settled,
    )
