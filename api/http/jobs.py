"""The server's plan-job runner: plans in background threads, state in `plan_job`.

This is the HTTP face's `relief plan`: it reads the scenario, builds the problem from the
ledger (`ledger_problem`), runs the planner and stores the plan document; every state
change goes through `supply.services.plan_jobs`, in a short transaction of its own, so
polling and server-sent events read progress from the database whichever worker asks.
The solver releases the GIL for most of its work, so threads keep the server answering;
a process pool is not used yet (see README).
"""

import logging
import time
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine

from supply.db import session_scope
from supply.errors import SupplyError
from supply.services import plan_jobs

log = logging.getLogger(__name__)

#: Progress is written at most this often (seconds): the planner may report many times a
#: second, and each write is a transaction.
PROGRESS_EVERY_S = 0.5


class JobRunner:
    """Runs queued plan jobs, `workers` at a time, over `engine`."""

    def __init__(self, engine: Engine, scenarios_root: Path, *, workers: int = 1) -> None:
        self.engine = engine
        self.scenarios_root = scenarios_root
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="plan-job")

    def submit(self, job_id: int) -> Future[None]:
        return self._pool.submit(self._run, job_id)

    def shutdown(self) -> None:
        """Stop taking jobs; those running finish, those queued stay queued in the table
        and are reported lost when the server starts again."""
        self._pool.shutdown(wait=True, cancel_futures=True)

    def _run(self, job_id: int) -> None:
        try:
            self._plan(job_id)
        except Exception as exc:
            if not isinstance(exc, SupplyError | ValueError):
                log.exception("plan job %s failed", job_id)
            with session_scope(self.engine) as session:
                plan_jobs.fail(session, job_id, str(exc) or type(exc).__name__)

    def _plan(self, job_id: int) -> None:
        # The planner's modules take seconds to import: only a server that plans pays.
        from optimizer import AllocationParams, Plan, solve_allocation
        from optimizer.params import RouteParams, as_record
        from optimizer.planner import plan_with_tours, prepare_search
        from optimizer.provenance import Provenance, files_sha256, inputs_sha256
        from scenarios.scenario import load_scenario
        from supply.services.ledger_problem import ledger_problem

        with session_scope(self.engine) as session:
            if not plan_jobs.start(session, job_id):
                return
            job = plan_jobs.job_by_id(session, job_id)
        folder = plan_jobs.scenario_folder(self.scenarios_root, job.scenario)
        meta, problem = load_scenario(folder)
        notes: tuple[str, ...] = ()
        as_of: str | None = None
        if job.from_ledger:
            as_of = datetime.now(UTC).isoformat(timespec="seconds")
            with session_scope(self.engine) as session:
                made = ledger_problem(session, problem)
            problem, notes = made.problem, made.notes
        params, route_params = AllocationParams(), RouteParams()
        limit = job.time_limit_s or meta.time_limit_s
        progress = self._reporter(job_id)
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
        with session_scope(self.engine) as session:
            plan_jobs.finish(session, job_id, plan_json=result.to_json(), summary=result.summary())

    def _reporter(self, job_id: int) -> "_Progress":
        return _Progress(self.engine, job_id)


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
