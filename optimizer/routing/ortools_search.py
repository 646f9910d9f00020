"""The OR-Tools side of the routing engine: building the model, searching, re-solving parts.

`optimizer.routing.model` holds the engine's data types; this module turns a
`RoutingModel` into OR-Tools' RoutingModel (arc costs, load dimensions, a time dimension
with windows, soft deadlines and trip chains, disjunctions for optional visits), runs one
search, reads the tours back, and improves a solution by re-solving route neighbourhoods
alone (the fallback improver when the compiled one cannot run).
"""

import itertools
import math
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np
from ortools.constraint_solver import pywrapcp, routing_enums_pb2

from optimizer.params import Improver, SearchSettings
from optimizer.plan import SolveStatus
from optimizer.routing.model import (
    Route,
    RoutingModel,
    RoutingResult,
    horizon,
    needs_time,
    schedule,
    score,
)


def _search_parameters(
    settings: SearchSettings, has_time: bool, seconds: float
) -> pywrapcp.DefaultRoutingSearchParameters:
    params = pywrapcp.DefaultRoutingSearchParameters()
    first = settings.first_solution
    if has_time and settings.first_solution_for_time_windows is not None:
        first = settings.first_solution_for_time_windows
    params.first_solution_strategy = routing_enums_pb2.FirstSolutionStrategy.Value.Value(first)
    params.local_search_metaheuristic = routing_enums_pb2.LocalSearchMetaheuristic.Value.Value(
        settings.metaheuristic
    )
    params.guided_local_search_lambda_coefficient = settings.gls_lambda
    ops = params.local_search_operators
    for name, on in settings.operators:
        setattr(ops, f"use_{name}", pywrapcp.BOOL_TRUE if on else pywrapcp.BOOL_FALSE)
    params.ls_operator_neighbors_ratio = settings.neighbors_ratio
    params.ls_operator_min_neighbors = settings.min_neighbors
    params.lns_time_limit.FromMilliseconds(max(1, int(settings.lns_time_limit_s * 1000)))
    params.time_limit.FromMilliseconds(max(1, int(seconds * 1000)))
    return params


class _Built:
    """The OR-Tools objects of one model, kept together so nothing is garbage-collected."""

    def __init__(self, model: RoutingModel) -> None:
        n, vehicles = model.n_nodes, model.vehicles
        self.model = model
        self.customers = model.customers()
        self.has_time = needs_time(model)
        starts = [v.start for v in vehicles]
        ends = [v.end for v in vehicles]
        self.manager = pywrapcp.RoutingIndexManager(n, len(vehicles), starts, ends)
        self.routing = pywrapcp.RoutingModel(self.manager)
        routing, manager = self.routing, self.manager

        dist = routing.RegisterTransitMatrix(model.distance.tolist())
        routing.SetArcCostEvaluatorOfAllVehicles(dist)
        for k, v in enumerate(vehicles):
            if v.fixed_cost:
                routing.SetFixedCostOfVehicle(v.fixed_cost, k)

        for d in range(model.demand.shape[1]):
            load = routing.RegisterUnaryTransitVector(model.demand[:, d].tolist())
            routing.AddDimensionWithVehicleCapacity(
                load, 0, [int(v.capacity[d]) for v in vehicles], True, f"load{d}"
            )

        stop_nodes = set(starts) | set(ends)
        for node in sorted(set(model.depots) - stop_nodes):
            routing.solver().Add(routing.ActiveVar(manager.NodeToIndex(node)) == 0)

        self.time_dim = None
        if self.has_time:
            self._add_time(model)

        for node in self.customers:
            index = manager.NodeToIndex(node)
            if model.drop_penalty is not None:
                routing.AddDisjunction([index], int(model.drop_penalty[node]))

    def _add_time(self, model: RoutingModel) -> None:
        routing, manager, vehicles = self.routing, self.manager, model.vehicles
        last = horizon(model)
        per_profile = []
        for t in model.times:
            transit = t + model.service[:, None]
            per_profile.append(routing.RegisterTransitMatrix(transit.tolist()))
        routing.AddDimensionWithVehicleTransits(
            [per_profile[v.profile] for v in vehicles], last, last, False, "time"
        )
        time_dim = routing.GetDimensionOrDie("time")
        self.time_dim = time_dim
        for node in self.customers:
            index = manager.NodeToIndex(node)
            lo, hi = (int(x) for x in model.window[node])
            time_dim.CumulVar(index).SetRange(lo, hi)
            if model.soft_latest is not None and model.lateness_cost is not None:
                cost = int(model.lateness_cost[node])
                if cost > 0:
                    time_dim.SetCumulVarSoftUpperBound(index, int(model.soft_latest[node]), cost)
        for k, v in enumerate(vehicles):
            lo = max(v.earliest_start, int(model.window[v.start, 0]))
            start = time_dim.CumulVar(routing.Start(k))
            start.SetRange(lo, max(lo, int(model.window[v.start, 1])))
            latest = int(model.window[v.end, 1])
            if v.latest_end is not None:
                latest = min(latest, v.latest_end)
            time_dim.CumulVar(routing.End(k)).SetMax(latest)
            routing.AddVariableMinimizedByFinalizer(time_dim.CumulVar(routing.Start(k)))
            routing.AddVariableMinimizedByFinalizer(time_dim.CumulVar(routing.End(k)))
        solver = routing.solver()
        for chain in model.chains:
            for a, b in itertools.pairwise(chain):
                end_a = time_dim.CumulVar(routing.End(a))
                start_b = time_dim.CumulVar(routing.Start(b))
                # Unconditional: an unused trip ends where it starts, so the next trip may
                # leave one reload later. Conditioning on ActiveVehicleVar(a) left local
                # search unable to move visits to any other vehicle (measured: a 2-truck
                # instance stayed on one truck with 7 h of lateness).
                solver.Add(start_b >= end_a + model.reload)


