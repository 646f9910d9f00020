"""Vehicle tours for an allocation: which truck carries which lots to which shelters, when.

The allocation decides what each depot sends where; it checks its fleet only through
tonne-hour budgets. Routing turns each depot's loads into tours of its own trucks
(`optimizer.vrp`, OR-Tools routing): every truck starts when the depot has loaded, may run
several trips (reloading at its depot in between), unloads at each stop (a fixed part
plus minutes per tonne), and a stop after the deadline costs lateness weighted by the
shelter's residents. A shelter's load is split into parts the depot's smallest truck can
carry; bigger trucks take several.
Depots are independent here (their loads are fixed by the allocation), so each is routed on
its own, with a share of the time limit in proportion to its stops.

The routed plan's arrival times, `served_on_time` and KPIs are recomputed from the tours:
the allocation's estimate is only where routing starts, and the plan's notes say what the
tours changed.
"""

import math
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, replace
from itertools import pairwise

import numpy as np

from optimizer.coverage import shelter_plans
from optimizer.demand import needs
from optimizer.network import Place, road_paths, travel_times
from optimizer.plan import Load, Plan, Shipment, SourceKind, Stop, Trip, VehicleRoute
from optimizer.problem import Problem, VehicleType
from optimizer.sources import (
    RELOAD_HOURS,
    STOP_HOURS,
    UNLOAD_HOURS_PER_TONNE,
    source_travel_times,
    sources,
)
from optimizer.vrp import RoutingModel, Vehicle, solve_routing

MINUTES = 60.0


@dataclass(frozen=True, slots=True)
class RouteParams:
    """How tours are built.

    stop_minutes, unload_minutes_per_tonne: service time at a stop.
    reload_hours: between two trips of a truck (loading again at its depot).
    max_trips: trips a truck may run in the horizon.
    lateness_per_resident_minute: cost of one resident waiting one minute past the
        deadline, against 1 per minute of driving.
    workers: independent routing runs per depot (one per core).
    """

    stop_minutes: float = STOP_HOURS * 60
    unload_minutes_per_tonne: float = UNLOAD_HOURS_PER_TONNE * 60
    reload_hours: float = RELOAD_HOURS
    max_trips: int = 6
    lateness_per_resident_minute: int = 10
    workers: int = 1

    def __post_init__(self) -> None:
        if self.stop_minutes < 0 or self.unload_minutes_per_tonne < 0:
            raise ValueError("stop_minutes: service times cannot be negative")
        if self.reload_hours < 0:
            raise ValueError("reload_hours: cannot be negative")
        if self.max_trips < 1:
            raise ValueError("max_trips: at least 1")
        if self.workers < 1:
            raise ValueError("workers: at least 1")


@dataclass(slots=True)
class _Part:
    """A truck-sized part of one shelter's load from one depot."""

    shelter: str
    loads: list[Load]
    kg: float
    m3: float
    urgent: bool = True  # planned to arrive by the deadline (the rest were planned late)


@dataclass(slots=True)
class _Truck:
    name: str
    spec: VehicleType


def _parts(
    shelter: str,
    urgent: bool,
    lines: list[Load],
    weight: dict[str, float],
    volume: dict[str, float],
    cap_kg: float,
    cap_m3: float,
) -> list[_Part]:
    """Split a shelter's load into the fewest near-equal parts that each fit a truck."""
    kg = sum(line.qty * weight[line.item] for line in lines)
    m3 = sum(line.qty * volume[line.item] for line in lines)
    count = max(1, math.ceil(max(kg / cap_kg if cap_kg else 0, m3 / cap_m3 if cap_m3 else 0)))
    while True:
        parts = [_Part(shelter, [], 0.0, 0.0, urgent) for _ in range(count)]
        for line in lines:
            base, extra = divmod(line.qty, count)
            for k, part in enumerate(parts):
                qty = base + (1 if k < extra else 0)
                if qty:
                    part.loads.append(Load(line.item, line.lot, qty))
                    part.kg += qty * weight[line.item]
                    part.m3 += qty * volume[line.item]
        if all(p.kg <= cap_kg + 1e-9 and p.m3 <= cap_m3 + 1e-9 for p in parts):
            return [p for p in parts if p.loads]
        count += 1


