"""The shared routing engine: one OR-Tools model for the planner's tours and the VRP benchmark.

The planner (multi-depot, mixed fleet, several trips per truck, soft deadlines, optional
deliveries) and `relief bench vrp` (CVRPLIB and Solomon instances) solve the same
`RoutingModel`, so the benchmark's gap to best-known values measures the search that plans
real deliveries. Everything here is integer: callers scale distances and times (e.g.
minutes, or tenths of a unit for Solomon) before building the model.

Search: OR-Tools builds a first solution (savings; parallel cheapest insertion under time
windows) and improves it by guided local search for a share of the time limit; then a
compiled ruin-and-recreate search (SISR, `optimizer.sisr`) takes over from its best
solution, or, without numba, OR-Tools re-solves parts of the solution alone. `workers` > 1
runs independent searches in separate processes (different seeds and first solutions)
and keeps the best. The defaults are the tuned best of `python -m bench routing` (see
`bench/routing.py` for what was tried and what each gave).
"""

import itertools
import multiprocessing
import time
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from ortools.constraint_solver import pywrapcp, routing_enums_pb2

__all__ = [
    "DEFAULT_SETTINGS",
    "Route",
    "RoutingModel",
    "RoutingResult",
    "RuinSettings",
    "SearchSettings",
    "Vehicle",
    "solve_routing",
    "validate",
]

#: Statuses of a `RoutingResult`.
OPTIMAL, FEASIBLE, INFEASIBLE, TIMED_OUT = "optimal", "feasible", "infeasible", "timed_out"

FIRST_SOLUTIONS = tuple(
    v.name
    for v in routing_enums_pb2.FirstSolutionStrategy.DESCRIPTOR.enum_types[0].values
    if v.name not in ("UNSET", "EVALUATOR_STRATEGY")
)
IMPROVERS = ("sisr", "parts", "none")
METAHEURISTICS = (
    "GREEDY_DESCENT",
    "GUIDED_LOCAL_SEARCH",
    "SIMULATED_ANNEALING",
    "TABU_SEARCH",
)
_OPERATORS = frozenset(
    f.name
    for f in pywrapcp.DefaultRoutingSearchParameters().local_search_operators.DESCRIPTOR.fields
)


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

    status: str  # "optimal" | "feasible" | "infeasible" | "timed_out" (no solution in time)
    objective: int | None
    distance: int | None  # the travel-distance part of the objective
    routes: list[Route]  # only vehicles that are used
    dropped: list[int]  # unvisited customer nodes
    seconds: float
    lateness: int = 0  # the lateness part of the objective
    worker: int | None = None  # which independent run found it (0 = the main settings)
    log: list[str] = field(default_factory=list)  # one line per worker: settings and result


@dataclass(frozen=True, slots=True)
class RuinSettings:
    """Parameters of the SISR improver, `optimizer.sisr` (the paper's names in brackets).

    removal_avg: customers removed on average per step [c-bar], string_max: longest string
    removed from one route [L-max], blink: chance to skip an insertion position [beta];
    temperatures are multiples of the mean cost per customer of the starting solution.
    """

    removal_avg: float = 10.0
    string_max: int = 10
    blink: float = 0.01
    temp_from: float = 0.3
    temp_to: float = 0.003
    chunk: int = 5000  # most steps per compiled call (the clock is read between calls)


