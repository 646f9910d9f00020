"""Agreement reserves (协议储备): the contracts, call-offs (征用), their receipt, what is owed
and its settlement (先征用后结算), and inspections.

Each route wraps one function of `supply.services.agreements` or `calloffs`. Calling off
and settling are dispatchers' decisions; receiving and inspecting are keepers' work, at
depots of their jurisdiction.
"""

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Path, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from api.http.deps import Dispatcher, Keeper, Reader, ReadSession, WriteSession
from api.http.idempotency import IdempotentDep
from api.http.pagination import Cursor, Limit, Page, paginate
from api.http.problems import WRITE_PROBLEMS, problem_responses
from supply.models import CallOff, InspectionCreate, User
from supply.services import agreements, calloffs
from supply.services.agreements import AgreementView
from supply.services.calloffs import ExpectedRow
from supply.services.jurisdictions import check_call_off, check_depots
from supply.services.stock import Meta

router = APIRouter(tags=["agreements 协议储备"])

AgreementCode = Annotated[str, Path(max_length=64, examples=["AG-WATER-01"])]
CallOffNumber = Annotated[str, Path(max_length=32, examples=["CO-000001"])]
READ_PROBLEMS = problem_responses(401, 403, 404, 422)


def _now() -> datetime:
    """Now in the server's time zone: an agreement's validity is in local calendar days."""
    return datetime.now().astimezone()


class CallOffCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    qty: int = Field(gt=0, le=10**12, examples=[500])
    depot: str | None = Field(
        default=None, max_length=64, description="Deliver here instead of the agreement's depot."
    )
    reference: str | None = Field(default=None, max_length=100)
    note: str | None = Field(default=None, max_length=2000)


class CallOffRead(BaseModel):
    number: str
    status: str
    qty: int
    called_at: datetime
    due_at: datetime
    actor: str
    replayed: bool

    @classmethod
    def of(cls, row: CallOff, replayed: bool) -> "CallOffRead":
        return cls(
            number=row.number,
            status=row.status,
            qty=row.qty,
            called_at=row.called_at,
            due_at=row.due_at,
            actor=row.actor,
            replayed=replayed,
        )


class CallOffReceipt(BaseModel):
    """The called-off goods arrive: less than called off is a short delivery."""

    model_config = ConfigDict(extra="forbid")

    lot: str = Field(min_length=1, max_length=64)
    qty: int | None = Field(default=None, gt=0, le=10**12)
    expires_on: date | None = None
    produced_on: date | None = None


class CallOffReceived(BaseModel):
    call_off: str
    receipt: str = Field(examples=["RC-000042"])
    received_qty: int | None


class OwedLineRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    call_off: str
    agreement: str
    item: str
    qty: int
    unit_price: Decimal
    compensation_per_unit: Decimal
    goods: Decimal
    compensation: Decimal


class OwedRead(BaseModel):
    """What the bureau owes one supplier for received, unsettled call-offs (yuan)."""

    model_config = ConfigDict(from_attributes=True)

    supplier: str
    supplier_name: str
    qty: int
    goods: Decimal
    compensation: Decimal
    total: Decimal
    lines: list[OwedLineRead]


class SettlementCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    supplier: str | None = Field(default=None, max_length=64, description="Only this one.")
    reference: str | None = Field(default=None, max_length=100)
    note: str | None = Field(default=None, max_length=2000)


class SettledRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    number: str
    supplier: str
    call_offs: int
    amount: Decimal


class Settlements(BaseModel):
    items: list[SettledRead]


class InspectionBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    inspected_on: date
    inspector: str = Field(min_length=1, max_length=100)
    verified_qty: int = Field(ge=0, le=10**12)
    findings: str | None = Field(default=None, max_length=2000)


class InspectionRead(BaseModel):
    agreement: str
    inspected_on: date
    inspector: str
    verified_qty: int
    findings: str | None
    created: bool = Field(description="False when it replaced that day's earlier record.")


def _meta(user: User, key: str | None, reference: str | None, note: str | None) -> Meta:
    return Meta(actor=user.username, reference=reference, note=note, idempotency_key=key)


