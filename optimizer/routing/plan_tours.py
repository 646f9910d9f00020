"""Vehicle tours for an allocation: which truck carries which lots to which shelters, when.

The allocation decides what each depot sends where, and checks its fleet only by a shuttle
model (`optimizer.sources.deliveries`). Routing turns each depot's loads into tours of its
own trucks (`optimizer.routing.depot`): every truck starts when the depot has loaded, may
run several trips (reloading at its depot in between), unloads at each stop (a fixed part
plus minutes per tonne), and a stop after the deadline costs lateness weighted by the
shelter's residents. Depots are independent here (their loads are fixed by the
allocation), so each is routed on its own.

Every depot gets tours first: a packed constructive start, in milliseconds, before any
search. Then the search improves them in phases, each given a number of steps (work, not
seconds) shared over depots in proportion to their parts, so the same plan comes out on
any machine; the clock only caps the search, and the plan says when it did:

1. loads the allocation planned on time must arrive by the deadline or be left out; the
   depots that still leave some out search on;
2. one late part and a shelter is not served, so while on-time parts are missing the
   shelter with the fewest residents per on-time tonne gives way (its loads go late at
   every depot), and the depots still short search again with the room it leaves;
3. what was left out is routed again as late deliveries, so nothing allocated stays at
   the depot.

The routed plan's arrival times, `served_on_time` and KPIs are recomputed from the tours:
the allocation's estimate is only where routing starts, and the plan's notes say what the
tours changed.
"""

import time
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from itertools import pairwise

import numpy as np

from optimizer.coverage import shelter_plans
from optimizer.demand import needs
from optimizer.network import Place, road_paths
from optimizer.params import RouteParams
from optimizer.plan import (
    Load,
    Plan,
    RoutingSummary,
    Shipment,
    SolveStatus,
    SourceKind,
    Trip,
    VehicleRoute,
)
from optimizer.problem import Problem, VehicleType
from optimizer.routing import sisr
from optimizer.routing.depot import DepotTours
from optimizer.routing.model import RoutingResult
from optimizer.sources import Reach, reach

__all__ = ["depot_fleets", "depot_loads", "draw_paths", "draw_route_paths", "route_plan"]


@dataclass(slots=True)
class _Depot:
    """One depot's routing state: its instance, which parts must be on time, its tours."""

    job: DepotTours
    hard: np.ndarray  # (N + 1,) node k must arrive by the deadline or be left out
    result: RoutingResult

    def missing(self) -> list[int]:
        """On-time parts the current tours leave out."""
        return [n for n in self.result.dropped if self.hard[n]]


class _Search:
    """The phases of one routing: work shares, the clock cap, what each phase did."""

    def __init__(
        self,
        depots: dict[str, _Depot],
        params: RouteParams,
        steps: int,
        cap_at: float,
        pool: ProcessPoolExecutor | None,
        say: Callable[[str], None],
    ) -> None:
        self.depots = depots
        self.params = params
        self.steps = steps
        self.cap_at = cap_at
        self.pool = pool
        self.say = say
        self.used = 0
        self.capped: list[str] = []  # depots whose search the clock cut short

    def share(self, fraction: float, codes: list[str]) -> dict[str, int]:
        """`fraction` of the work, over `codes` in proportion to their parts."""
        size = {c: len(self.depots[c].job.parts) for c in codes}
        total = sum(size.values()) or 1
        return {c: int(self.steps * fraction * size[c] / total) for c in codes}

    def improve(self, code: str, steps: int, what: str) -> None:
        d = self.depots[code]
        if steps <= 0:
            return
        if time.time() >= self.cap_at:
            if code not in self.capped:
                self.capped.append(code)
            return
        self.say(f"routing {code}: {what}")
        d.result = d.job.solve(
            d.hard,
            d.result,
            steps=steps,
            workers=self.params.workers,
            seed=self.params.seed,
            cap_at=self.cap_at,
            pool=self.pool,
        )
        self.used += d.result.steps
        if d.result.capped and code not in self.capped:
            self.capped.append(code)


