"""Allocate, route, and allocate again with what the tours revealed.

The allocation's fleet model lets trucks shuttle as if loads were fluid; real tours pack
whole parts, stop at several shelters, and chain trips, so a depot may not manage all it
was given by the deadline. When the tours miss on-time loads, each such depot is limited
to what its tours did bring by the deadline, and the allocation runs again: it then moves
stock and shelters to depots and trucks that can still make it. A few rounds at most,
within one time limit; the best routed plan (most residents served on time) is kept, and
its notes say what each round changed.
"""

import math
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import replace
from functools import partial
from multiprocessing import get_context
from typing import Any

from optimizer.allocate import solve_allocation
from optimizer.params import AllocationParams
from optimizer.plan import Plan, SolveStatus, SourceKind
from optimizer.problem import Problem
from optimizer.route import RouteParams, draw_paths, route_plan
from optimizer.sources import reach

#: Allocation rounds at most (the first plus re-allocations).
ROUNDS = 3
#: Share of the time limit the first allocation may use; it usually needs far less.
ALLOCATION_SHARE = 0.4


def on_time_load(problem: Problem, plan: Plan) -> dict[str, tuple[float, float]]:
    """Kg and m³ each depot delivers by the plan's deadline."""
    weight = {it.code: it.unit_weight_kg for it in problem.items}
    volume = {it.code: it.unit_volume_m3 for it in problem.items}
    out: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    for sh in plan.shipments:
        if sh.source_kind == SourceKind.DEPOT and sh.arrival_hours <= plan.deadline_hours + 1e-6:
            out[sh.source][0] += sh.qty * weight[sh.item]
            out[sh.source][1] += sh.qty * volume[sh.item]
    return {code: (kg, m3) for code, (kg, m3) in out.items()}


def _warm() -> None:
    """Load the compiled route search in a pool process, if it is compiled: compiling
    there would hold up the searches queued behind it."""
    from optimizer import sisr

    if sisr.ready(0):
        sisr.warm()


def prepare_search(say: Callable[[str], None] | None = None) -> None:
    """Compile the route search once per machine (numba keeps it on disk), outside any
    plan's time limit; without it, routing falls back to slower OR-Tools searches."""
    from optimizer import sisr

    if sisr.ready(0):
        return
    if say is not None:
        say("preparing the route search (first run on this machine, about 20 s)")
    sisr.warm()


@contextmanager
def search_pool(workers: int) -> Iterator[ProcessPoolExecutor | None]:
    """One process per extra search worker, kept for every depot and round.

    Started before the allocation and warmed while it runs, so that no routing call pays
    for starting a process and loading the compiled search (about a second each).
    """
    if workers <= 1:
        yield None
        return
    pool = ProcessPoolExecutor(max_workers=workers - 1, mp_context=get_context("spawn"))
    try:
        for _ in range(workers - 1):
            pool.submit(_warm)
        yield pool
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


def _in_round(say: Callable[[str], None], number: int, message: str) -> None:
    say(f"round {number}: {message}")


def _served(plan: Plan) -> tuple[bool, int, int]:
    """Rank of a routed plan: every depot toured first (an untoured depot's on-time loads
    are the allocation's estimate, not tours), then residents served, then fewer late stops."""
    k = plan.kpis()
    routing = plan.routing or {}
    return (
        not routing.get("untoured_depots"),
        k["residents_served_on_time"],
        -routing.get("late_stops", 0),
    )