@router.get("/agreements", responses=READ_PROBLEMS)
def list_agreements(
    _user: Reader, session: ReadSession, limit: Limit = 100, cursor: Cursor = None
) -> Page[AgreementView]:
    """Every agreement with its state, what is left, and why it is flagged."""
    rows, next_cursor = paginate(
        agreements.list_agreements(session, today=_now().date()),
        key=lambda a: (a.code,),
        limit=limit,
        cursor=cursor,
    )
    return Page(items=rows, next_cursor=next_cursor)


@router.get("/agreements/owed", responses=READ_PROBLEMS)
def owed(
    _user: Reader,
    session: ReadSession,
    supplier: Annotated[str | None, Query(max_length=64)] = None,
) -> list[OwedRead]:
    """Per supplier: received, unsettled call-offs at their contract prices."""
    return [OwedRead.model_validate(o) for o in calloffs.owed(session, supplier=supplier)]


@router.post(
    "/agreements/settlements",
    status_code=201,
    response_model=Settlements,
    responses=WRITE_PROBLEMS,
)
def settle(
    body: SettlementCreate, user: Dispatcher, session: WriteSession, idem: IdempotentDep
) -> JSONResponse:
    """Settle what is owed: one settlement per supplier (none when nothing is owed)."""

    def run() -> Settlements:
        done = calloffs.settle(
            session,
            now=_now(),
            supplier=body.supplier,
            reference=body.reference,
            note=body.note,
            actor=user.username,
        )
        return Settlements(items=[SettledRead.model_validate(s) for s in done])

    return idem.run(session, run)


@router.post(
    "/agreements/{code}/call-offs",
    status_code=201,
    response_model=CallOffRead,
    responses=WRITE_PROBLEMS,
)
def call_off(
    body: CallOffCreate,
    code: AgreementCode,
    user: Dispatcher,
    session: WriteSession,
    idem: IdempotentDep,
) -> JSONResponse:
    """Call off units under an agreement (征用): an expected receipt due after its lead time.
    Refused (409) if the agreement cannot deliver them in time."""

    def run() -> CallOffRead:
        if body.depot is not None:
            check_depots(session, user, [body.depot])
        made = calloffs.call_off(
            session,
            agreement=code,
            qty=body.qty,
            now=_now(),
            depot=body.depot,
            meta=_meta(user, idem.key, body.reference, body.note),
        )
        return CallOffRead.of(made.call_off, made.replayed)

    return idem.run(session, run)


@router.post(
    "/agreements/{code}/inspections",
    status_code=201,
    response_model=InspectionRead,
    responses=WRITE_PROBLEMS,
)
def inspect(
    body: InspectionBody,
    code: AgreementCode,
    _user: Keeper,
    session: WriteSession,
    idem: IdempotentDep,
) -> JSONResponse:
    """Record what an inspector verified on site (a second record that day replaces it)."""

    def run() -> InspectionRead:
        row, created = agreements.record_inspection(
            session,
            InspectionCreate(agreement=code, **body.model_dump()),
            today=_now().date(),
        )
        return InspectionRead(
            agreement=code,
            inspected_on=row.inspected_on,
            inspector=row.inspector,
            verified_qty=row.verified_qty,
            findings=row.findings,
            created=created,
        )

    return idem.run(session, run)


@router.get("/call-offs/expected", responses=READ_PROBLEMS)
def expected(_user: Reader, session: ReadSession) -> list[ExpectedRow]:
    """Call-offs whose goods have not arrived yet, soonest due first."""
    return calloffs.expected(session, now=_now())


@router.post(
    "/call-offs/{number}/receipt",
    status_code=201,
    response_model=CallOffReceived,
    responses=WRITE_PROBLEMS,
)
def receive(
    body: CallOffReceipt,
    number: CallOffNumber,
    user: Keeper,
    session: WriteSession,
    idem: IdempotentDep,
) -> JSONResponse:
    """The called-off goods arrive: a receipt into the call-off's depot closes it."""

    def run() -> CallOffReceived:
        check_call_off(session, user, number)
        row, posted = calloffs.receive_call_off(
            session,
            number,
            lot=body.lot,
            now=_now(),
            qty=body.qty,
            expires_on=body.expires_on,
            produced_on=body.produced_on,
            meta=_meta(user, idem.key, None, None),
        )
        return CallOffReceived(
            call_off=row.number, receipt=posted.number, received_qty=row.received_qty
        )

    return idem.run(session, run)
