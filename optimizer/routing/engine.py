"""Solving a `RoutingModel`: independent searches in parallel, the best kept.

Search: from a warm start (the planner's packed depot tours) the compiled ruin-and-recreate
search (SISR, `optimizer.routing.sisr`) improves it for a set number of steps, so the same
model, start, seed and settings give the same tours on any machine, loaded or not; the
clock is only a safety cap, and a result says when it bit. Without a warm start (the VRP
benchmark), OR-Tools builds a first solution and improves it by guided local search for a
share of the time, then SISR or OR-Tools re-solving parts takes over. `workers` > 1 runs
independent searches in separate processes (seed + k) and keeps the best, ties going to
the lowest worker, so parallel runs stay deterministic.
"""

import multiprocessing
import time
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import replace

from optimizer.params import DEFAULT_SETTINGS, Improver, SearchSettings
from optimizer.plan import SolveStatus
from optimizer.routing import sisr
from optimizer.routing.model import (
    RoutingModel,
    RoutingResult,
    from_routes,
    quick_infeasibility,
    schedule,
    score,
    validate,
    violation,
)
from optimizer.routing.ortools_search import improve_by_parts, search

__all__ = ["solve_routing"]

#: Seconds past the cap a work-bounded search waits for its other workers' results.
GRACE_S = 0.25


def _improve_by_ruin(
    model: RoutingModel,
    result: RoutingResult,
    settings: SearchSettings,
    deadline: float,
) -> RoutingResult:
    """SISR from `result`, or from nothing when it has no solution; kept only when it
    checks out and is cheaper."""
    tours = {r.vehicle: list(r.nodes) for r in result.routes}
    dropped_before = list(result.dropped) if result.objective is not None else model.customers()
    run = sisr.improve(
        model,
        tours,
        dropped_before,
        deadline,
        settings.seed,
        settings.ruin,
        construct=result.objective is None,
        iterations=settings.iterations,
    )
    result.steps += run.steps
    result.capped = result.capped or run.capped
    problem = violation(model, run.tours, run.dropped)
    if problem is not None:
        result.log.append(f"SISR result rejected: {problem}")
        return result
    routes = schedule(model, run.tours)
    objective, distance, lateness = score(model, routes, run.dropped)
    if result.objective is not None and objective >= result.objective:
        result.log.append(f"SISR: {run.steps:,} steps, no improvement")
        return result
    status = SolveStatus.FEASIBLE if result.objective is None else result.status
    out = RoutingResult(
        status,
        objective,
        distance,
        routes,
        run.dropped,
        0.0,
        lateness,
        steps=result.steps,
        capped=result.capped,
    )
    before = "no solution" if result.objective is None else f"{result.objective:,}"
    out.log.append(f"SISR: {run.steps:,} steps, {before} -> {objective:,}")
    return out


def _solve_one(
    model: RoutingModel,
    settings: SearchSettings,
    deadline: float,
    initial_routes: list[list[int]] | None,
    progress: Callable[[str], None] | None,
) -> RoutingResult:
    """One independent run in this process.

    With `settings.iterations` (the planner), SISR alone runs that many steps from the
    warm start, or builds tours from nothing when there is none: no clock decides the
    answer; `deadline` only caps it. Without (the VRP benchmark), OR-Tools searches the
    whole model first (`search_share` of the time), then the improver takes over from
    its best solution; when OR-Tools has none by then, SISR builds one from scratch
    (trip chains can defeat OR-Tools' insertion heuristics); "parts" keeps searching
    with OR-Tools instead.
    """
    started = time.time()
    if settings.iterations is not None:
        start = from_routes(model, initial_routes) if initial_routes is not None else None
        if start is None:
            start = RoutingResult(SolveStatus.TIMED_OUT, None, None, [], [], 0.0)
        improved = _improve_by_ruin(model, start, settings, deadline)
        improved.seconds = time.time() - started
        return improved
    improver = settings.improver
    if improver == Improver.SISR and not sisr.ready(deadline - started):
        improver = Improver.PARTS
    if improver == Improver.PARTS and len(model.customers()) < 1.5 * settings.part_size:
        improver = Improver.NONE
    if improver == Improver.SISR and initial_routes is not None:
        # OR-Tools cannot always read a start back (trip chains leave its time variables
        # to be searched for, and it then starts from scratch); SISR takes it as it is.
        start = from_routes(model, initial_routes)
        if start is not None:
            improved = _improve_by_ruin(model, start, settings, deadline)
            improved.seconds = time.time() - started
            return improved
    if improver == Improver.NONE:
        return search(model, settings, deadline, initial_routes, progress)
    first = started + settings.search_share * (deadline - started)
    result = search(model, settings, first, initial_routes, progress)
    if result.objective is None and improver == Improver.PARTS:
        if result.status == SolveStatus.INFEASIBLE:
            return result
        result = search(model, settings, deadline, initial_routes, progress)
        if result.objective is None:
            return result
    if improver == Improver.SISR:
        improved = _improve_by_ruin(model, result, settings, deadline)
    else:
        improved = improve_by_parts(model, result, settings, deadline, progress)
    if progress is not None and improved.objective is not None:
        progress(f"{time.time() - started:6.1f} s  objective {improved.objective:,} ({improver})")
    improved.seconds = time.time() - started
    return improved