def depot_loads(plan: Plan) -> dict[str, dict[tuple[str, bool], list[Load]]]:
    """Each depot's shipments as loads per (shelter, planned on time)."""
    out: dict[str, dict[tuple[str, bool], list[Load]]] = defaultdict(lambda: defaultdict(list))
    for sh in plan.shipments:
        if sh.source_kind == SourceKind.DEPOT:
            urgent = sh.arrival_hours <= plan.deadline_hours + 1e-6
            out[sh.source][(sh.shelter, urgent)].append(Load(sh.item, sh.lot, sh.qty))
    return out


def depot_fleets(problem: Problem) -> dict[str, list[VehicleType]]:
    """Each depot's truck types that have trucks."""
    out: dict[str, list[VehicleType]] = defaultdict(list)
    for v in problem.fleet:
        if v.count > 0:
            out[v.depot].append(v)
    return out


def route_plan(
    problem: Problem,
    plan: Plan,
    params: RouteParams = RouteParams(),
    *,
    time_limit_s: float = 10.0,
    steps: int | None = None,
    progress: Callable[[str], None] | None = None,
    paths: bool = True,
    pool: ProcessPoolExecutor | None = None,
    travel: Reach | None = None,
) -> Plan:
    """Tours for every depot's shipments of `plan`; the plan recomputed from them.

    Agreement shipments keep their own delivery (suppliers bring them). A part no truck can
    take (no fleet, unreachable, or more parts than trips) is left out, and the shelter's
    reasons say so.

    Parameters
    ----------
    time_limit_s
        Safety cap on the search (wall clock); the plan's routing summary says when it
        bit (`capped`), the one case where two runs may differ.
    steps
        Search work for every phase and depot together; `params.steps_per_second` ×
        `time_limit_s` by default.
    paths
        Draw each trip along the roads (for the map and GeoJSON).
    pool
        Runs the extra search workers (`optimizer.planner.search_pool`).
    travel
        `optimizer.sources.reach(problem)` when the caller has it already.
    """
    if time_limit_s <= 0:
        raise ValueError("time_limit_s: must be positive")
    sisr.ensure_loaded()  # before the clock: compiling is not the plan's work
    started = time.perf_counter()
    cap_at = time.time() + time_limit_s
    work = int(params.steps_per_second * time_limit_s) if steps is None else steps
    if work < 0:
        raise ValueError("steps: cannot be negative")
    say = progress or (lambda _m: None)
    deadline = plan.deadline_hours
    depots = {d.code: d for d in problem.depots}
    where = {h.code: h for h in problem.shelters}

    by_depot = depot_loads(plan)
    kept = [sh for sh in plan.shipments if sh.source_kind != SourceKind.DEPOT]
    fleet = depot_fleets(problem)

    dropped: dict[str, list[str]] = defaultdict(list)  # shelter -> why
    state: dict[str, _Depot] = {}
    untoured: list[str] = []  # depots the clock left no time to build tours for
    # Every depot is toured before any search: building its instance (travel times
    # between its shelters) and the packed start take well under a second a depot. Only
    # a clock already past the cap leaves depots untoured (their shipments stay the
    # allocation's estimate, and the plan is timed_out).
    for code, shelters in sorted(by_depot.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        vehicles = fleet.get(code, [])
        if not vehicles:
            for shelter, _ in shelters:
                dropped[shelter].append(f"no vehicle at {code}")
            continue
        if time.time() >= cap_at:
            untoured.append(code)
            continue
        job = DepotTours.for_loads(problem, depots[code], vehicles, shelters, deadline, params)
        for part in job.unreachable:
            dropped[part.shelter].append(f"unreachable from {code}")
        if job.parts and not job.trucks:
            for part in job.parts:
                dropped[part.shelter].append(f"every truck of {code} is cut off on the road")
        elif job.parts:
            hard = np.array([False] + [p.urgent for p in job.parts])
            state[code] = _Depot(job, hard, job.construct(hard))
    untoured.sort()
    for code in untoured:  # their shipments stay the allocation's estimate, untoured
        kept.extend(
            sh for sh in plan.shipments if sh.source_kind == SourceKind.DEPOT and sh.source == code
        )
    search = _Search(state, params, work, cap_at, pool, say)
    first, giving, late = (s / sum(params.phase_shares) for s in params.phase_shares)

    # Phase 1: on-time loads arrive by the deadline or are left out; biggest depots first.
    order = sorted(state, key=lambda c: (-len(state[c].job.parts), c))
    budget = search.share(first / 2, order)
    for code in order:
        search.improve(code, budget[code], f"{len(state[code].job.parts)} parts")
    harder = [c for c in order if state[c].missing()]
    budget = search.share(first / 2, harder)
    for code in harder:
        search.improve(code, budget[code], f"{len(state[code].missing())} on-time parts left out")

    # Phase 2: while on-time parts are missing, the shelter with the fewest residents per
    # on-time tonne gives way, and the depots still short search again.
    missed = 0
    gave_way: list[tuple[str, str]] = []  # (depot, shelter) whose on-time parts it missed
    parts_of: dict[str, list[tuple[str, int]]] = defaultdict(list)  # shelter -> (depot, node)
    for code, d in state.items():
        for k, part in enumerate(d.job.parts, start=1):
            parts_of[part.shelter].append((code, k))

    def give_up(shelter: str) -> None:
        """The shelter's on-time loads, at every depot, yield to the others' (go late)."""
        nonlocal missed
        for code, k in parts_of[shelter]:
            d = state[code]
            if not d.hard[k]:
                continue
            d.hard[k] = False
            d.job.parts[k - 1].urgent = False  # waits like planned-late loads now
            if k in d.result.dropped:
                missed += 1
                if (code, shelter) not in gave_way:
                    gave_way.append((code, shelter))
                dropped[shelter].append(f"no truck of {code} could bring it by {deadline:g} h")

    def short() -> set[str]:
        return {d.job.parts[n - 1].shelter for d in state.values() for n in d.missing()}

    for _ in range(params.max_yields):
        waiting = short()
        if not waiting:
            break
        tonnes: dict[str, float] = defaultdict(float)
        for d in state.values():
            for k, part in enumerate(d.job.parts, start=1):
                if d.hard[k] and part.shelter in waiting:
                    tonnes[part.shelter] += part.kg / 1000
        give_up(min(waiting, key=lambda s: (where[s].residents / max(tonnes[s], 1e-9), s)))
        harder = [c for c in order if state[c].missing()]
        budget = search.share(giving / max(params.max_yields, 1), harder)
        for code in harder:
            search.improve(code, budget[code], f"{len(state[code].missing())} on-time parts left")
    # Phase 3: what could not arrive in time goes late, from the tours so far.
    for shelter in sorted(short()):
        give_up(shelter)
    again = [c for c in order if state[c].result.dropped]
    budget = search.share(late, again)
    for code in again:
        search.improve(code, budget[code], f"{len(state[code].result.dropped)} parts late")

    routes: list[VehicleRoute] = []
    shipped: list[Shipment] = []
    for code, d in sorted(state.items()):
        for node in d.result.dropped:
            dropped[d.job.parts[node - 1].shelter].append(f"no truck of {code} could take it")
        depot_routes, depot_shipments = d.job.output(d.result)
        routes.extend(depot_routes)
        shipped.extend(depot_shipments)
    if paths:
        draw_route_paths(problem, routes)
    shipments = sorted(kept + shipped, key=lambda s: (s.arrival_hours, s.shelter, s.item))
    travel = travel or reach(problem)
    need = {(n.shelter, n.item): n for n in needs(problem)}
    shelters_out = shelter_plans(problem, travel.sources, travel.times, need, shipments, deadline)
    before = {s.code: s.served_on_time for s in plan.shelters}
    for s in shelters_out:
        for why in sorted(set(dropped.get(s.code, []))):
            s.reasons.append(f"not routed in time: {why}")
        if before.get(s.code) and not s.served_on_time:
            s.reasons.append("routing: the tours arrive later than the allocation assumed")
    notes: list[str] = []
    lost_served = [s.code for s in shelters_out if before.get(s.code) and not s.served_on_time]
    won = [s.code for s in shelters_out if not before.get(s.code) and s.served_on_time]
    if lost_served:
        notes.append(
            f"routing: {len(lost_served)} shelter(s) no longer served on time: "
            + ", ".join(lost_served[:10])
        )
    if won:
        notes.append(f"routing: {len(won)} shelter(s) now served on time: " + ", ".join(won))
    if search.capped:
        notes.append(
            f"routing: the time limit cut the route search short at {', '.join(search.capped)}"
            " (a busy machine or too short a limit): another run may give other tours"
        )
    unrouted = sum(len(d.result.dropped) for d in state.values())
    if unrouted:
        notes.append(f"routing: {unrouted} load part(s) could not be routed at all")
    if untoured:
        notes.append(
            f"routing: the time limit ran out before the tours of {len(untoured)} depot(s) "
            f"({', '.join(untoured)}); their shipments are the allocation's, untoured"
        )
    late_stops = sum(1 for r in routes for t in r.trips for st in t.stops if st.late_hours > 0)
    summary = RoutingSummary(
        status=SolveStatus.TIMED_OUT if untoured else SolveStatus.FEASIBLE,
        seconds=round(time.perf_counter() - started, 3),
        vehicles_used=len(routes),
        trips=sum(len(r.trips) for r in routes),
        stops=sum(len(t.stops) for r in routes for t in r.trips),
        late_stops=late_stops,
        on_time_parts_missed=missed,
        gave_way=[list(pair) for pair in gave_way],
        untoured_depots=untoured,
        allocation_residents_on_time=plan.kpis()["residents_served_on_time"],
        steps=search.used,
        steps_planned=work,
        capped=bool(search.capped),
        seed=params.seed,
    )
    return replace(
        plan,
        shipments=shipments,
        shelters=shelters_out,
        routes=routes,
        routing=summary,
        notes=[*plan.notes, *notes],
    )


def draw_paths(problem: Problem, plan: Plan) -> None:
    """Each trip's polyline along the roads (for the map and GeoJSON), in place."""
    draw_route_paths(problem, plan.routes or [])


def draw_route_paths(problem: Problem, routes: list[VehicleRoute]) -> None:
    """Each trip's polyline along the roads: depot, its stops in order, depot (the map
    layers draw a stored plan's tours with it too)."""
    depots = {d.code: d for d in problem.depots}
    where = {h.code: h for h in problem.shelters}
    speed = {(v.depot, v.vehicle_type): v.speed_kmh for v in problem.fleet}
    legs: list[tuple[Place, Place]] = []
    owners: list[Trip] = []
    for r in routes:
        d = depots[r.depot]
        home = Place(r.depot, d.lat, d.lon, speed.get((r.depot, r.vehicle_type)))
        for trip in r.trips:
            trip.path.clear()
            stops = [
                Place(st.shelter, where[st.shelter].lat, where[st.shelter].lon, home.speed_cap_kmh)
                for st in trip.stops
            ]
            chain = [home, *stops, home]
            for a, b in pairwise(chain):
                legs.append((a, b))
                owners.append(trip)
    for trip, line in zip(owners, road_paths(problem, legs), strict=True):
        trip.path.extend(line if not trip.path else line[1:])