@dataclass(frozen=True, slots=True)
class SearchSettings:
    """How the search runs. The defaults are the tuned best of `python -m bench routing`.

    first_solution: an OR-Tools FirstSolutionStrategy name; SAVINGS builds good capacity
        tours, PARALLEL_CHEAPEST_INSERTION copes better with tight time windows.
    metaheuristic: a LocalSearchMetaheuristic name. (OR-Tools 9.15's iterated local
        search, `use_iterated_local_search`, stopped at the first local optimum from
        Python whatever the ruin, so it is not offered.)
    gls_lambda: guided local search's penalty weight (OR-Tools default 0.1).
    operators: local-search operators switched on or off, as (field of OR-Tools'
        LocalSearchNeighborhoodOperators without `use_`, on) pairs.
    neighbors_ratio, min_neighbors: how many nearest neighbours the operators consider
        (1.0 = all).
    lns_time_limit_s: time limit of each LNS sub-search.
    first_solution_for_time_windows: used instead of `first_solution` when the model has
        binding time windows, because savings often finds no feasible start there.
    improver: what follows the OR-Tools search once it has spent `search_share` of the
        time limit: "sisr" (ruin and recreate, `optimizer.sisr`, with `ruin`'s
        parameters), "parts" (see below) or "none" (OR-Tools to the end). "sisr" falls
        back to "parts" when numba is missing, or when its kernels are not compiled yet
        and the time left could not absorb the compilation (`optimizer.sisr.ready`).
    search_share: share of the time limit for the OR-Tools search on the whole model.
    part_size, part_seconds: "parts" improves the solution part by part: a random
        customer, the routes of its nearest customers (whole trip chains) up to
        `part_size` customers, re-solved alone by OR-Tools for `part_seconds` from their
        current tours, kept when cheaper; models with fewer than 1.5 x `part_size`
        customers are not decomposed.
    seed: drives the improver's random choices.
    alternates: settings of workers 1, 2... (worker 0 uses these), reused cyclically;
        None (the default) gives worker k seed + k and, for odd k, the first solution
        PATH_CHEAPEST_ARC, so independent runs start and wander differently.
    """

    first_solution: str = "SAVINGS"
    metaheuristic: str = "GUIDED_LOCAL_SEARCH"
    gls_lambda: float = 0.1
    operators: tuple[tuple[str, bool], ...] = ()
    neighbors_ratio: float = 1.0
    min_neighbors: int = 1
    lns_time_limit_s: float = 0.1
    first_solution_for_time_windows: str | None = "PARALLEL_CHEAPEST_INSERTION"
    improver: str = "sisr"
    search_share: float = 0.2
    ruin: RuinSettings = RuinSettings()
    part_size: int = 40
    part_seconds: float = 0.3
    seed: int = 0
    alternates: tuple["SearchSettings", ...] | None = None

    def __post_init__(self) -> None:
        if self.first_solution not in FIRST_SOLUTIONS:
            raise ValueError(f"first_solution: unknown strategy; use one of {FIRST_SOLUTIONS}")
        tw = self.first_solution_for_time_windows
        if tw is not None and tw not in FIRST_SOLUTIONS:
            raise ValueError("first_solution_for_time_windows: unknown strategy")
        if self.metaheuristic not in METAHEURISTICS:
            raise ValueError(f"metaheuristic: use one of {METAHEURISTICS}")
        if self.gls_lambda <= 0:
            raise ValueError("gls_lambda: must be positive")
        for name, _on in self.operators:
            if f"use_{name}" not in _OPERATORS:
                raise ValueError(f"operators: unknown operator {name!r}")
        if not 0 < self.neighbors_ratio <= 1 or self.min_neighbors < 1:
            raise ValueError("neighbors_ratio: in (0, 1]; min_neighbors: at least 1")
        if self.lns_time_limit_s <= 0:
            raise ValueError("lns_time_limit_s: must be positive")
        if self.improver not in IMPROVERS:
            raise ValueError(f"improver: use one of {IMPROVERS}")
        if not 0 < self.search_share <= 1:
            raise ValueError("search_share: in (0, 1]")
        if self.part_size < 2 or self.part_seconds <= 0:
            raise ValueError("part_size: at least 2; part_seconds: positive")

    def for_worker(self, k: int) -> "SearchSettings":
        """Settings of independent run k: 0 is self, the others cycle through alternates."""
        if k == 0:
            return self
        if self.alternates is None:
            first = "PATH_CHEAPEST_ARC" if k % 2 else self.first_solution
            return replace(self, first_solution=first, seed=self.seed + k, alternates=())
        if not self.alternates:
            return replace(self, seed=self.seed + k)
        return self.alternates[(k - 1) % len(self.alternates)]

    def describe(self) -> str:
        """One line naming what matters, for logs and the benchmark's JSON."""
        meta = self.metaheuristic
        if meta == "GUIDED_LOCAL_SEARCH":
            meta += f"(lambda={self.gls_lambda:g})"
        if self.improver == "parts":
            meta += (
                f", then parts of {self.part_size} for {self.part_seconds:g} s"
                f" after {self.search_share:.0%} (seed {self.seed})"
            )
        elif self.improver == "sisr":
            r = self.ruin
            meta += (
                f", then SISR after {self.search_share:.0%} (remove {r.removal_avg:g},"
                f" strings <= {r.string_max}, T {r.temp_from:g}->{r.temp_to:g}, seed {self.seed})"
            )
        ops = "".join(f" {'+' if on else '-'}{name}" for name, on in self.operators)
        return f"{self.first_solution} + {meta}{ops}"


# --------------------------------------------------------------------------- validation


#: The tuned settings (`SearchSettings()`), named for the benchmark's report.
DEFAULT_SETTINGS = SearchSettings()


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


def _needs_time(model: RoutingModel) -> bool:
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


def _horizon(model: RoutingModel) -> int:
    ends = [v.latest_end for v in model.vehicles if v.latest_end is not None]
    return int(max([int(model.window[:, 1].max()), *ends]))


# --------------------------------------------------------------------------- schedules and costs


def _schedule(model: RoutingModel, tours: dict[int, list[int]]) -> list[Route]:
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


def _score(model: RoutingModel, routes: list[Route], dropped: list[int]) -> tuple[int, int, int]:
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


def _quick_infeasibility(model: RoutingModel) -> str | None:
    """A reason no solution can exist, found without searching (mandatory visits only)."""
    if model.drop_penalty is not None:
        return None
    caps = np.array([v.capacity for v in model.vehicles], dtype=np.int64)
    for node in model.customers():
        if not (caps >= model.demand[node]).all(axis=1).any():
            return f"node {node}: demand exceeds every vehicle's capacity"
    return None


