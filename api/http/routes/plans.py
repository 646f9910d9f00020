"""Plan jobs: start a plan in the background, watch it (polled or as server-sent events),
read its plan, approve it through dispatch."""

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Path
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from fastapi.sse import EventSourceResponse, ServerSentEvent
from pydantic import BaseModel, ConfigDict, Field

from api.http.deps import Dispatcher, Planner, Reader, ReadSession, StateDep, WriteSession
from api.http.idempotency import IdempotentDep
from api.http.pagination import Cursor, Limit, Page, paginate
from api.http.problems import AUTH_PROBLEMS, WRITE_PROBLEMS, problem_responses
from optimizer.plan_files import MEDIA_TYPES, media_type
from supply.db import read_scope
from supply.models import JobStatus, PlanJob
from supply.services import plan_jobs

router = APIRouter(prefix="/plans", tags=["plans 调度方案"])

JobId = Annotated[int, Path(ge=1, le=2**31 - 1)]
READ_PROBLEMS = problem_responses(401, 403, 404, 422)
#: How often the event stream looks at the job (seconds).
POLL_S = 0.5


class PlanCreate(BaseModel):
    """Which scenario to plan, and how."""

    model_config = ConfigDict(extra="forbid")

    scenario: str = Field(
        min_length=1,
        max_length=64,
        examples=["haicheng-earthquake"],
        description="A folder "
        "of the server's scenarios (RELIEF_SCENARIOS_DIR; the bundled ones by default).",
    )
    from_ledger: bool = Field(
        default=True, description="Depots, stock, fleet and agreements from the ledger."
    )
    routes: bool = Field(default=True, description="Plan truck tours, not allocation only.")
    time_limit_s: float | None = Field(default=None, gt=0, le=3600)
    deadline_hours: float | None = Field(default=None, gt=0, le=240)
    neighbours: bool = Field(
        default=False,
        description="Plan for your jurisdiction's depots and borrow from the depots of "
        "neighbours that share their stock (the plan's notes name them: request loans).",
    )
    aid_lead_hours: float | None = Field(
        default=None,
        ge=0,
        le=240,
        examples=[6],
        description="With neighbours: hours a neighbour takes to approve a loan, added to "
        "its depots' ready time (default 6).",
    )


class JobRead(BaseModel):
    """A plan job; `progress` is the planner's latest message (the summary when done)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    status: JobStatus
    scenario: str
    from_ledger: bool
    routes: bool
    neighbours: bool
    aid_lead_hours: float | None
    jurisdiction: str | None
    requested_by: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    progress: str | None
    progress_count: int
    error: str | None
    approved_as: str | None
    plan_href: str | None = None
    results_href: str | None = None

    @classmethod
    def of(cls, job: PlanJob) -> "JobRead":
        read = cls.model_validate(job)
        if job.status == JobStatus.DONE:
            read.plan_href = f"/plans/{job.id}/plan"
            read.results_href = f"/plans/{job.id}/results"
        return read


class ApprovalRead(BaseModel):
    """What approving a plan reserved and called off (`relief dispatch approve`)."""

    job_id: int
    number: str = Field(examples=["DP-000001"])
    name: str
    routed: bool
    loads: int
    qty: int
    depots: int
    call_offs: list[str]
    unrouted_qty: int
    outside_qty: dict[str, int]
    unknown_agreements: dict[str, int]


@router.post("", status_code=202, response_model=JobRead, responses=WRITE_PROBLEMS)
def start_plan(
    body: PlanCreate,
    user: Planner,
    session: WriteSession,
    idem: IdempotentDep,
    state: StateDep,
    background: BackgroundTasks,
) -> JSONResponse:
    """Queue a plan job (202); it starts once the request has committed. Poll
    `GET /plans/{id}` or follow `GET /plans/{id}/events`."""

    def queue() -> JobRead:
        job = plan_jobs.create_job(
            session,
            scenario=body.scenario,
            scenarios_root=state.runner.scenarios_root,
            from_ledger=body.from_ledger,
            routes=body.routes,
            time_limit_s=body.time_limit_s,
            deadline_hours=body.deadline_hours,
            requested_by=user.username,
            neighbours=body.neighbours,
            aid_lead_hours=body.aid_lead_hours,
            jurisdiction_id=user.jurisdiction_id,
        )
        assert job.id is not None
        # Background tasks run after the answer, so after the commit: the runner finds it.
        background.add_task(state.runner.submit, job.id)
        return JobRead.of(job)

    return idem.run(session, queue, status_code=202)


@router.get("", responses=AUTH_PROBLEMS)
def list_plans(
    _user: Reader, session: ReadSession, limit: Limit = 100, cursor: Cursor = None
) -> Page[JobRead]:
    rows, next_cursor = paginate(
        plan_jobs.list_jobs(session), key=lambda j: (j.id or 0,), limit=limit, cursor=cursor
    )
    return Page(items=[JobRead.of(j) for j in rows], next_cursor=next_cursor)


@router.get("/{job_id}", responses=READ_PROBLEMS)
def get_plan_job(_user: Reader, session: ReadSession, job_id: JobId) -> JobRead:
    return JobRead.of(plan_jobs.job_by_id(session, job_id))


@router.get("/{job_id}/events", response_class=EventSourceResponse, responses=READ_PROBLEMS)
async def plan_events(
    _user: Reader, state: StateDep, job_id: JobId
) -> AsyncIterator[ServerSentEvent]:
    """Server-sent events: `progress` each time the job changes, then one `done`,
    `failed`, `cancelled` or `lost` event, and the stream ends."""

    def look() -> JobRead:
        with read_scope(state.engine) as session:
            return JobRead.of(plan_jobs.job_by_id(session, job_id))

    seen: tuple[Any, ...] = ()
    while True:
        job = await run_in_threadpool(look)
        now = (job.status, job.progress_count)
        if job.status.finished:
            yield ServerSentEvent(event=job.status.value, data=job, id=str(job.progress_count))
            return
        if now != seen:
            seen = now
            yield ServerSentEvent(event="progress", data=job, id=str(job.progress_count))
        await asyncio.sleep(POLL_S)


@router.post("/{job_id}/cancel", status_code=200, response_model=JobRead, responses=WRITE_PROBLEMS)
def cancel_plan(
    job_id: JobId, user: Planner, session: WriteSession, idem: IdempotentDep
) -> JSONResponse:
    """Cancel a queued or running job (409 once it has ended); a running plan's process
    is stopped."""
    return idem.run(
        session, lambda: JobRead.of(plan_jobs.cancel(session, job_id, user=user)), status_code=200
    )


@router.get("/{job_id}/plan", responses=problem_responses(401, 403, 404, 409, 422))
def get_plan_document(_user: Reader, session: ReadSession, job_id: JobId) -> dict[str, Any]:
    """The plan document (as `relief plan --json` writes it) of a done job; 409 before."""
    return plan_jobs.plan_document(session, job_id)


class ResultFile(BaseModel):
    """One file of a done job's plan, as `relief plan --out` writes it."""

    name: str = Field(examples=["shipments.csv"])
    media_type: str = Field(examples=["text/csv; charset=utf-8"])
    href: str


