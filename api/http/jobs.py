"""The server's plan-job runner: each plan in a child process, state in `plan_job`.

A plan holds a core for minutes, mostly in Python (model building, route search), so it
runs in a process of its own (`plan_worker.run_job`), which writes its progress and result
to the job table itself: polling and server-sent events read them from the database
whichever server worker asks, and the server's GIL stays free for requests. At most
`workers` plans run at once; each has a watcher thread here that waits for its process
and stops it when the job leaves the running state (cancelled by a user, or marked lost by
another server's start). Processes come from a forkserver that has imported the planner
once (spawn where there is no forkserver), never from a fork of the threaded server.
"""

import logging
import multiprocessing
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from multiprocessing.context import ForkServerContext, SpawnContext
from pathlib import Path

from sqlalchemy import Engine

from supply.db import BUSY_TIMEOUT_S, read_scope, session_scope
from supply.models import JobStatus
from supply.services import plan_jobs

log = logging.getLogger(__name__)

#: How often a watcher looks at its job's status (seconds): a cancel stops the planner
#: within about this long.
WATCH_S = 0.5
#: How long a terminated planner has to exit before it is killed (seconds).
TERM_GRACE_S = 10.0
_WORKER_MODULE = "api.http.plan_worker"


def plan_context() -> ForkServerContext | SpawnContext:
    """A forkserver preloading the planner where the platform has one, else spawn."""
    if "forkserver" in multiprocessing.get_all_start_methods():
        forkserver = multiprocessing.get_context("forkserver")
        forkserver.set_forkserver_preload([_WORKER_MODULE])
        return forkserver
    return multiprocessing.get_context("spawn")


class JobRunner:
    """Runs queued plan jobs, `workers` at a time, each in a child process over `url`
    (the database `engine` is connected to: the child makes its own engine from it)."""

    def __init__(
        self,
        engine: Engine,
        scenarios_root: Path,
        *,
        url: str,
        workers: int = 1,
        busy_timeout_s: float = BUSY_TIMEOUT_S,
        entry: Callable[[str, float, str, int], None] | None = None,
    ) -> None:
        """`entry` is what the child runs, `plan_worker.run_job` by default (a test gives
        one that never ends, or one that dies)."""
        self.engine = engine
        self.url = url
        self.busy_timeout_s = busy_timeout_s
        self.scenarios_root = scenarios_root
        self._entry = entry or _entry
        self._context = plan_context()
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="plan-job")

    def submit(self, job_id: int) -> Future[None]:
        return self._pool.submit(self._watch, job_id, self.scenarios_root)

    def shutdown(self) -> None:
        """Stop taking jobs; those running finish, those queued stay queued in the table
        and are reported lost when the server starts again."""
        self._pool.shutdown(wait=True, cancel_futures=True)

    def _watch(self, job_id: int, scenarios_root: Path) -> None:
        try:
            with session_scope(self.engine) as session:
                if not plan_jobs.start(session, job_id):
                    return  # cancelled while queued
            process = self._context.Process(
                target=self._entry,
                args=(self.url, self.busy_timeout_s, str(scenarios_root), job_id),
                name=f"plan-job-{job_id}",
            )
            process.start()
            while process.exitcode is None:
                process.join(WATCH_S)
                if process.exitcode is None and not self._still_running(job_id):
                    _stop(process)
            if process.exitcode != 0:
                with session_scope(self.engine) as session:
                    plan_jobs.fail(
                        session, job_id, f"the planner's process ended with code {process.exitcode}"
                    )
        except Exception as exc:
            log.exception("plan job %s: its process could not be run", job_id)
            with session_scope(self.engine) as session:
                plan_jobs.fail(session, job_id, str(exc) or type(exc).__name__)

    def _still_running(self, job_id: int) -> bool:
        with read_scope(self.engine) as session:
            return plan_jobs.job_by_id(session, job_id).status == JobStatus.RUNNING


def _stop(process: multiprocessing.process.BaseProcess) -> None:
    process.terminate()
    process.join(TERM_GRACE_S)
    if process.exitcode is None:
        process.kill()
        process.join()


def _entry(url: str, busy_timeout_s: float, scenarios_root: str, job_id: int) -> None:
    """Imported by name in the child (the forkserver has it loaded already)."""
    from api.http.plan_worker import run_job

    run_job(url, busy_timeout_s, scenarios_root, job_id)
