"""Plan jobs: the one writer of `plan_job` rows, from request to result to approval.

A job is queued by a request, run by the server's background runner (which reports
progress here), and ends done (with the plan document), failed (with why), cancelled (by a
user) or lost (the server stopped first: `mark_lost` at start-up). Approving a done job
hands its plan document to `dispatch.approve`, in the caller's transaction, and records the
dispatch plan's number on the job.
"""

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from sqlalchemy import select, update
from sqlalchemy.orm import QueryableAttribute, defer
from sqlmodel import Session, col

from supply.db import utcnow
from supply.errors import Conflict, InvalidInput, NotFound
from supply.models import JobStatus, Jurisdiction, PlanJob, PlanJobFile, User
from supply.services import dispatch
from supply.services.borrowing import AID_LEAD_HOURS, Borrowing
from supply.services.dispatch.approval import Approval
from supply.services.jurisdictions import check_plan
from supply.services.stock import Meta

_SCENARIO_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
PROGRESS_MAX = 500
ERROR_MAX = 2000


def scenario_folder(root: Path, name: str) -> Path:
    """The folder of scenario `name` under `root` (the server's scenarios), refusing any
    name that is not a plain folder name, so a request cannot reach elsewhere on disk.

    Raises
    ------
    InvalidInput
        Not a folder name, or no scenario of that name.
    """
    if not _SCENARIO_NAME.fullmatch(name):
        raise InvalidInput("scenario", "a scenario's folder name: letters, digits, '-' and '_'")
    folder = root / name
    if not (folder / "scenario.yaml").is_file():
        raise NotFound("scenario", name)
    return folder


def create_job(
    session: Session,
    *,
    scenario: str,
    scenarios_root: Path,
    from_ledger: bool,
    routes: bool,
    time_limit_s: float | None,
    deadline_hours: float | None,
    requested_by: str,
    neighbours: bool = False,
    aid_lead_hours: float | None = None,
    jurisdiction_id: int | None = None,
) -> PlanJob:
    """Queue a plan of a scenario; the caller's runner starts it once this is committed.
    With `neighbours`, the plan is `jurisdiction_id`'s (the requesting user's), borrowing
    from its sharing neighbours' depots (`borrowing`)."""
    scenario_folder(scenarios_root, scenario)
    if time_limit_s is not None and not 0 < time_limit_s <= 3600:
        raise InvalidInput("time_limit_s", "between 0 and 3,600 seconds")
    if deadline_hours is not None and not 0 < deadline_hours <= 240:
        raise InvalidInput("deadline_hours", "between 0 and 240 hours")
    jurisdiction: str | None = None
    if neighbours:
        if not from_ledger:
            raise InvalidInput("neighbours", "neighbours' depots are borrowed only from_ledger")
        if jurisdiction_id is None:
            raise InvalidInput(
                "neighbours", "only a user of a jurisdiction plans with its neighbours' depots"
            )
        found = session.get(Jurisdiction, jurisdiction_id)
        assert found is not None
        jurisdiction = found.code
        Borrowing(jurisdiction, AID_LEAD_HOURS if aid_lead_hours is None else aid_lead_hours)
    elif aid_lead_hours is not None:
        raise InvalidInput("aid_lead_hours", "only with neighbours: true")
    job = PlanJob(
        status=JobStatus.QUEUED.value,
        scenario=scenario,
        from_ledger=from_ledger,
        routes=routes,
        time_limit_s=time_limit_s,
        deadline_hours=deadline_hours,
        requested_by=requested_by,
        created_at=utcnow(),
        neighbours=neighbours,
        aid_lead_hours=aid_lead_hours,
        jurisdiction=jurisdiction,
    )
    session.add(job)
    session.flush()
    return job


def borrowing(job: PlanJob) -> Borrowing | None:
    """What a job borrows from its jurisdiction's neighbours (None: nothing)."""
    if not job.neighbours or job.jurisdiction is None:
        return None
    lead = AID_LEAD_HOURS if job.aid_lead_hours is None else job.aid_lead_hours
    return Borrowing(job.jurisdiction, lead)


def job_by_id(session: Session, job_id: int, *, lock: bool = False) -> PlanJob:
    stmt = select(PlanJob).where(col(PlanJob.id) == job_id)
    if lock:
        stmt = stmt.with_for_update()
    job = session.scalars(stmt).first()
    if job is None:
        raise NotFound("plan job", str(job_id))
    return job


def list_jobs(session: Session) -> list[PlanJob]:
    """Every job without its plan document (megabytes each): reading one from a listed
    job raises instead of loading it quietly."""
    document = cast("QueryableAttribute[str | None]", PlanJob.plan_json)
    stmt = select(PlanJob).options(defer(document, raiseload=True))
    return list(session.scalars(stmt.order_by(col(PlanJob.id))))


def plan_document(session: Session, job_id: int) -> dict[str, object]:
    """The plan document a done job made.

    Raises
    ------
    Conflict
        The job has not made one (queued, running, failed or lost).
    """
    job = job_by_id(session, job_id)
    if job.plan_json is None:
        raise Conflict("plan job", f"job {job_id} is {job.status}; it has no plan")
    document: dict[str, object] = json.loads(job.plan_json)
    return document


