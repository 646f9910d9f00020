"""The routing engine's data: a rich VRP model, its tours, and the rules they must keep.

The planner's depot tours (multi-depot, mixed fleet, several trips per truck, soft
deadlines, optional deliveries) and `relief bench vrp` (CVRPLIB and Solomon instances)
solve the same `RoutingModel`, so the benchmark's gap to best-known values measures the
search that plans real deliveries. Everything is integer: callers scale distances and times
(e.g. minutes, or tenths of a unit for Solomon) before building the model. The schedule,
cost and rule checks here are the reference every search engine's answer is checked by.
"""

import itertools
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from optimizer.plan import SolveStatus

__all__ = [
    "Route",
    "RoutingModel",
    "RoutingResult",
    "Vehicle",
    "from_routes",
    "horizon",
    "needs_time",
    "quick_infeasibility",
    "schedule",
    "score",
    "validate",
    "violation",
]


@dataclass(frozen=True, slots=True)
class Vehicle:
    """One trip of one vehicle: where it starts and ends, what it carries, when it may drive.

    capacity has one entry per load dimension (weight, volume...), in the units of
    `RoutingModel.demand`'s columns. Times are in the model's time unit.
    """

    start: int  # node index where it starts
    end: int  # node index where it ends
    capacity: tuple[int, ...]  # one per load dimension (RoutingModel.demand's columns)
    profile: int = 0  # which matrix of RoutingModel.times it drives with
    fixed_cost: int = 0  # added to the objective when the vehicle is used
    earliest_start: int = 0  # may not leave before (time units)
    latest_end: int | None = None  # must be back by (None: no limit)


@dataclass(frozen=True, slots=True)
class RoutingModel:
    """A rich VRP over N nodes: costs, travel times per vehicle profile, loads and windows.

    Customers are the nodes that are neither in `depots` nor a vehicle's start or end; each
    is visited once, or dropped at `drop_penalty[n]` when penalties are given. Arrival at a
    customer must lie in its hard `window` (waiting is allowed); arriving after
    `soft_latest[n]` costs `lateness_cost[n]` per time unit. Service time is spent at the
    node before leaving it. Objective = travel distance + fixed costs of used vehicles +
    lateness + drop penalties.
    """

    distance: np.ndarray  # (N, N) int64 cost per arc: the objective's travel part
    times: list[np.ndarray]  # travel-time matrices (N, N) int64, one per profile
    demand: np.ndarray  # (N, D) int64, zero at depots
    service: np.ndarray  # (N,) int64 service time at each node
    window: np.ndarray  # (N, 2) int64 hard [earliest, latest] arrival
    vehicles: tuple[Vehicle, ...]
    soft_latest: np.ndarray | None = None  # (N,) lateness after this costs lateness_cost
    lateness_cost: np.ndarray | None = None  # (N,) int64 per time unit late
    drop_penalty: np.ndarray | None = None  # (N,) int64; None: every customer is mandatory
    chains: tuple[tuple[int, ...], ...] = ()  # vehicle indices that are successive trips
    reload: int = 0  # time units between two trips of a chain
    depots: frozenset[int] = frozenset()  # nodes that are depots, never visited as stops

    @property
    def n_nodes(self) -> int:
        return int(self.distance.shape[0])

    def customers(self) -> list[int]:
        """Nodes to visit: all but depots and the vehicles' start and end nodes."""
        not_stops = set(self.depots)
        for v in self.vehicles:
            not_stops.update((v.start, v.end))
        return [n for n in range(self.n_nodes) if n not in not_stops]


@dataclass(frozen=True, slots=True)
class Route:
    """One used vehicle's tour, with the earliest feasible schedule."""

    vehicle: int
    nodes: list[int]  # visited customer nodes in order (without start/end)
    arrivals: list[int]  # arrival (service start) time at each of those nodes
    start: int  # departure time from its start node
    end: int  # arrival time at its end node


@dataclass(slots=True)
class RoutingResult:
    """What the search found; infeasibility or a time-out is a status, not an exception."""

    status: SolveStatus  # timed_out: no solution in time
    objective: int | None
    distance: int | None  # the travel-distance part of the objective
    routes: list[Route]  # only vehicles that are used
    dropped: list[int]  # unvisited customer nodes
    seconds: float
    lateness: int = 0  # the lateness part of the objective
    worker: int | None = None  # which independent run found it (0 = the main settings)
    steps: int = 0  # ruin-and-recreate steps made (the most by one worker)
    capped: bool = False  # the clock stopped a search before its set number of steps
    log: list[str] = field(default_factory=list)  # one line per worker: settings and result


# --------------------------------------------------------------------------- validation