def _worker(
    model: RoutingModel,
    settings: SearchSettings,
    deadline: float,
    initial_routes: list[list[int]] | None,
) -> RoutingResult:
    """Entry point of a separate process (module level so that it pickles)."""
    return _solve_one(model, settings, deadline, initial_routes, None)


def _better(a: RoutingResult, b: RoutingResult | None) -> bool:
    """Whether a beats b: any solution beats none, then the lower objective wins."""
    if b is None:
        return True
    if a.objective is None:
        return False
    return b.objective is None or a.objective < b.objective


def solve_routing(
    model: RoutingModel,
    *,
    time_limit_s: float,
    initial_routes: list[list[int]] | None = None,
    workers: int = 1,
    settings: SearchSettings | None = None,
    progress: Callable[[str], None] | None = None,
    pool: ProcessPoolExecutor | None = None,
) -> RoutingResult:
    """Find the cheapest tours within the time limit.

    Parameters
    ----------
    model
        The nodes, vehicles and rules; validated first.
    time_limit_s
        Wall-clock budget for the whole call, model building and process start-up
        included; the search stops by then (plus a fraction of a second to read results).
    initial_routes
        A warm start: customer nodes per vehicle, in order (one list per vehicle, may be
        empty). Used when feasible, otherwise the search starts from scratch.
    workers
        Independent searches run in parallel in separate processes, worker k with
        `settings.for_worker(k)`; the best result is kept. 1 runs in this process.
    settings
        Search settings; `SearchSettings()` by default (the tuned best).
    progress
        Called with a short line at each improvement of worker 0 (in this process).
    pool
        Processes to run workers 1.. in (a caller solving many models keeps one warm pool:
        starting a process and loading the compiled search takes about a second). Without
        it, a pool is started for this call.

    Returns
    -------
    RoutingResult
        `steps` (the most any worker made) and `capped` (the clock stopped a search before its
        `settings.iterations`, or a worker was lost: the one case where runs may differ);
        status "feasible" (or "optimal") with routes, "infeasible" when no solution
        exists or none was found before the search gave up, "timed_out" when the time
        limit ran out before any solution.

    Raises
    ------
    ValueError
        When a field of the model has the wrong shape or negative values (the message
        names the field), or time_limit_s / workers are not positive.
    """
    if not time_limit_s > 0:
        raise ValueError("time_limit_s: must be positive")
    if workers < 1:
        raise ValueError("workers: at least 1")
    if initial_routes is not None and len(initial_routes) > len(model.vehicles):
        raise ValueError("initial_routes: more routes than vehicles")
    validate(model)
    settings = settings or DEFAULT_SETTINGS
    started = time.time()
    deadline = started + time_limit_s
    if not model.customers():
        routes = schedule(model, {})
        return RoutingResult(SolveStatus.OPTIMAL, 0, 0, routes, [], time.time() - started)
    if (reason := quick_infeasibility(model)) is not None:
        result = RoutingResult(SolveStatus.INFEASIBLE, None, None, [], [], time.time() - started)
        result.log.append(reason)
        return result

    futures: list[Future[RoutingResult]] = []
    own = pool is None and workers > 1
    if own:
        ctx = multiprocessing.get_context("spawn")
        pool = ProcessPoolExecutor(max_workers=workers - 1, mp_context=ctx)
    lost_pool = ""
    if workers > 1:
        assert pool is not None
        try:
            futures = [
                pool.submit(_worker, model, settings.for_worker(k), deadline, initial_routes)
                for k in range(1, workers)
            ]
        except RuntimeError as exc:  # a broken pool: search in this process alone
            lost_pool = f"extra workers unavailable: {type(exc).__name__}: {exc}"
    try:
        results = [_solve_one(model, settings, deadline, initial_routes, progress)]
        # A work-bounded worker still busy at the cap (e.g. its process still loading the
        # compiled search) is not waited for: the cap is the caller's promise.
        grace = GRACE_S if settings.iterations is not None else 5.0
        for f in futures:
            try:
                results.append(f.result(timeout=max(0.05, deadline - time.time() + grace)))
            except Exception as exc:  # a lost worker must not lose the others' result
                failed = RoutingResult(
                    SolveStatus.TIMED_OUT, None, None, [], [], time.time() - started, capped=True
                )
                failed.log.append(f"error: {type(exc).__name__}: {exc}")
                results.append(failed)
    finally:
        if own and pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)

    best: RoutingResult | None = None
    log = []
    for k, r in enumerate(results):
        r.worker = k
        log.append(
            f"worker {k}: {settings.for_worker(k).describe()}: {r.status}"
            + (f", objective {r.objective:,}" if r.objective is not None else "")
            + "".join(f"; {line}" for line in r.log)
        )
        if _better(r, best):
            best = r
    assert best is not None
    if lost_pool:
        log.append(lost_pool)
    # A worker cut short by the clock (or lost) might have won: the answer then depends on
    # the machine, and says so.
    capped = any(r.capped for r in results) or bool(lost_pool)
    steps = max(r.steps for r in results)  # each worker's own work: the same budget
    return replace(best, seconds=time.time() - started, log=log, capped=capped, steps=steps)
