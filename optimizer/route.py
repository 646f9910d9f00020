"""Vehicle tours for an allocation: which truck carries which lots to which shelters, when.

The allocation decides what each depot sends where, and checks its fleet only by a shuttle
model (`optimizer.sources.deliveries`). Routing turns each depot's loads into tours of its
own trucks (`optimizer.tours`, on the `optimizer.vrp` engine): every truck starts when the
depot has loaded, may run several trips (reloading at its depot in between), unloads at
each stop (a fixed part plus minutes per tonne), and a stop after the deadline costs
lateness weighted by the shelter's residents. Depots are independent here (their loads are
fixed by the allocation), so each is routed on its own, with a share of the time limit in
proportion to its parts.

Two rounds. First, the loads the allocation planned on time must arrive by the deadline or
be left out (the router says which it cannot bring in time). Then what was left out is
routed again as late deliveries, starting from the first round's tours, so nothing
allocated is left at the depot. The routed plan's arrival times, `served_on_time` and KPIs
are recomputed from the tours: the allocation's estimate is only where routing starts, and
the plan's notes say what the tours changed.
"""

import os
import time
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from itertools import pairwise

import numpy as np

from optimizer.coverage import shelter_plans
from optimizer.demand import needs
from optimizer.network import Place, road_paths
from optimizer.plan import Load, Plan, Shipment, SourceKind, Trip, VehicleRoute
from optimizer.problem import Problem, VehicleType
from optimizer.sources import (
    RELOAD_HOURS,
    STOP_HOURS,
    UNLOAD_HOURS_PER_TONNE,
    Reach,
    reach,
)
from optimizer.tours import DepotTours, parts
from optimizer.vrp import RoutingResult

#: Share of the routing time the first round (on-time loads with hard deadlines) may use.
FIRST_ROUND_SHARE = 0.6
#: ... and with shelters giving way to others, until this share.
YIELD_SHARE = 0.85
#: A depot not yet routed by this share of the time keeps the allocation's shipments.
CUT_OFF_SHARE = 0.9


@dataclass(frozen=True, slots=True)
class RouteParams:
    """How tours are built.

    stop_minutes, unload_minutes_per_tonne: service time at a stop.
    reload_hours: between two trips of a truck (loading again at its depot).
    max_trips: trips a truck may run in the horizon.
    lateness_per_resident_minute: cost of one resident waiting one minute past the
        deadline, against 1 per minute of driving.
    workers: independent routing runs per depot (one per core, two at most).
    """

    stop_minutes: float = STOP_HOURS * 60
    unload_minutes_per_tonne: float = UNLOAD_HOURS_PER_TONNE * 60
    reload_hours: float = RELOAD_HOURS
    max_trips: int = 8
    lateness_per_resident_minute: int = 10
    workers: int = field(default_factory=lambda: min(2, os.cpu_count() or 1))

    def __post_init__(self) -> None:
        if self.stop_minutes < 0 or self.unload_minutes_per_tonne < 0:
            raise ValueError("stop_minutes: service times cannot be negative")
        if self.reload_hours < 0:
            raise ValueError("reload_hours: cannot be negative")
        if self.max_trips < 1:
            raise ValueError("max_trips: at least 1")
        if self.workers < 1:
            raise ValueError("workers: at least 1")