def _check_matrix(name: str, m: Any, n: int) -> None:
    if not isinstance(m, np.ndarray) or m.shape != (n, n):
        raise ValueError(f"{name}: expected an ({n}, {n}) array")
    if not np.issubdtype(m.dtype, np.integer):
        raise ValueError(f"{name}: integers expected (scale before building the model)")
    if (m < 0).any():
        raise ValueError(f"{name}: negative values")


def _check_vector(name: str, v: Any, n: int) -> None:
    if not isinstance(v, np.ndarray) or v.shape != (n,):
        raise ValueError(f"{name}: expected an ({n},) array")
    if not np.issubdtype(v.dtype, np.integer):
        raise ValueError(f"{name}: integers expected")
    if (v < 0).any():
        raise ValueError(f"{name}: negative values")


def validate(model: RoutingModel) -> None:
    """Raise ValueError naming the first field whose shape or values cannot be solved."""
    if not isinstance(model.distance, np.ndarray) or model.distance.ndim != 2:
        raise ValueError("distance: expected an (N, N) array")
    n = model.n_nodes
    _check_matrix("distance", model.distance, n)
    if not model.times:
        raise ValueError("times: at least one travel-time matrix")
    for p, t in enumerate(model.times):
        _check_matrix(f"times[{p}]", t, n)
    d = model.demand
    if not isinstance(d, np.ndarray) or d.ndim != 2 or d.shape[0] != n:
        raise ValueError(f"demand: expected an ({n}, D) array")
    if not np.issubdtype(d.dtype, np.integer) or (d < 0).any():
        raise ValueError("demand: non-negative integers expected")
    _check_vector("service", model.service, n)
    w = model.window
    if not isinstance(w, np.ndarray) or w.shape != (n, 2):
        raise ValueError(f"window: expected an ({n}, 2) array")
    if not np.issubdtype(w.dtype, np.integer) or (w < 0).any():
        raise ValueError("window: non-negative integers expected")
    if (w[:, 0] > w[:, 1]).any():
        raise ValueError(
            f"window: earliest after latest at node {int(np.argmax(w[:, 0] > w[:, 1]))}"
        )
    if model.soft_latest is not None or model.lateness_cost is not None:
        if model.soft_latest is None or model.lateness_cost is None:
            raise ValueError("soft_latest: give soft_latest and lateness_cost together")
        _check_vector("soft_latest", model.soft_latest, n)
        _check_vector("lateness_cost", model.lateness_cost, n)
    if model.drop_penalty is not None:
        _check_vector("drop_penalty", model.drop_penalty, n)
    if not model.vehicles:
        raise ValueError("vehicles: at least one vehicle")
    for k, v in enumerate(model.vehicles):
        if not (0 <= v.start < n and 0 <= v.end < n):
            raise ValueError(f"vehicles[{k}]: start and end must be node indices below {n}")
        if len(v.capacity) != d.shape[1]:
            raise ValueError(f"vehicles[{k}].capacity: one value per demand column ({d.shape[1]})")
        if any(c < 0 for c in v.capacity):
            raise ValueError(f"vehicles[{k}].capacity: negative")
        if not 0 <= v.profile < len(model.times):
            raise ValueError(f"vehicles[{k}].profile: no travel-time matrix {v.profile}")
        if v.fixed_cost < 0 or v.earliest_start < 0:
            raise ValueError(f"vehicles[{k}]: fixed_cost and earliest_start must be >= 0")
        if v.latest_end is not None and v.latest_end < v.earliest_start:
            raise ValueError(f"vehicles[{k}].latest_end: before earliest_start")
    seen: set[int] = set()
    for chain in model.chains:
        for k in chain:
            if not 0 <= k < len(model.vehicles):
                raise ValueError(f"chains: no vehicle {k}")
            if k in seen:
                raise ValueError(f"chains: vehicle {k} is in two chains or twice in one")
            seen.add(k)
    if model.reload < 0:
        raise ValueError("reload: negative")
    if any(not 0 <= x < n for x in model.depots):
        raise ValueError(f"depots: node indices below {n} expected")


# --------------------------------------------------------------------------- time rules


def needs_time(model: RoutingModel) -> bool:
    """Whether time can bind at all; without it the search skips the time dimension (faster).

    It can only bind through waiting, deadlines, soft deadlines or trip chains; a window's
    latest bound cannot bind when it exceeds the longest conceivable tour.
    """
    if model.soft_latest is not None or model.chains:
        return True
    if any(v.latest_end is not None or v.earliest_start > 0 for v in model.vehicles):
        return True
    if model.window[:, 0].any():
        return True
    longest = int(model.service.sum()) + max(int(t.max(axis=1).sum()) for t in model.times)
    return bool((model.window[:, 1] < longest).any())


def horizon(model: RoutingModel) -> int:
    ends = [v.latest_end for v in model.vehicles if v.latest_end is not None]
    return int(max([int(model.window[:, 1].max()), *ends]))


# --------------------------------------------------------------------------- schedules and costs