def _violation(model: RoutingModel, tours: dict[int, list[int]], dropped: list[int]) -> str | None:
    """The first rule a solution breaks, or None: a guard on the compiled improver."""
    seen = [n for nodes in tours.values() for n in nodes]
    if sorted(seen + dropped) != model.customers():
        return "customers visited twice or lost"
    if model.drop_penalty is None and dropped:
        return "a mandatory customer is dropped"
    for route in _schedule(model, tours):
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


def _from_routes(model: RoutingModel, initial_routes: list[list[int]]) -> RoutingResult | None:
    """A warm start as a result (earliest schedule, its objective), or None if it breaks
    a rule."""
    tours = {k: list(nodes) for k, nodes in enumerate(initial_routes) if nodes}
    seen = {n for nodes in tours.values() for n in nodes}
    dropped = [n for n in model.customers() if n not in seen]
    if _violation(model, tours, dropped) is not None:
        return None
    routes = _schedule(model, tours)
    objective, distance, lateness = _score(model, routes, dropped)
    out = RoutingResult(FEASIBLE, objective, distance, routes, dropped, 0.0, lateness)
    out.log.append(f"warm start, objective {objective:,}")
    return out


def _improve_by_ruin(
    model: RoutingModel,
    result: RoutingResult,
    settings: SearchSettings,
    deadline: float,
) -> RoutingResult:
    """SISR from the OR-Tools solution, or from nothing when OR-Tools found none; kept
    only when it checks out and is cheaper."""
    from optimizer import sisr

    tours = {r.vehicle: list(r.nodes) for r in result.routes}
    dropped_before = list(result.dropped) if result.objective is not None else model.customers()
    new_tours, dropped, steps = sisr.improve(
        model,
        tours,
        dropped_before,
        deadline,
        settings.seed,
        settings.ruin,
        construct=result.objective is None,
    )
    problem = _violation(model, new_tours, dropped)
    if problem is not None:
        result.log.append(f"SISR result rejected: {problem}")
        return result
    routes = _schedule(model, new_tours)
    objective, distance, lateness = _score(model, routes, dropped)
    if result.objective is not None and objective >= result.objective:
        result.log.append(f"SISR: {steps:,} steps, no improvement")
        return result
    status = FEASIBLE if result.objective is None else result.status
    out = RoutingResult(status, objective, distance, routes, dropped, 0.0, lateness)
    before = "no solution" if result.objective is None else f"{result.objective:,}"
    out.log.append(f"SISR: {steps:,} steps, {before} -> {objective:,}")
    return out


def _solve_one(
    model: RoutingModel,
    settings: SearchSettings,
    deadline: float,
    initial_routes: list[list[int]] | None,
    progress: Callable[[str], None] | None,
) -> RoutingResult:
    """One independent run in this process, stopping by the wall-clock `deadline`.

    OR-Tools searches the whole model first (`search_share` of the time), then the
    improver takes over from its best solution. When OR-Tools has none by then, SISR
    builds one from scratch (trip chains can defeat OR-Tools' insertion heuristics);
    "parts" keeps searching with OR-Tools instead.
    """
    from optimizer.vrp_ortools import _improve_by_parts, _search

    started = time.time()
    improver = settings.improver
    if improver == "sisr":
        from optimizer import sisr

        if not sisr.ready(deadline - started):
            improver = "parts"
    if improver == "parts" and len(model.customers()) < 1.5 * settings.part_size:
        improver = "none"
    if improver == "sisr" and initial_routes is not None:
        # OR-Tools cannot always read a start back (trip chains leave its time variables
        # to be searched for, and it then starts from scratch); SISR takes it as it is.
        start = _from_routes(model, initial_routes)
        if start is not None:
            improved = _improve_by_ruin(model, start, settings, deadline)
            improved.seconds = time.time() - started
            return improved
    if improver == "none":
        return _search(model, settings, deadline, initial_routes, progress)
    first = started + settings.search_share * (deadline - started)
    result = _search(model, settings, first, initial_routes, progress)
    if result.objective is None and improver == "parts":
        if result.status == INFEASIBLE:
            return result
        result = _search(model, settings, deadline, initial_routes, progress)
        if result.objective is None:
            return result
    if improver == "sisr":
        improved = _improve_by_ruin(model, result, settings, deadline)
    else:
        improved = _improve_by_parts(model, result, settings, deadline, progress)
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
        routes = _schedule(model, {})
        return RoutingResult(OPTIMAL, 0, 0, routes, [], time.time() - started)
    if (reason := _quick_infeasibility(model)) is not None:
        result = RoutingResult(INFEASIBLE, None, None, [], [], time.time() - started)
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
        for f in futures:
            try:
                results.append(f.result(timeout=max(1.0, deadline - time.time() + 5.0)))
            except Exception as exc:  # a lost worker must not lose the others' result
                failed = RoutingResult(TIMED_OUT, None, None, [], [], time.time() - started)
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
    best = replace(best, seconds=time.time() - started, log=log)
    return best
