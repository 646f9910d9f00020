"""Mutual aid (跨区域调拨/借用): loans between neighbouring jurisdictions.

Each POST wraps one function of `supply.services.aid`, acting as the logged-in user: the
service checks that they are the borrower's people (request, return, settle) or the
lender's (approve, refuse), 403 otherwise, and records them on the loan and its documents.
"""

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Path, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, RootModel

from api.http.deps import Keeper, Reader, ReadSession, WriteSession
from api.http.idempotency import IdempotentDep
from api.http.pagination import Cursor, Limit, Page, paginate
from api.http.problems import WRITE_PROBLEMS, problem_responses
from supply.models import LoanStatus
from supply.services import aid, loan_views
from supply.services.aid import Actor
from supply.services.loan_views import LoanView

router = APIRouter(prefix="/aid/loans", tags=["aid 跨区域借调"])

Number = Annotated[str, Path(max_length=32, examples=["LN-000001"])]
Code = Annotated[str, Field(min_length=1, max_length=64)]
Qty = Annotated[int, Field(gt=0, le=10**12)]
Quantities = dict[Code, Annotated[int, Field(ge=0, le=10**12)]]


class LoanLineCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    item: Code = Field(examples=["TENT"])
    qty: Qty = Field(examples=[50])


class LoanCreate(BaseModel):
    """A borrower's request to a neighbour: 借调申请."""

    model_config = ConfigDict(extra="forbid")

    borrower: str = Field(max_length=12, examples=["210381"])
    lender: str = Field(max_length=12, examples=["210382"])
    destination: Code = Field(examples=["HC-COUNTY"], description="The borrower's depot.")
    lines: list[LoanLineCreate] = Field(min_length=1, max_length=200)
    disaster: str = Field(min_length=1, max_length=200, examples=["2026 海城洪水"])
    needed_by: date
    note: str | None = Field(default=None, max_length=2000)


class LoanApproval(BaseModel):
    """The lender grants the loan from one of its depots: all that was asked, or the
    quantities named per item code (0: none of that item)."""

    model_config = ConfigDict(extra="forbid")

    source: Code = Field(examples=["B-COUNTY"])
    approved: Quantities | None = Field(default=None, examples=[{"TENT": 30}])


class LoanRefusal(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=500, examples=["库存需自用 needed here"])


class LoanBack(BaseModel):
    """What goes back or is settled: all that is out, or quantities per item code."""

    model_config = ConfigDict(extra="forbid")

    quantities: dict[Code, Qty] | None = Field(default=None, examples=[{"TENT": 10}])


class LoanRead(RootModel[LoanView]):
    """A loan: its parties, what was asked, approved, lent, returned and settled, and who
    decided; `document` is the ledger document that moved the goods."""


def _read(view: LoanView) -> LoanRead:
    return LoanRead(view)


@router.get("", responses=problem_responses(401, 403, 404, 422))
def list_loans(
    _user: Reader,
    session: ReadSession,
    jurisdiction: Annotated[
        str | None, Query(max_length=12, description="As borrower or lender.")
    ] = None,
    status: LoanStatus | None = None,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> Page[LoanRead]:
    """Loans by number."""
    rows, next_cursor = paginate(
        loan_views.list_loans(session, jurisdiction=jurisdiction, status=status),
        key=lambda v: (v.number,),
        limit=limit,
        cursor=cursor,
    )
    return Page(items=[_read(v) for v in rows], next_cursor=next_cursor)


@router.get("/{number}", responses=problem_responses(401, 403, 404, 422))
def get_loan(_user: Reader, session: ReadSession, number: Number) -> LoanRead:
    return _read(loan_views.view_loan(session, number))


@router.post("", status_code=201, response_model=LoanRead, responses=WRITE_PROBLEMS)
def request_loan(
    body: LoanCreate, user: Keeper, session: WriteSession, idem: IdempotentDep
) -> JSONResponse:
    """Ask a neighbour for items (as one of the borrower's people)."""

    def ask() -> LoanRead:
        return _read(
            aid.request_loan(
                session,
                borrower=body.borrower,
                lender=body.lender,
                destination=body.destination,
                lines=[(line.item, line.qty) for line in body.lines],
                disaster=body.disaster,
                needed_by=body.needed_by,
                note=body.note,
                actor=Actor.of(user),
            )
        )

    return idem.run(session, ask)


@router.post(
    "/{number}/approval", status_code=200, response_model=LoanRead, responses=WRITE_PROBLEMS
)
def approve_loan(
    body: LoanApproval, number: Number, user: Keeper, session: WriteSession, idem: IdempotentDep
) -> JSONResponse:
    """Grant the loan (as one of the lender's people): the goods move at once, and stay
    the lender's. A second approval is refused (409) and moves nothing."""

    def approve() -> LoanRead:
        return _read(
            aid.approve_loan(
                session, number, source=body.source, approved=body.approved, actor=Actor.of(user)
            )
        )

    return idem.run(session, approve, status_code=200)


@router.post(
    "/{number}/refusal", status_code=200, response_model=LoanRead, responses=WRITE_PROBLEMS
)
def refuse_loan(
    body: LoanRefusal, number: Number, user: Keeper, session: WriteSession, idem: IdempotentDep
) -> JSONResponse:
    def refuse() -> LoanRead:
        return _read(aid.refuse_loan(session, number, reason=body.reason, actor=Actor.of(user)))

    return idem.run(session, refuse, status_code=200)


@router.post("/{number}/return", status_code=200, response_model=LoanRead, responses=WRITE_PROBLEMS)
def return_loan(
    body: LoanBack, number: Number, user: Keeper, session: WriteSession, idem: IdempotentDep
) -> JSONResponse:
    """Send lent goods back to the lender's depot (as one of the borrower's people)."""

    def back() -> LoanRead:
        return _read(
            aid.return_loan(session, number, quantities=body.quantities, actor=Actor.of(user))
        )

    return idem.run(session, back, status_code=200)


@router.post(
    "/{number}/settlement", status_code=200, response_model=LoanRead, responses=WRITE_PROBLEMS
)
def settle_loan(
    body: LoanBack, number: Number, user: Keeper, session: WriteSession, idem: IdempotentDep
) -> JSONResponse:
    """Keep lent goods and pay for them at each lot's unit cost: they become the
    borrower's lot (as one of the borrower's people)."""

    def settle() -> LoanRead:
        return _read(
            aid.settle_loan(session, number, quantities=body.quantities, actor=Actor.of(user))
        )

    return idem.run(session, settle, status_code=200)