def schedule(model: RoutingModel, tours: dict[int, list[int]]) -> list[Route]:
    """Earliest feasible times for each used vehicle's tour, chains in order.

    Waiting costs nothing and lateness only grows with time, so the earliest schedule is
    both feasible (when any is) and cheapest; it is what the solver's cumuls allow.
    """
    ready: dict[int, int] = {}  # vehicle -> earliest departure imposed by its chain
    order: list[int] = []
    for chain in model.chains:
        order.extend(chain)
    chained = set(order)
    order.extend(k for k in range(len(model.vehicles)) if k not in chained)
    successor = {a: b for chain in model.chains for a, b in itertools.pairwise(chain)}
    routes: dict[int, Route] = {}
    for k in order:
        v = model.vehicles[k]
        depart = max(v.earliest_start, int(model.window[v.start, 0]), ready.get(k, 0))
        nodes = tours.get(k, [])
        if not nodes:
            if k in successor:
                ready[successor[k]] = max(ready.get(successor[k], 0), depart)
            continue
        times = model.times[v.profile]
        t = depart + int(model.service[v.start])
        prev = v.start
        arrivals = []
        for node in nodes:
            arrive = max(t + int(times[prev, node]), int(model.window[node, 0]))
            arrivals.append(arrive)
            t = arrive + int(model.service[node])
            prev = node
        end = t + int(times[prev, v.end])
        routes[k] = Route(k, list(nodes), arrivals, depart, end)
        if k in successor:
            ready[successor[k]] = max(ready.get(successor[k], 0), end + model.reload)
    return [routes[k] for k in sorted(routes)]


def score(model: RoutingModel, routes: list[Route], dropped: list[int]) -> tuple[int, int, int]:
    """(objective, distance, lateness) of a solution, from the model's own numbers."""
    distance = 0
    lateness = 0
    fixed = 0
    for r in routes:
        v = model.vehicles[r.vehicle]
        path = [v.start, *r.nodes, v.end]
        distance += int(sum(int(model.distance[a, b]) for a, b in itertools.pairwise(path)))
        fixed += v.fixed_cost
        if model.soft_latest is not None and model.lateness_cost is not None:
            for node, at in zip(r.nodes, r.arrivals, strict=True):
                late = at - int(model.soft_latest[node])
                if late > 0:
                    lateness += late * int(model.lateness_cost[node])
    penalty = 0
    if model.drop_penalty is not None:
        penalty = int(sum(int(model.drop_penalty[n]) for n in dropped))
    return distance + fixed + lateness + penalty, distance, lateness


# --------------------------------------------------------------------------- solving


def quick_infeasibility(model: RoutingModel) -> str | None:
    """A reason no solution can exist, found without searching (mandatory visits only)."""
    if model.drop_penalty is not None:
        return None
    caps = np.array([v.capacity for v in model.vehicles], dtype=np.int64)
    for node in model.customers():
        if not (caps >= model.demand[node]).all(axis=1).any():
            return f"node {node}: demand exceeds every vehicle's capacity"
    return None


def violation(model: RoutingModel, tours: dict[int, list[int]], dropped: list[int]) -> str | None:
    """The first rule a solution breaks, or None: a guard on the compiled improver."""
    seen = [n for nodes in tours.values() for n in nodes]
    if sorted(seen + dropped) != model.customers():
        return "customers visited twice or lost"
    if model.drop_penalty is None and dropped:
        return "a mandatory customer is dropped"
    for route in schedule(model, tours):
        v = model.vehicles[route.vehicle]
        if (model.demand[route.nodes].sum(axis=0) > np.array(v.capacity)).any():
            return f"vehicle {route.vehicle} over capacity"
        for node, at in zip(route.nodes, route.arrivals, strict=True):
            if not model.window[node, 0] <= at <= model.window[node, 1]:
                return f"node {node} outside its window"
        latest = int(model.window[v.end, 1]) if v.latest_end is None else v.latest_end
        if route.end > min(latest, int(model.window[v.end, 1])):
            return f"vehicle {route.vehicle} back too late"
    return None


def from_routes(model: RoutingModel, initial_routes: list[list[int]]) -> RoutingResult | None:
    """A warm start as a result (earliest schedule, its objective), or None if it breaks
    a rule."""
    tours = {k: list(nodes) for k, nodes in enumerate(initial_routes) if nodes}
    seen = {n for nodes in tours.values() for n in nodes}
    dropped = [n for n in model.customers() if n not in seen]
    if violation(model, tours, dropped) is not None:
        return None
    routes = schedule(model, tours)
    objective, distance, lateness = score(model, routes, dropped)
    out = RoutingResult(SolveStatus.FEASIBLE, objective, distance, routes, dropped, 0.0, lateness)
    out.log.append(f"warm start, objective {objective:,}")
    return out