def route_plan(
    problem: Problem,
    plan: Plan,
    params: RouteParams = RouteParams(),
    *,
    time_limit_s: float = 10.0,
    progress: Callable[[str], None] | None = None,
    paths: bool = True,
    pool: ProcessPoolExecutor | None = None,
    travel: Reach | None = None,
) -> Plan:
    """Tours for every depot's shipments of `plan`; the plan recomputed from them.

    Agreement shipments keep their own delivery (suppliers bring them). A part no truck can
    take (no fleet, unreachable, or more parts than trips) is left out, and the shelter's
    reasons say so. `paths` draws each trip along the roads (for the map and GeoJSON);
    `pool` runs the extra search workers (`optimizer.planner.search_pool`); `travel` is
    `optimizer.sources.reach(problem)` when the caller has it already.
    """
    if time_limit_s <= 0:
        raise ValueError("time_limit_s: must be positive")
    started = time.perf_counter()
    say = progress or (lambda _m: None)
    deadline = plan.deadline_hours
    weight = {it.code: it.unit_weight_kg for it in problem.items}
    volume = {it.code: it.unit_volume_m3 for it in problem.items}
    depots = {d.code: d for d in problem.depots}
    where = {h.code: h for h in problem.shelters}

    by_depot: dict[str, dict[tuple[str, bool], list[Load]]] = defaultdict(lambda: defaultdict(list))
    kept: list[Shipment] = []
    for sh in plan.shipments:
        if sh.source_kind == SourceKind.DEPOT:
            urgent = sh.arrival_hours <= deadline + 1e-6
            by_depot[sh.source][(sh.shelter, urgent)].append(Load(sh.item, sh.lot, sh.qty))
        else:
            kept.append(sh)
    fleet: dict[str, list[VehicleType]] = defaultdict(list)
    for v in problem.fleet:
        if v.count > 0:
            fleet[v.depot].append(v)

    dropped: dict[str, list[str]] = defaultdict(list)  # shelter -> why
    jobs: dict[str, DepotTours] = {}
    for code, shelters in sorted(by_depot.items()):
        vehicles = fleet.get(code, [])
        if not vehicles:
            for shelter, _ in shelters:
                dropped[shelter].append(f"no vehicle at {code}")
            continue
        # Parts the smallest truck can carry: any truck can take any part, and a big one
        # takes several (a shelter's consecutive parts on one truck are one stop).
        cap_kg = min(v.capacity_kg for v in vehicles)
        cap_m3 = min(v.capacity_m3 for v in vehicles)
        cut = [
            part
            for (shelter, urgent), lines in sorted(shelters.items())
            for part in parts(shelter, urgent, lines, weight, volume, cap_kg, cap_m3)
        ]
        job = DepotTours.build(
            problem,
            depots[code],
            vehicles,
            cut,
            where,
            deadline,
            stop_minutes=params.stop_minutes,
            unload_minutes_per_tonne=params.unload_minutes_per_tonne,
            reload_hours=params.reload_hours,
            max_trips=params.max_trips,
            lateness_per_resident_minute=params.lateness_per_resident_minute,
        )
        for part in job.unreachable:
            dropped[part.shelter].append(f"unreachable from {code}")
        if job.parts and not job.trucks:
            for part in job.parts:
                dropped[part.shelter].append(f"every truck of {code} is cut off on the road")
        elif job.parts:
            jobs[code] = job

    def budget(share: float, codes: list[str]) -> dict[str, float]:
        left = max(time_limit_s * share - (time.perf_counter() - started), 0.0)
        size = {c: len(jobs[c].parts) for c in codes}
        total = sum(size.values()) or 1
        return {c: max(left * size[c] / total, 0.3) for c in codes}

    # Round 1: on-time loads arrive by the deadline or are left out.
    hard = {c: np.array([False] + [p.urgent for p in j.parts]) for c, j in jobs.items()}
    results: dict[str, RoutingResult] = {}
    seconds = budget(FIRST_ROUND_SHARE / 2, list(jobs))
    late_start: list[str] = []  # depots the time limit left no time to route
    # Biggest first: when time runs short (a loaded machine), the small depots wait.
    for code, job in sorted(jobs.items(), key=lambda kv: (-len(kv[1].parts), kv[0])):
        if results and time.perf_counter() - started > time_limit_s * CUT_OFF_SHARE:
            late_start.append(code)
            continue
        say(f"routing {code}: {len(job.parts)} parts, {len(job.trucks)} trucks")
        results[code] = job.solve(hard[code], seconds[code], params.workers, pool=pool)
    for code in late_start:  # their shipments stay the allocation's, untoured
        del jobs[code]
        kept.extend(
            sh for sh in plan.shipments if sh.source_kind == SourceKind.DEPOT and sh.source == code
        )

    def missing(code: str) -> list[int]:
        return [n for n in results[code].dropped if hard[code][n]]

    # The depots that left on-time loads out search on, from their tours, with the rest of
    # the first round's time (most depots are easy: their share goes to the hard ones).
    harder = [c for c in results if missing(c)]
    seconds = budget(FIRST_ROUND_SHARE, harder)
    for code in harder:
        say(f"routing {code} on: {len(missing(code))} on-time parts left out")
        better = jobs[code].solve(hard[code], seconds[code], params.workers, results[code], pool)
        if better.objective is not None and better.objective <= (results[code].objective or 0):
            results[code] = better
    missed = 0

    def give_up(shelter: str) -> None:
        """The shelter's on-time loads, at every depot, yield to the others' (go late)."""
        nonlocal missed
        for code, job in jobs.items():
            lost = set(results[code].dropped) if code in results else set()
            for k, part in enumerate(job.parts, start=1):
                if part.shelter == shelter and hard[code][k]:
                    hard[code][k] = False
                    part.urgent = False  # waits like planned-late loads now
                    if k in lost:
                        missed += 1
                        dropped[shelter].append(
                            f"no truck of {code} could bring it by {deadline:g} h"
                        )

    # One late part and the shelter is not served, so misses spread over several shelters
    # are worse than the same misses at one: while on-time parts are missing, the shelter
    # with the fewest residents per on-time tonne gives way, and the depots still missing
    # parts search again with the room it leaves.
    while time.perf_counter() - started < time_limit_s * YIELD_SHARE:
        short = {jobs[c].parts[n - 1].shelter for c in results for n in missing(c)}
        if not short:
            break
        tonnes: dict[str, float] = defaultdict(float)
        for code, job in jobs.items():
            for k, part in enumerate(job.parts, start=1):
                if hard[code][k] and part.shelter in short:
                    tonnes[part.shelter] += part.kg / 1000
        give_up(min(short, key=lambda s: (where[s].residents / max(tonnes[s], 1e-9), s)))
        harder = [c for c in results if missing(c)]
        left = time_limit_s * YIELD_SHARE - (time.perf_counter() - started)
        seconds = budget(YIELD_SHARE, harder)
        for code in harder:
            seconds[code] = min(seconds[code], max(left / 2, 0.3))
            job = jobs[code]
            better = job.solve(hard[code], seconds[code], params.workers, results[code], pool)
            if better.objective is not None:
                results[code] = better
    # Round 2: what could not arrive in time goes late, from the first round's tours.
    for shelter in sorted({jobs[c].parts[n - 1].shelter for c in results for n in missing(c)}):
        give_up(shelter)
    again = [c for c, r in results.items() if r.dropped]
    seconds = budget(1.0, again)
    for code in again:
        first = results[code]
        say(f"routing {code} again: {len(first.dropped)} parts late")
        second = jobs[code].solve(hard[code], seconds[code], params.workers, first, pool)
        if second.objective is not None:
            results[code] = second

    routes: list[VehicleRoute] = []
    shipped: list[Shipment] = []
    statuses: list[str] = []
    for code, result in results.items():
        job = jobs[code]
        statuses.append(result.status)
        for node in result.dropped:
            dropped[job.parts[node - 1].shelter].append(f"no truck of {code} could take it")
        depot_routes, depot_shipments = job.output(result)
        routes.extend(depot_routes)
        shipped.extend(depot_shipments)
    if paths:
        _draw_paths(problem, routes)
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
    if late_start:
        statuses.append("timed_out")
        notes.append(
            f"routing: the time limit ran out before the tours of {len(late_start)} depot(s) "
            f"({', '.join(late_start[:10])}); their shipments are the allocation's, untoured"
        )
    unrouted = sum(len(r.dropped) for r in results.values())
    if unrouted:
        notes.append(f"routing: {unrouted} load part(s) could not be routed at all")
    late_stops = sum(1 for r in routes for t in r.trips for st in t.stops if st.late_hours > 0)
    routing = {
        "status": _worst(statuses),
        "seconds": round(time.perf_counter() - started, 3),
        "vehicles_used": len(routes),
        "trips": sum(len(r.trips) for r in routes),
        "stops": sum(len(t.stops) for r in routes for t in r.trips),
        "late_stops": late_stops,
        "on_time_parts_missed": missed,
        "untoured_depots": late_start,
        "allocation_residents_on_time": plan.kpis()["residents_served_on_time"],
    }
    return replace(
        plan,
        shipments=shipments,
        shelters=shelters_out,
        routes=routes,
        routing=routing,
        notes=[*plan.notes, *notes],
    )


def draw_paths(problem: Problem, plan: Plan) -> None:
    """Each trip's polyline along the roads (for the map and GeoJSON), in place."""
    _draw_paths(problem, plan.routes or [])


def _draw_paths(problem: Problem, routes: list[VehicleRoute]) -> None:
    """Each trip's polyline along the roads: depot, its stops in order, depot."""
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


def _worst(statuses: list[str]) -> str:
    for status in ("timed_out", "infeasible", "feasible", "optimal"):
        if status in statuses:
            return status
    return "optimal"