def _move(session: Session, job_id: int, frm: tuple[JobStatus, ...], **values: object) -> bool:
    """Set a job's fields if it is in one of `frm` (conditional: a job marked lost by a
    restart stays lost even if a runner of the old process still reports)."""
    result = session.execute(
        update(PlanJob)
        .where(col(PlanJob.id) == job_id, col(PlanJob.status).in_([s.value for s in frm]))
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def start(session: Session, job_id: int) -> bool:
    """Mark a queued job running; False if it is no longer queued."""
    return _move(
        session,
        job_id,
        (JobStatus.QUEUED,),
        status=JobStatus.RUNNING.value,
        started_at=utcnow(),
    )


def report_progress(session: Session, job_id: int, message: str) -> None:
    _move(
        session,
        job_id,
        (JobStatus.RUNNING,),
        progress=message[:PROGRESS_MAX],
        progress_count=col(PlanJob.progress_count) + 1,
    )


def finish(
    session: Session,
    job_id: int,
    *,
    plan_json: str,
    summary: str,
    files: Mapping[str, bytes] | None = None,
) -> None:
    """Record a running job's plan document and its other files (kept only if the job is
    still running: a cancelled or lost one keeps nothing)."""
    done = _move(
        session,
        job_id,
        (JobStatus.RUNNING,),
        status=JobStatus.DONE.value,
        finished_at=utcnow(),
        plan_json=plan_json,
        progress=summary[:PROGRESS_MAX],
    )
    if done:
        for name, body in (files or {}).items():
            if name != PLAN_FILE:
                session.add(PlanJobFile(job_id=job_id, name=name, body=body))
        session.flush()


#: The plan document's name among a job's results (kept in `plan_job.plan_json`).
PLAN_FILE = "plan.json"


def result_names(session: Session, job_id: int) -> list[str]:
    """The files of a done job's plan, plan.json first.

    Raises
    ------
    NotFound
        No such job.
    Conflict
        The job has no plan (not done).
    """
    job = job_by_id(session, job_id)
    if job.status != JobStatus.DONE:
        raise Conflict("plan job", f"job {job_id} is {job.status}; it has no plan")
    stored = session.scalars(
        select(col(PlanJobFile.name))
        .where(col(PlanJobFile.job_id) == job_id)
        .order_by(col(PlanJobFile.name))
    )
    return [PLAN_FILE, *stored]


def result_file(session: Session, job_id: int, name: str) -> bytes:
    """One file of a done job's plan (`result_names`).

    Raises
    ------
    NotFound
        No such job, or no such file of its plan.
    Conflict
        The job has no plan (not done).
    """
    if name == PLAN_FILE:
        return json.dumps(plan_document(session, job_id), ensure_ascii=False).encode("utf-8")
    if name not in result_names(session, job_id):
        raise NotFound("plan file", f"{name} (job {job_id})")
    body = session.scalars(
        select(col(PlanJobFile.body)).where(
            col(PlanJobFile.job_id) == job_id, col(PlanJobFile.name) == name
        )
    ).one()
    return bytes(body)


def fail(session: Session, job_id: int, error: str) -> None:
    _move(
        session,
        job_id,
        (JobStatus.QUEUED, JobStatus.RUNNING),
        status=JobStatus.FAILED.value,
        finished_at=utcnow(),
        error=error[:ERROR_MAX],
    )


def cancel(session: Session, job_id: int, *, user: User) -> PlanJob:
    """Cancel a queued or running job. A queued one never starts; a running one is marked
    cancelled at once, and the runner watching its planner's process stops it (a result
    that process still reports is not kept).

    Raises
    ------
    NotFound
        No such job.
    Conflict
        The job has already ended (done, failed, lost or cancelled).
    """
    job = job_by_id(session, job_id, lock=True)
    stopped = _move(
        session,
        job_id,
        (JobStatus.QUEUED, JobStatus.RUNNING),
        status=JobStatus.CANCELLED.value,
        finished_at=utcnow(),
        error=f"cancelled by {user.username}",
    )
    if not stopped:
        raise Conflict(
            "plan job", f"job {job_id} is {job.status}; only a queued or running one is cancelled"
        )
    session.refresh(job)
    return job


def mark_lost(session: Session) -> int:
    """At a server's start: every job still queued or running was lost with the process
    that ran it; say so on each. Returns how many."""
    result = session.execute(
        update(PlanJob)
        .where(col(PlanJob.status).in_([JobStatus.QUEUED.value, JobStatus.RUNNING.value]))
        .values(
            status=JobStatus.LOST.value,
            finished_at=utcnow(),
            error="the server stopped before this plan finished; start it again",
        )
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class JobApproval:
    job_id: int
    approval: Approval


def approve_job(session: Session, job_id: int, *, user: User) -> JobApproval:
    """Approve a finished job's plan through `dispatch.approve` (all or nothing), as `user`.

    Raises
    ------
    NotFound
        No such job.
    OutOfScope
        The plan's loads leave from depots outside `user`'s jurisdiction.
    Conflict
        The job has no plan (not done) or was approved already; or dispatch refuses
        (stock moved since the plan was made, and the like).
    """
    job = job_by_id(session, job_id, lock=True)
    if job.status != JobStatus.DONE or job.plan_json is None:
        raise Conflict("plan job", f"job {job_id} is {job.status}; only a done plan is approved")
    if job.approved_as is not None:
        raise Conflict("plan job", f"job {job_id} was approved already as {job.approved_as}")
    document = json.loads(job.plan_json)
    check_plan(session, user, document)
    approval = dispatch.approve(session, document, meta=Meta(actor=user.username))
    job.approved_as = approval.number
    session.add(job)
    session.flush()
    return JobApproval(job_id=job_id, approval=approval)
