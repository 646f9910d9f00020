"""Allocate, route, and allocate again with what the tours revealed; prove how good it is.

The allocation's fleet model lets trucks shuttle as if loads were fluid; real tours pack
whole parts, stop at several shelters, and chain trips, so a depot may not manage all it
was given by the deadline. When the tours miss on-time loads, each such depot is limited
to what its tours did bring by the deadline, and the allocation runs again: it then moves
stock and shelters to depots and trucks that can still make it. A few rounds at most; the
best routed plan is kept (every depot toured first, then most residents served on time),
and its notes say what each round changed.

The plan's status is measured against an upper bound on what any tours could serve
(`optimizer.routing.bound`): `optimal` only when the tours reach it, otherwise `feasible`
with the gap to it. The route search is bounded by work (`RouteParams.steps_per_second` ×
the time limit) and seeded, so the same inputs give the same plan on any machine; the
clock is a safety cap, and a plan it cut says so.
"""

import math
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, replace
from functools import partial
from multiprocessing import get_context

from optimizer.allocate import CUT_NOTE, solve_allocation
from optimizer.params import AllocationParams, RouteParams
from optimizer.plan import Plan, RoundRecord, SolveStatus, SourceKind
from optimizer.problem import Problem
from optimizer.routing.bound import tour_bound
from optimizer.routing.plan_tours import draw_paths, route_plan
from optimizer.sources import Reach, reach

#: Seconds the planner needs at least once the scenario is read and travel times known:
#: an allocation (or its greedy fallback) and every depot's packed tours.
MIN_PLANNING_S = 1.0


@dataclass(frozen=True)
class _Restrictions:
    """What the tours revealed, handed to the next allocation: depots limited to what
    their tours brought (kg, m³), and on-time arcs (depot, shelter) the trucks could not
    serve alongside the rest."""

    limits: tuple[tuple[str, tuple[float, float]], ...]
    blocked: frozenset[tuple[str, str]]
    why: str

    def label(self) -> str:
        return f" ({self.why})" if self.why else ""


#: Seconds kept, per shelter, for the work after the route search.
POST_SECONDS_PER_SHELTER = 0.0025


def _served(plan: Plan) -> int:
    return int(plan.kpis()["residents_served_on_time"])


def _listed(names: list[str], most: int = 10) -> str:
    """The first `most` names and how many more: a province's round changed 2,000 pairs,
    which made its note 40 kB (the round record keeps them all)."""
    more = len(names) - most
    return ", ".join(names[:most]) + (f" and {more:,} more" if more > 0 else "")


def _next_restrictions(
    problem: Problem, travel: Reach, current: _Restrictions, allocated: Plan, routed: Plan
) -> list[_Restrictions]:
    """The next allocations worth trying, most promising first.

    Tours that miss on-time loads say a depot's trucks cannot do all the allocation gave
    them, not which shelter should give way. So, in turn: the shelters that gave way are
    sent late from those depots; each such depot is limited to what its tours brought;
    the farthest other shelter such a depot served on time is sent late instead (where
    geometry decides, the far shelter is what keeps a truck from two near ones).
    """
    assert routed.routing is not None
    pairs = [(c, h) for c, h in routed.routing.gave_way]
    short = sorted({c for c, _ in pairs})
    out: list[_Restrictions] = []
    if pairs:
        names = _listed([f"{h} from {c}" for c, h in pairs])
        out.append(replace(current, blocked=current.blocked | set(pairs), why=f"late: {names}"))
    planned = on_time_load(problem, allocated)
    brought = on_time_load(problem, routed)
    limits = dict(current.limits)
    for code, (kg, m3) in planned.items():
        got_kg, got_m3 = brought.get(code, (0.0, 0.0))
        if got_kg < kg * (1 - 1e-6) or got_m3 < m3 * (1 - 1e-6):
            old_kg, old_m3 = limits.get(code, (math.inf, math.inf))
            limits[code] = (min(old_kg, got_kg), min(old_m3, got_m3))
    if limits != dict(current.limits):
        names = _listed([f"{c} to {kg / 1000:,.1f} t" for c, (kg, _) in sorted(limits.items())])
        out.append(replace(current, limits=tuple(sorted(limits.items())), why=f"limits: {names}"))
    column = {h.code: j for j, h in enumerate(problem.shelters)}
    row = {(s.kind, s.code): i for i, s in enumerate(travel.sources)}
    hours = travel.times.hours.reshape(len(travel.sources), -1)
    deadline = allocated.deadline_hours
    others: list[tuple[str, str]] = []
    for code in short:
        i = row.get((SourceKind.DEPOT, code))
        if i is None:
            continue
        served = {
            sh.shelter
            for sh in allocated.shipments
            if sh.source == code
            and sh.source_kind == SourceKind.DEPOT
            and sh.arrival_hours <= deadline + 1e-6
        } - {h for c, h in pairs if c == code}
        if served:
            far = max(sorted(served), key=lambda h: hours[i, column[h]])
            others.append((code, far))
    if others:
        names = _listed([f"{h} from {c}" for c, h in others])
        out.append(
            replace(current, blocked=current.blocked | set(others), why=f"late instead: {names}")
        )
    return out


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
    from optimizer.routing import sisr

    if sisr.ready(0):
        sisr.warm()