def route_plan(
    problem: Problem,
    plan: Plan,
    params: RouteParams = RouteParams(),
    *,
    time_limit_s: float = 10.0,
    progress: Callable[[str], None] | None = None,
) -> Plan:
    """Tours for every depot's shipments of `plan`; the plan recomputed from them.

    Agreement shipments keep their own delivery (suppliers bring them). A part no truck can
    take (no fleet, unreachable, or more parts than trips) is left out, and the shelter's
    reasons say so.
    """
    if time_limit_s <= 0:
        raise ValueError("time_limit_s: must be positive")
    started = time.perf_counter()
    say = progress or (lambda _m: None)
    deadline = plan.deadline_hours
    weight = {it.code: it.unit_weight_kg for it in problem.items}
    volume = {it.code: it.unit_volume_m3 for it in problem.items}
    depots = {d.code: d for d in problem.depots}
    residents = {h.code: h.residents for h in problem.shelters}
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

    total_parts = sum(len(s) for s in by_depot.values()) or 1
    routes: list[VehicleRoute] = []
    shipped: list[Shipment] = []
    notes: list[str] = []
    dropped: dict[str, list[str]] = defaultdict(list)  # shelter -> why
    statuses: list[str] = []
    for code, shelters in sorted(by_depot.items()):
        depot = depots[code]
        vehicles = fleet.get(code, [])
        if not vehicles:
            for shelter, _ in shelters:
                dropped[shelter].append(f"no vehicle at {code}")
            continue
        # Parts the smallest truck can carry: any truck can take any part, and a big one
        # takes several (a shelter's consecutive parts merge into one stop).
        cap_kg = min(v.capacity_kg for v in vehicles)
        cap_m3 = min(v.capacity_m3 for v in vehicles)
        parts = [
            part
            for (shelter, urgent), lines in sorted(shelters.items())
            for part in _parts(shelter, urgent, lines, weight, volume, cap_kg, cap_m3)
        ]
        left = time_limit_s - (time.perf_counter() - started)
        budget = max(left * len(shelters) / total_parts, 0.5)
        total_parts -= len(shelters)
        say(f"routing {code}: {len(parts)} stops, {sum(v.count for v in vehicles)} trucks")
        result = _route_depot(
            problem,
            depot.code,
            depot.lat,
            depot.lon,
            depot.loading_hours,
            vehicles,
            parts,
            residents,
            where,
            deadline,
            params,
            budget,
        )
        if result is None:
            for part in parts:
                dropped[part.shelter].append(f"unreachable from {code}")
            continue
        depot_routes, depot_shipments, lost, status = result
        statuses.append(status)
        routes.extend(depot_routes)
        shipped.extend(depot_shipments)
        for shelter, why in lost:
            dropped[shelter].append(why)

    _draw_paths(problem, routes, where, depots, fleet)
    shipments = sorted(kept + shipped, key=lambda s: (s.arrival_hours, s.shelter, s.item))
    srcs = sources(problem)
    times = source_travel_times(problem, srcs)
    need = {(n.shelter, n.item): n for n in needs(problem)}
    shelters_out = shelter_plans(problem, srcs, times, need, shipments, deadline)
    before = {s.code: s.served_on_time for s in plan.shelters}
    for s in shelters_out:
        for why in sorted(set(dropped.get(s.code, []))):
            s.reasons.append(f"not routed: {why}")
        if before.get(s.code) and not s.served_on_time:
            s.reasons.append("routing: the tours arrive later than the allocation assumed")
    lost_served = [s.code for s in shelters_out if before.get(s.code) and not s.served_on_time]
    won = [s.code for s in shelters_out if not before.get(s.code) and s.served_on_time]
    if lost_served:
        notes.append(
            f"routing: {len(lost_served)} shelter(s) no longer served on time: "
            + ", ".join(lost_served[:10])
        )
    if won:
        notes.append(f"routing: {len(won)} shelter(s) now served on time: " + ", ".join(won))
    if dropped:
        notes.append(f"routing: loads for {len(dropped)} shelter(s) could not be routed")
    late_stops = sum(1 for r in routes for t in r.trips for st in t.stops if st.late_hours > 0)
    routing = {
        "status": _worst(statuses),
        "seconds": round(time.perf_counter() - started, 3),
        "vehicles_used": len(routes),
        "trips": sum(len(r.trips) for r in routes),
        "stops": sum(len(t.stops) for r in routes for t in r.trips),
        "late_stops": late_stops,
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


def _draw_paths(
    problem: Problem,
    routes: list[VehicleRoute],
    where: dict,
    depots: dict,
    fleet: dict[str, list[VehicleType]],
) -> None:
    """Each trip's polyline along the roads: depot, its stops in order, depot."""
    speed = {(v.depot, v.vehicle_type): v.speed_kmh for vs in fleet.values() for v in vs}
    legs: list[tuple[Place, Place]] = []
    owners: list[Trip] = []
    for r in routes:
        d = depots[r.depot]
        home = Place(r.depot, d.lat, d.lon, speed.get((r.depot, r.vehicle_type)))
        for trip in r.trips:
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


def _route_depot(
    problem: Problem,
    code: str,
    lat: float,
    lon: float,
    loading_hours: float,
    vehicles: list[VehicleType],
    parts: list[_Part],
    residents: dict[str, int],
    where: dict,
    deadline: float,
    params: RouteParams,
    seconds: float,
) -> tuple[list[VehicleRoute], list[Shipment], list[tuple[str, str]], str] | None:
    """One depot's tours; None when none of its stops can be reached."""
    shelters = sorted({p.shelter for p in parts})
    places = [Place(code, lat, lon)] + [Place(s, where[s].lat, where[s].lon) for s in shelters]
    speeds = sorted({v.speed_kmh for v in vehicles})
    profile_of = {s: k for k, s in enumerate(speeds)}
    column = [0] + [1 + shelters.index(p.shelter) for p in parts]  # node -> place
    minutes: list[np.ndarray] = []
    for speed in speeds:
        hours = travel_times(
            problem,
            [Place(p.code, p.lat, p.lon, speed) for p in places],
            places,
        ).hours
        np.fill_diagonal(hours, 0.0)
        minutes.append(hours[np.ix_(column, column)] * MINUTES)
    reachable = np.isfinite(minutes[0][0]) & np.isfinite(minutes[0][:, 0])
    lost = [
        (parts[k - 1].shelter, f"unreachable from {code}")
        for k in range(1, len(column))
        if not reachable[k]
    ]
    keep = [0] + [k for k in range(1, len(column)) if reachable[k]]
    if len(keep) == 1:
        return None
    parts = [parts[k - 1] for k in keep[1:]]
    big = 10**7
    times = [
        np.where(np.isfinite(m[np.ix_(keep, keep)]), np.rint(m[np.ix_(keep, keep)]), big).astype(
            np.int64
        )
        for m in minutes
    ]
    n = len(keep)
    demand = np.zeros((n, 2), dtype=np.int64)
    service = np.zeros(n, dtype=np.int64)
    lateness = np.zeros(n, dtype=np.int64)
    for k, part in enumerate(parts, start=1):
        demand[k] = (math.ceil(part.kg), math.ceil(part.m3 * 1000))
        service[k] = round(params.stop_minutes + params.unload_minutes_per_tonne * part.kg / 1000)
        # Every part of a shelter's load counts its whole population late: one late part
        # and the shelter is not served. Loads planned late anyway yield to the rest.
        per_minute = params.lateness_per_resident_minute * residents[part.shelter]
        lateness[k] = max(1, round(per_minute if part.urgent else per_minute / 100))
    horizon = int((deadline + 48) * MINUTES)
    ready = round(loading_hours * MINUTES)
    reload = round(params.reload_hours * MINUTES)
    trucks: list[_Truck] = []
    for v in vehicles:
        for k in range(v.count):
            trucks.append(_Truck(f"{code}/{v.vehicle_type}-{k + 1}", v))
    trips_each = min(params.max_trips, max(1, math.ceil(len(parts) / len(trucks)) + 1))
    fleet: list[Vehicle] = []
    chains: list[tuple[int, ...]] = []
    owner: list[tuple[int, int]] = []  # routing vehicle -> (truck, trip)
    for t, truck in enumerate(trucks):
        chain = []
        for trip in range(trips_each):
            chain.append(len(fleet))
            owner.append((t, trip))
            fleet.append(
                Vehicle(
                    start=0,
                    end=0,
                    capacity=(int(truck.spec.capacity_kg), int(truck.spec.capacity_m3 * 1000)),
                    profile=profile_of[truck.spec.speed_kmh],
                    earliest_start=ready,
                )
            )
        chains.append(tuple(chain))
    window = np.tile(np.array([0, horizon], dtype=np.int64), (n, 1))
    model = RoutingModel(
        distance=times[0],
        times=times,
        demand=demand,
        service=service,
        window=window,
        vehicles=tuple(fleet),
        soft_latest=np.full(n, int(deadline * MINUTES), dtype=np.int64),
        lateness_cost=lateness,
        # Leaving a load behind must cost more than any lateness: late beats unmet.
        drop_penalty=np.full(n, int(lateness.max(initial=1)) * horizon * 4, dtype=np.int64),
        chains=tuple(chains),
        reload=reload,
        depots=frozenset({0}),
    )
    result = solve_routing(model, time_limit_s=seconds, workers=params.workers)
    for node in result.dropped:
        lost.append((parts[node - 1].shelter, f"no truck of {code} could take it in time"))
    per_truck: dict[int, list[tuple[int, object]]] = defaultdict(list)
    for r in result.routes:
        if r.nodes:
            t, trip = owner[r.vehicle]
            per_truck[t].append((trip, r))
    routes: list[VehicleRoute] = []
    shipments: list[Shipment] = []
    for t, used in sorted(per_truck.items()):
        truck = trucks[t]
        trips: list[Trip] = []
        counter = 0
        for number, (_, r) in enumerate(sorted(used, key=lambda x: x[1].start), start=1):
            stops: list[Stop] = []
            kg = m3 = 0.0
            for node, arrival in zip(r.nodes, r.arrivals, strict=True):
                part = parts[node - 1]
                at = arrival / MINUTES
                kg += part.kg
                m3 += part.m3
                if stops and stops[-1].shelter == part.shelter:
                    stops[-1].loads.extend(part.loads)
                else:
                    counter += 1
                    stops.append(
                        Stop(counter, part.shelter, at, list(part.loads), max(at - deadline, 0.0))
                    )
                for load in part.loads:
                    shipments.append(
                        Shipment(
                            code,
                            SourceKind.DEPOT,
                            load.lot,
                            part.shelter,
                            load.item,
                            load.qty,
                            r.start / MINUTES,
                            at,
                        )
                    )
            trips.append(Trip(number, r.start / MINUTES, r.end / MINUTES, stops, kg, m3))
        routes.append(
            VehicleRoute(
                truck.name,
                code,
                truck.spec.vehicle_type,
                truck.spec.capacity_kg,
                truck.spec.capacity_m3,
                trips,
            )
        )
    return routes, shipments, lost, result.status