def _read(built: _Built, solution: Any) -> tuple[list[Route], list[int]]:
    routing, manager = built.routing, built.manager
    tours: dict[int, list[int]] = {}
    visited: set[int] = set()
    for k in range(len(built.model.vehicles)):
        index = solution.Value(routing.NextVar(routing.Start(k)))
        nodes = []
        while not routing.IsEnd(index):
            node = manager.IndexToNode(index)
            nodes.append(node)
            visited.add(node)
            index = solution.Value(routing.NextVar(index))
        if nodes:
            tours[k] = nodes
    dropped = [n for n in built.customers if n not in visited]
    return schedule(built.model, tours), dropped


def search(
    model: RoutingModel,
    settings: SearchSettings,
    deadline: float,
    initial_routes: list[list[int]] | None,
    progress: Callable[[str], None] | None,
) -> RoutingResult:
    """One OR-Tools search on the whole model, stopping by the wall-clock `deadline`."""
    started = time.time()
    built = _Built(model)
    routing = built.routing
    remaining = deadline - time.time()
    if remaining <= 0.05:
        return RoutingResult(SolveStatus.TIMED_OUT, None, None, [], [], time.time() - started)
    params = _search_parameters(settings, built.has_time, remaining)
    best = [math.inf]

    if progress is not None:

        def report() -> None:
            cost = routing.CostVar().Value()
            if cost < best[0]:
                best[0] = cost
                progress(f"{time.time() - started:6.1f} s  objective {cost:,}")

        routing.AddAtSolutionCallback(report)

    solution = None
    if initial_routes is not None:
        routing.CloseModelWithParameters(params)
        indices = [[built.manager.NodeToIndex(n) for n in route] for route in initial_routes]
        start = routing.ReadAssignmentFromRoutes(indices, True)
        if start is not None:
            solution = routing.SolveFromAssignmentWithParameters(start, params)
        elif progress is not None:
            progress("initial routes infeasible; searching from scratch")
    if solution is None:
        params.time_limit.FromMilliseconds(max(1, int((deadline - time.time()) * 1000)))
        solution = routing.SolveWithParameters(params)
    seconds = time.time() - started
    status_code = routing.status()
    if solution is None:
        timed = status_code in (
            routing_enums_pb2.RoutingSearchStatus.ROUTING_FAIL_TIMEOUT,
            routing_enums_pb2.RoutingSearchStatus.ROUTING_NOT_SOLVED,
        ) or (
            status_code == routing_enums_pb2.RoutingSearchStatus.ROUTING_FAIL
            and time.time() >= deadline - 0.05
        )
        status = SolveStatus.TIMED_OUT if timed else SolveStatus.INFEASIBLE
        return RoutingResult(status, None, None, [], [], seconds)
    routes, dropped = _read(built, solution)
    objective, distance, lateness = score(model, routes, dropped)
    status = (
        SolveStatus.OPTIMAL
        if status_code == routing_enums_pb2.RoutingSearchStatus.ROUTING_OPTIMAL
        else SolveStatus.FEASIBLE
    )
    return RoutingResult(status, objective, distance, routes, dropped, seconds, lateness)