ResultName = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,40}\.[a-z]{2,8}$", max_length=64)]


@router.get("/{job_id}/results", responses=problem_responses(401, 403, 404, 409, 422))
def list_results(_user: Reader, session: ReadSession, job_id: JobId) -> list[ResultFile]:
    """The files of a done job's plan: plan.json, inputs.json, plan.geojson, shipments.csv,
    the truck manifests of a routed plan (CSV, and HTML to print) and plan.png; 409 before."""
    return [
        ResultFile(name=n, media_type=media_type(n), href=f"/plans/{job_id}/results/{n}")
        for n in plan_jobs.result_names(session, job_id)
    ]


@router.get(
    "/{job_id}/results/{name}",
    response_class=Response,
    responses={
        200: {"content": {t: {} for t in MEDIA_TYPES.values()}},
        **problem_responses(401, 403, 404, 409, 422),
    },
)
def get_result(_user: Reader, session: ReadSession, job_id: JobId, name: ResultName) -> Response:
    """One file of a done job's plan (`GET /plans/{id}/results` lists them)."""
    body = plan_jobs.result_file(session, job_id, name)
    return Response(
        body,
        media_type=media_type(name),
        headers={"Content-Disposition": f'inline; filename="plan-{job_id}-{name}"'},
    )


@router.post(
    "/{job_id}/approval", status_code=201, response_model=ApprovalRead, responses=WRITE_PROBLEMS
)
def approve_plan(
    job_id: JobId, user: Dispatcher, session: WriteSession, idem: IdempotentDep
) -> JSONResponse:
    """Reserve the plan's lots and call off its agreements (all or nothing), as
    `relief dispatch approve`; a job is approved once. A dispatcher with a jurisdiction
    approves only plans whose loads leave from its depots (403 otherwise)."""

    def approve() -> ApprovalRead:
        done = plan_jobs.approve_job(session, job_id, user=user)
        a = done.approval
        return ApprovalRead(
            job_id=done.job_id,
            number=a.number,
            name=a.name,
            routed=a.routed,
            loads=a.loads,
            qty=a.qty,
            depots=a.depots,
            call_offs=list(a.call_offs),
            unrouted_qty=a.unrouted_qty,
            outside_qty=a.outside_qty,
            unknown_agreements=a.unknown_agreements,
        )

    return idem.run(session, approve)
