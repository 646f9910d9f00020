"""Approved plans on the road (调度执行): each truck's trips depart and its stops are
delivered, as `relief dispatch depart|deliver|cancel|status`.

Approving is `POST /plans/{job_id}/approval` (a plan job's plan); here are the plans once
approved, by their number (DP-000001). Dispatchers and admins move them; everyone logged
in reads them. Each POST wraps one function of `supply.services.dispatch.acting`.
"""

from typing import Annotated

from fastapi import APIRouter, Path
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from api.http.deps import Dispatcher, Reader, ReadSession, WriteSession
from api.http.idempotency import IdempotentDep
from api.http.pagination import Cursor, Limit, Page, paginate
from api.http.problems import AUTH_PROBLEMS, WRITE_PROBLEMS, problem_responses
from supply.models import DispatchPlanRead
from supply.services import dispatch
from supply.services.dispatch import acting

router = APIRouter(prefix="/dispatch/plans", tags=["dispatch 调度执行"])

PlanNumber = Annotated[
    str,
    Path(
        min_length=1,
        max_length=64,
        examples=["DP-000001"],
        description="The plan's number, or the content hash of its document.",
    ),
]
Vehicle = Annotated[str, Field(min_length=1, max_length=128, examples=["CTY/medium-1"])]
Ordinal = Annotated[int, Field(ge=1, le=10_000)]


class DepartureCreate(BaseModel):
    """A vehicle leaving on a trip: its loads go from the depot into transit."""

    model_config = ConfigDict(extra="forbid")

    vehicle: Vehicle
    trip: Ordinal = Field(examples=[1])


class DeliveryCreate(BaseModel):
    """A vehicle at a stop: its loads are issued to the shelter."""

    model_config = ConfigDict(extra="forbid")

    vehicle: Vehicle
    stop: Ordinal = Field(examples=[1], description="1-based, across the vehicle's trips.")


class MovedRead(BaseModel):
    """The document a departure or delivery posted, and what it moved."""

    model_config = ConfigDict(from_attributes=True)

    plan: str
    document: str = Field(examples=["TD-000001"])
    vehicle: str
    trip: int
    stops: list[int]
    shelters: list[str]
    loads: int
    qty: int


class CancellationRead(BaseModel):
    """What cancelling released; loads already on the road stay deliverable."""

    model_config = ConfigDict(from_attributes=True)

    number: str
    released_loads: int
    released_qty: int
    on_the_road_loads: int
    on_the_road_qty: int
    cancelled_call_offs: list[str]


READ_PROBLEMS = problem_responses(401, 403, 404, 422)


@router.get("", responses=AUTH_PROBLEMS)
def list_dispatch_plans(
    _user: Reader, session: ReadSession, limit: Limit = 20, cursor: Cursor = None
) -> Page[DispatchPlanRead]:
    """Approved plans (newest last) with their loads and each load's status."""
    rows, next_cursor = paginate(
        dispatch.list_plans(session), key=lambda p: (p.number,), limit=limit, cursor=cursor
    )
    return Page(items=rows, next_cursor=next_cursor)


@router.get("/{number}", responses=READ_PROBLEMS)
def get_dispatch_plan(_user: Reader, session: ReadSession, number: PlanNumber) -> DispatchPlanRead:
    """One plan: a row per load (vehicle, trip, stop, shelter, lot) and its status
    (reserved, in_transit, delivered, released), with the documents that moved it."""
    return dispatch.plan_status(session, number)


@router.post(
    "/{number}/departures", status_code=201, response_model=MovedRead, responses=WRITE_PROBLEMS
)
def depart(
    number: PlanNumber,
    body: DepartureCreate,
    user: Dispatcher,
    session: WriteSession,
    idem: IdempotentDep,
) -> JSONResponse:
    """A trip leaves; a trip that has left already is a 409 problem and moves nothing."""
    return idem.run(
        session,
        lambda: MovedRead.model_validate(
            acting.depart_as(session, number, body.vehicle, body.trip, user=user)
        ),
    )


@router.post(
    "/{number}/deliveries", status_code=201, response_model=MovedRead, responses=WRITE_PROBLEMS
)
def deliver(
    number: PlanNumber,
    body: DeliveryCreate,
    user: Dispatcher,
    session: WriteSession,
    idem: IdempotentDep,
) -> JSONResponse:
    """A stop is delivered; before its trip departs, or delivered already: 409."""
    return idem.run(
        session,
        lambda: MovedRead.model_validate(
            acting.deliver_as(session, number, body.vehicle, body.stop, user=user)
        ),
    )


@router.post(
    "/{number}/cancel", status_code=200, response_model=CancellationRead, responses=WRITE_PROBLEMS
)
def cancel(
    number: PlanNumber, user: Dispatcher, session: WriteSession, idem: IdempotentDep
) -> JSONResponse:
    """Release every load that has not left and withdraw the plan's call-offs not yet
    received; a plan cancelled or completed already: 409."""

    return idem.run(
        session,
        lambda: CancellationRead.model_validate(acting.cancel_as(session, number, user=user)),
        status_code=200,
    )