def _submodel(
    model: RoutingModel, vehicles: list[int], customers: list[int]
) -> tuple[RoutingModel, list[int]]:
    """The model restricted to some vehicles and customers; also new index -> old node."""
    keep = sorted({n for k in vehicles for n in (model.vehicles[k].start, model.vehicles[k].end)})
    keep = sorted(set(keep) | set(customers))
    new = {old: i for i, old in enumerate(keep)}
    grid = np.ix_(keep, keep)
    vnew = {old: i for i, old in enumerate(vehicles)}

    def cut(a: np.ndarray | None) -> np.ndarray | None:
        return None if a is None else a[keep]

    sub = RoutingModel(
        distance=model.distance[grid],
        times=[t[grid] for t in model.times],
        demand=model.demand[keep],
        service=model.service[keep],
        window=model.window[keep],
        vehicles=tuple(
            replace(
                model.vehicles[k],
                start=new[model.vehicles[k].start],
                end=new[model.vehicles[k].end],
            )
            for k in vehicles
        ),
        soft_latest=cut(model.soft_latest),
        lateness_cost=cut(model.lateness_cost),
        drop_penalty=cut(model.drop_penalty),
        chains=tuple(tuple(vnew[k] for k in chain) for chain in model.chains if chain[0] in vnew),
        reload=model.reload,
        depots=frozenset(new[n] for n in model.depots if n in new),
    )
    return sub, keep


def improve_by_parts(
    model: RoutingModel,
    result: RoutingResult,
    settings: SearchSettings,
    deadline: float,
    progress: Callable[[str], None] | None,
) -> RoutingResult:
    """Re-solve neighbourhoods of routes alone, from their current tours, until the deadline.

    A part is what a whole-model local search moves too slowly on large models: the
    routes around one customer. Each part is a `RoutingModel` of its own, so every rule
    (windows, chains, drops) still holds; a part's new tours replace the old ones only
    when the part's objective drops, so the result never gets worse.
    """
    rng = np.random.default_rng(settings.seed)
    chain_of = {k: chain for chain in model.chains for k in chain}
    tours = {r.vehicle: list(r.nodes) for r in result.routes}
    dropped = set(result.dropped)
    customers = np.array(model.customers())
    near = (
        model.distance[np.ix_(customers, customers)]
        + model.distance[np.ix_(customers, customers)].T
    )
    unused = [k for k in range(len(model.vehicles)) if k not in tours]
    sub_settings = replace(settings, improver=Improver.NONE, alternates=())
    improved = 0
    tried = 0
    while deadline - time.time() > min(0.3, settings.part_seconds):
        tried += 1
        seed = int(rng.integers(len(customers)))
        owner = {n: k for k, nodes in tours.items() for n in nodes}
        chosen: list[int] = []
        part: list[int] = []
        for j in np.argsort(near[seed], kind="stable"):
            node = int(customers[j])
            if node in dropped:
                part.append(node)
            elif owner[node] not in chosen:
                group = chain_of.get(owner[node], (owner[node],))
                chosen.extend(k for k in group if k not in chosen)
                part.extend(n for k in group for n in tours.get(k, []))
            if len(part) >= settings.part_size:
                break
        spare = [k for k in unused if k not in chain_of][:1]  # room for one more route
        chosen.extend(spare)
        if not chosen:  # only dropped customers near the seed, and no free vehicle
            continue
        sub, keep = _submodel(model, chosen, part)
        new_index = {old: i for i, old in enumerate(keep)}
        start_routes = [[new_index[n] for n in tours.get(k, [])] for k in chosen]
        before = score(
            sub,
            schedule(sub, dict(enumerate(start_routes))),
            [new_index[n] for n in part if n in dropped],
        )[0]
        budget = min(settings.part_seconds, deadline - time.time())
        r = search(sub, sub_settings, time.time() + budget, start_routes, None)
        if r.objective is None or r.objective >= before:
            continue
        improved += 1
        for k in chosen:
            tours.pop(k, None)
        for route in r.routes:
            tours[chosen[route.vehicle]] = [keep[n] for n in route.nodes]
        for n in part:
            dropped.discard(n)
        dropped.update(keep[n] for n in r.dropped)
        unused = [k for k in range(len(model.vehicles)) if k not in tours]
        if progress is not None:
            progress(f"part {tried}: {before - r.objective:,} cheaper")
    routes = schedule(model, tours)
    dropped_list = sorted(dropped)
    objective, distance, lateness = score(model, routes, dropped_list)
    out = RoutingResult(result.status, objective, distance, routes, dropped_list, 0.0, lateness)
    out.log.append(f"{improved} of {tried} parts improved")
    return out


__all__ = ["improve_by_parts", "search"]