def plan_with_tours(
    problem: Problem,
    params: AllocationParams = AllocationParams(),
    route_params: RouteParams = RouteParams(),
    *,
    time_limit_s: float = 20.0,
    deadline_hours: float | None = None,
    rounds: int = ROUNDS,
    progress: Callable[[str], None] | None = None,
) -> Plan:
    """The allocation routed, re-allocated while the tours miss what it assumed.

    Each round allocates (with the limits revealed so far), then routes with an equal
    share of the time left. A round whose tours bring every on-time load in time ends
    the search. The plan returned is the best round's, with `routing["rounds"]` listing
    every round (allocation's and tours' residents served, the limits in force).
    """
    if time_limit_s <= 0:
        raise ValueError("time_limit_s: must be positive")
    if rounds < 1:
        raise ValueError("rounds: at least 1")
    started = time.perf_counter()
    say = progress or (lambda _m: None)

    def left() -> float:
        return time_limit_s - (time.perf_counter() - started)

    # Drawing the kept tours along the roads and the last bookkeeping come after the rounds.
    reserve = min(1.0, 0.05 * time_limit_s)
    travel = reach(problem)  # the same for every round: computed once

    limits: dict[str, tuple[float, float]] = {}
    history: list[dict[str, Any]] = []
    best: Plan | None = None
    best_round = 0
    allocation_seconds = 0.0
    with search_pool(route_params.workers) as pool:
        for number in range(1, rounds + 1):
            if number > 1 and left() - reserve < allocation_seconds + 2.0:
                break
            say(f"round {number}: allocation")
            began = time.perf_counter()
            allocated = solve_allocation(
                problem,
                params,
                time_limit_s=max(left() * ALLOCATION_SHARE, 0.5) if number == 1 else left() / 2,
                deadline_hours=deadline_hours,
                progress=progress,
                fleet_limits=limits,
                travel=travel,
            )
            allocation_seconds = max(allocation_seconds, time.perf_counter() - began)
            share = max((left() - reserve) / (rounds - number + 1), 1.0)
            routed = route_plan(
                problem,
                allocated,
                route_params,
                time_limit_s=share,
                progress=partial(_in_round, say, number),
                paths=False,
                pool=pool,
                travel=travel,
            )
            assert routed.routing is not None
            missed = int(routed.routing["on_time_parts_missed"])
            history.append(
                {
                    "round": number,
                    "allocation_residents_on_time": allocated.kpis()["residents_served_on_time"],
                    "routed_residents_on_time": routed.kpis()["residents_served_on_time"],
                    "on_time_parts_missed": missed,
                    "untoured_depots": list(routed.routing.get("untoured_depots", [])),
                    "fleet_limits_kg": {c: round(kg) for c, (kg, _) in sorted(limits.items())},
                }
            )
            if best is None or _served(routed) > _served(best):
                best, best_round = routed, number
            if missed == 0:
                break
            planned = on_time_load(problem, allocated)
            brought = on_time_load(problem, routed)
            for code, (kg, m3) in planned.items():
                got_kg, got_m3 = brought.get(code, (0.0, 0.0))
                if got_kg < kg * (1 - 1e-6) or got_m3 < m3 * (1 - 1e-6):
                    old_kg, old_m3 = limits.get(code, (math.inf, math.inf))
                    limits[code] = (min(old_kg, got_kg), min(old_m3, got_m3))
    assert best is not None
    say("road paths")
    draw_paths(problem, best)
    notes = list(best.notes)
    if len(history) > 1:
        steps = ", ".join(f"round {h['round']}: {h['routed_residents_on_time']:,}" for h in history)
        limited = history[best_round - 1]["fleet_limits_kg"]
        why = (
            "; ".join(f"{c} to {kg / 1000:,.1f} t" for c, kg in limited.items())
            if limited
            else "no limits"
        )
        notes.append(
            f"re-allocation: tours missed on-time loads, so the allocation ran again with each "
            f"such depot limited to what its tours brought by the deadline ({steps} residents "
            f"served on time); kept round {best_round} ({why})"
        )
    routing = dict(best.routing or {})
    routing["rounds"] = history
    routing["seconds"] = round(time.perf_counter() - started, 3)
    routing["allocation_status"] = best.status.value
    status, gap = best.status, best.gap
    promised = history[0]["allocation_residents_on_time"]  # before any revealed limit
    if best.kpis()["residents_served_on_time"] < promised:
        # The first allocation's optimum assumed what the tours could not do; its figure is
        # an estimate from a fleet model, not a proven bound on tours, so no gap is claimed
        # (a later round's allocation is optimal only under the limits the tours revealed).
        status, gap = SolveStatus.FEASIBLE, None
    return replace(
        best,
        status=status,
        gap=gap,
        solve_seconds=time.perf_counter() - started,
        routing=routing,
        notes=notes,
    )
