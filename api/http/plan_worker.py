"""A plan job's own process: what `JobRunner` starts for each job.

The child makes its own engine from the database URL (an engine cannot cross a process),
reads the scenario, builds the problem from the ledger (`ledger_problem`), runs the planner
and stores the plan document, every state change through `supply.services.plan_jobs` in a
short transaction of its own. The server's process only watches: the solver's Python
work (the allocation model's building, the route search's moves) holds this process's
GIL, never the server's. Cancelling terminates the process (SIGTERM, turned into
SystemExit here so that the planner's own search pool is shut down on the way out).

The planner's modules are imported at the top on purpose: the runner's forkserver
preloads this module, so each job starts from a process that has paid for them once.
"""

import logging
import signal
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType

from sqlalchemy import Engine

from optimizer import AllocationParams, Plan, solve_allocation
from optimizer.params import RouteParams, as_record
from optimizer.plan_files import plan_files
from optimizer.planner import plan_with_tours, prepare_search
from optimizer.provenance import Provenance, files_sha256, inputs_sha256
from scenarios.scenario import load_scenario
from supply.db import make_engine, read_scope, session_scope
from supply.errors import SupplyError
from supply.services import plan_jobs
from supply.services.ledger_problem import ledger_problem

log = logging.getLogger(__name__)

#: Progress is written at most this often (seconds): the planner may report many times a
#: second, and each write is a transaction.
PROGRESS_EVERY_S = 0.5


def run_job(url: str, busy_timeout_s: float, scenarios_root: str, job_id: int) -> None:
    """The child's entry point: plan job `job_id` (already marked running) and record
    its plan, or why it failed. A terminated child records nothing: the runner does."""
    signal.signal(signal.SIGTERM, _exit_on_term)
    engine = make_engine(url, busy_timeout_s=busy_timeout_s)
    try:
        plan_job(engine, Path(scenarios_root), job_id)
    except Exception as exc:
        if not isinstance(exc, SupplyError | ValueError):
            log.exception("plan job %s failed", job_id)
        with session_scope(engine) as session:
            plan_jobs.fail(session, job_id, str(exc) or type(exc).__name__)
    finally:
        engine.dispose()


def _exit_on_term(_signum: int, _frame: FrameType | None) -> None:
    sys.exit(143)


def plan_job(engine: Engine, scenarios_root: Path, job_id: int) -> None:
    """Run a running job's plan over `engine` and store its document (a job cancelled or
    marked lost meanwhile keeps that state: `plan_jobs.finish` is conditional)."""
    with read_scope(engine) as session:
        job = plan_jobs.job_by_id(session, job_id)
    folder = plan_jobs.scenario_folder(scenarios_root, job.scenario)
    meta, problem = load_scenario(folder)
    notes: tuple[str, ...] = ()
    as_of: str | None = None
    if job.from_ledger:
        as_of = datetime.now(UTC).isoformat(timespec="seconds")
        with read_scope(engine) as session:
            made = ledger_problem(session, problem, borrow=plan_jobs.borrowing(job))
        problem, notes = made.problem, made.notes
    params, route_params = AllocationParams(), RouteParams()
    limit = job.time_limit_s or meta.time_limit_s
    progress = _Progress(engine, job_id)
    result: Plan
    if job.routes:
        prepare_search(progress)
        result = plan_with_tours(
            problem,
            params,
            route_params,
            time_limit_s=limit,
            deadline_hours=job.deadline_hours,
            progress=progress,
        )
    else:
        result = solve_allocation(
            problem,
            params,
            time_limit_s=limit,
            deadline_hours=job.deadline_hours,
            progress=progress,
        )
    result.notes[:0] = notes
    result.provenance = Provenance(
        inputs_sha256=inputs_sha256(problem),
        seed=route_params.seed,
        time_limit_s=limit,
        deadline_hours=job.deadline_hours,
        routed=job.routes,
        parameters={"allocation": as_record(params), "routing": as_record(route_params)},
        scenario=None if job.from_ledger else str(folder.resolve()),
        scenario_files={} if job.from_ledger else files_sha256(folder),
        as_of=as_of,
    ).to_dict()
    files = plan_files(result, problem)
    with session_scope(engine) as session:
        plan_jobs.finish(
            session,
            job_id,
            plan_json=files[plan_jobs.PLAN_FILE].decode("utf-8"),
            summary=result.summary(),
            files=files,
        )


class _Progress:
    """The planner's progress callback: the latest message, written at most every
    PROGRESS_EVERY_S (the last one is never older than that when the plan ends)."""

    def __init__(self, engine: Engine, job_id: int) -> None:
        self.engine = engine
        self.job_id = job_id
        self.last = 0.0

    def __call__(self, message: str) -> None:
        now = time.monotonic()
        if now - self.last < PROGRESS_EVERY_S:
            return
        self.last = now
        with session_scope(self.engine) as session:
            plan_jobs.report_progress(session, self.job_id, message)