def prepare_search(say: Callable[[str], None] | None = None) -> None:
    """Compile the route search once per machine (numba keeps it on disk), outside any
    plan's time limit; without it, routing falls back to slower OR-Tools searches."""
    from optimizer.routing import sisr

    if not sisr.ready(0) and say is not None:
        say("preparing the route search (first run on this machine, about half a minute)")
    sisr.ensure_loaded()


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


def _rank(plan: Plan) -> tuple[bool, int, int]:
    """Rank of a routed plan: every depot toured first (an untoured depot's on-time loads
    are the allocation's estimate, not tours), then residents served, then fewer late
    stops. Ties keep the earlier round."""
    assert plan.routing is not None
    return (
        not plan.routing.untoured_depots,
        plan.kpis()["residents_served_on_time"],
        -plan.routing.late_stops,
    )


def plan_with_tours(
    problem: Problem,
    params: AllocationParams = AllocationParams(),
    route_params: RouteParams = RouteParams(),
    *,
    time_limit_s: float = 20.0,
    deadline_hours: float | None = None,
    progress: Callable[[str], None] | None = None,
    travel: Reach | None = None,
    started: float | None = None,
) -> Plan:
    """The allocation routed, re-allocated while the tours miss what it assumed.

    Parameters
    ----------
    time_limit_s
        The whole run's cap, from `started` (a `time.perf_counter()` reading; now by
        default, or when the caller began reading the scenario, so that reading counts).
        The route search's work is `route_params.steps_per_second` × this, shared equally
        over the rounds; the clock only stops work that runs late (the plan says so).
    travel
        `optimizer.sources.reach(problem)`, when the caller has it already.

    Returns
    -------
    Plan
        The best round's, with `routing.rounds` listing every round, `routing.bound_residents`
        the bound, `status` optimal (tours reach the bound), feasible (gap to it, or no gap
        when no bound was proven) or timed_out (a depot left untoured: approval refuses it).

    Raises
    ------
    ValueError
        time_limit_s not positive, or below what the plan needs once travel times are known
        (the message says how much it needs).
    """
    if time_limit_s <= 0:
        raise ValueError("time_limit_s: must be positive")
    if started is None:
        prepare_search(progress)  # compiling once per machine is not the plan's work
    began = time.perf_counter() if started is None else started
    say = progress or (lambda _m: None)

    def left() -> float:
        return time_limit_s - (time.perf_counter() - began)

    say("travel times")
    travel = travel or reach(problem)  # the same for every round: computed once
    if left() < MIN_PLANNING_S:
        spent = time.perf_counter() - began
        raise ValueError(
            f"time_limit_s: reading the scenario and its travel times took {spent:.1f} s, and "
            f"planning needs {MIN_PLANNING_S:g} s more: use at least "
            f"{math.ceil(spent + MIN_PLANNING_S)} s"
        )
    say("bound on what any tours could serve")
    bound = tour_bound(
        problem,
        travel,
        route_params,
        deadline_hours=deadline_hours,
        time_limit_s=max(
            min(route_params.bound_share * time_limit_s, left() - MIN_PLANNING_S), 0.1
        ),
    )
    # Turning the tours into trips and shelters' arrivals, drawing them along the roads and
    # the last bookkeeping come after the search; they grow with the shelters (7 s for the
    # province's 3,000 with the other core busy).
    reserve = min(1.0, 0.05 * time_limit_s) + POST_SECONDS_PER_SHELTER * len(problem.shelters)
    rounds = route_params.rounds
    work = int(route_params.steps_per_second * time_limit_s)
    later = max((rounds - 1) * route_params.branching, 1)
    first_steps = int(work * route_params.first_round_work) if rounds > 1 else work
    other_steps = (work - first_steps) // later
    history: list[RoundRecord] = []
    tried: set[_Restrictions] = set()
    best: Plan | None = None
    first: Plan | None = None
    cut_short = False
    with search_pool(route_params.workers) as pool:

        def attempt(number: int, restrictions: _Restrictions, steps: int) -> tuple[Plan, Plan]:
            say(f"round {number}: allocation{restrictions.label()}")
            allocated = solve_allocation(
                problem,
                params,
                time_limit_s=max(left() * route_params.allocation_share, 0.5),
                deadline_hours=deadline_hours,
                progress=progress,
                fleet_limits=dict(restrictions.limits),
                travel=travel,
                blocked=restrictions.blocked,
            )
            routed = route_plan(
                problem,
                allocated,
                route_params,
                time_limit_s=max(left() - reserve, 1e-3),
                steps=steps,
                progress=partial(_in_round, say, number),
                paths=False,
                pool=pool,
                travel=travel,
            )
            assert routed.routing is not None
            history.append(
                RoundRecord(
                    round=number,
                    change=restrictions.why,
                    allocation_residents_on_time=allocated.kpis()["residents_served_on_time"],
                    routed_residents_on_time=routed.kpis()["residents_served_on_time"],
                    on_time_parts_missed=routed.routing.on_time_parts_missed,
                    untoured_depots=list(routed.routing.untoured_depots),
                    fleet_limits_kg={c: round(kg) for c, (kg, _) in restrictions.limits},
                    blocked=sorted([c, h] for c, h in restrictions.blocked),
                    steps=routed.routing.steps,
                    capped=routed.routing.capped or allocated.clock_cut,
                )
            )
            tried.add(restrictions)
            return allocated, routed

        def done(routed: Plan) -> bool:
            assert routed.routing is not None
            served = routed.kpis()["residents_served_on_time"]
            return routed.routing.on_time_parts_missed == 0 or (
                bound.residents is not None and served >= bound.residents
            )

        current = _Restrictions((), frozenset(), "")
        allocated, routed = attempt(1, current, first_steps)
        first, best = allocated, routed
        for number in range(2, rounds + 1):
            if done(routed):
                break
            options = [
                o for o in _next_restrictions(problem, travel, current, allocated, routed)
                if o not in tried
            ][: route_params.branching]  # fmt: skip
            if not options:
                break
            leader: tuple[_Restrictions, Plan, Plan] | None = None
            for option in options:
                if left() - reserve < MIN_PLANNING_S:
                    cut_short = True  # the clock, not the plan, ended the rounds
                    break
                a, r = attempt(number, option, other_steps)
                if leader is None or _rank(r) > _rank(leader[2]):
                    leader = (option, a, r)
                if _rank(r) > _rank(best):
                    best = r
            if leader is None:
                break
            current, allocated, routed = leader
            if cut_short:
                break
    assert best is not None
    assert first is not None
    assert best.routing is not None
    say("road paths")
    draw_paths(problem, best)
    notes = list(best.notes)
    if len(history) > 1:
        kept = next(h for h in history if h.routed_residents_on_time == _served(best))
        tried_out = "; ".join(
            f"round {h.round}{' (' + h.change + ')' if h.change else ''}: "
            f"{h.routed_residents_on_time:,}"
            for h in history
        )
        notes.append(
            "re-allocation: the tours missed on-time loads, so the allocation ran again with "
            "what they revealed (a depot limited to what its tours brought, or a shelter it "
            f"could not reach in time alongside the rest sent late): {tried_out} residents "
            f"served on time; kept round {kept.round}"
        )
    if any(h.capped for h in history) and not best.routing.capped and CUT_NOTE not in notes:
        notes.append(
            "the time limit cut another round's allocation or tours short: another run may "
            "give another plan"
        )
    if cut_short:
        notes.append(
            "the time limit ended the re-allocation rounds early (a busy machine or too short "
            "a limit): another run may give another plan"
        )
    served = best.kpis()["residents_served_on_time"]
    routing = replace(
        best.routing,
        rounds=history,
        seconds=round(time.perf_counter() - began, 3),
        allocation_status=first.status,
        allocation_gap=first.gap,
        allocation_residents_on_time=history[0].allocation_residents_on_time,
        capped=any(h.capped for h in history) or cut_short,
        steps=sum(h.steps for h in history),
        steps_planned=work,
        bound_residents=bound.residents,
        bound_note=bound.note,
    )
    gap: float | None
    if routing.untoured_depots:
        status, gap = SolveStatus.TIMED_OUT, None
    elif bound.residents is not None and served >= bound.residents:
        status, gap = SolveStatus.OPTIMAL, 0.0
    elif bound.residents is not None:
        status, gap = SolveStatus.FEASIBLE, (bound.residents - served) / max(bound.residents, 1)
    else:
        status, gap = SolveStatus.FEASIBLE, None
        notes.append("no bound on the tours was proven in time: no gap is claimed")
    return replace(
        best,
        status=status,
        gap=gap,
        solve_seconds=time.perf_counter() - began,
        routing=routing,
        notes=notes,
        clock_cut=routing.capped,
    )
