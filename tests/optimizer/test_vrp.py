"""The routing engine on hand-checkable instances: costs, loads, windows, chains, limits."""

import time
from dataclasses import replace

import numpy as np
import pytest

from optimizer.params import RuinSettings, SearchSettings
from optimizer.routing import RoutingModel, RoutingResult, Vehicle, solve_routing
from optimizer.routing.model import schedule

BIG = 10**6


def manhattan(points: list[tuple[int, int]]) -> np.ndarray:
    p = np.array(points, dtype=np.int64)
    return np.abs(p[:, None, :] - p[None, :, :]).sum(axis=2)


def model_for(
    points: list[tuple[int, int]],
    demand: list[int],
    vehicles: list[Vehicle],
    **kw: object,
) -> RoutingModel:
    """One depot at node 0, Manhattan distances equal to travel times, no windows."""
    n = len(points)
    d = manhattan(points)
    fields: dict[str, object] = {
        "distance": d,
        "times": [d],
        "demand": np.array(demand, dtype=np.int64).reshape(n, 1),
        "service": np.zeros(n, dtype=np.int64),
        "window": np.tile(np.array([0, BIG], dtype=np.int64), (n, 1)),
        "vehicles": tuple(vehicles),
        "depots": frozenset({0}),
    }
    fields.update(kw)
    return RoutingModel(**fields)  # type: ignore[arg-type]


def check_feasible(model: RoutingModel, result: RoutingResult) -> None:
    """Loads within capacity, arrivals consistent with travel and inside hard windows."""
    for r in result.routes:
        v = model.vehicles[r.vehicle]
        load = model.demand[r.nodes].sum(axis=0)
        assert (load <= np.array(v.capacity)).all()
        t = r.start + int(model.service[v.start])
        prev = v.start
        for node, at in zip(r.nodes, r.arrivals, strict=True):
            assert at >= t + int(model.times[v.profile][prev, node])
            lo, hi = model.window[node]
            assert lo <= at <= hi
            t = at + int(model.service[node])
            prev = node
        assert r.end == t + int(model.times[v.profile][prev, v.end])
        if v.latest_end is not None:
            assert r.end <= v.latest_end
    visited = [n for r in result.routes for n in r.nodes]
    assert len(visited) == len(set(visited))
    assert sorted(visited + result.dropped) == model.customers()


def test_small_cvrp_finds_the_known_optimum() -> None:
    """Two pairs of customers 10 and 11 away along each axis, capacity 2: two out-and-back
    tours of 22 each (44) beat any tour mixing the axes (>= 62)."""
    points = [(0, 0), (0, 10), (0, 11), (10, 0), (11, 0)]
    vehicles = [Vehicle(0, 0, (2,)) for _ in range(3)]
    model = model_for(points, [0, 1, 1, 1, 1], vehicles)
    result = solve_routing(model, time_limit_s=1)
    assert result.status in ("feasible", "optimal")
    assert result.objective == 44
    assert result.distance == 44
    assert sorted(sorted(r.nodes) for r in result.routes) == [[1, 2], [3, 4]]
    assert result.dropped == []
    check_feasible(model, result)


def test_routes_respect_capacity_and_hard_windows_on_a_random_instance() -> None:
    """30 customers with windows and two load dimensions: no route breaks either."""
    rng = np.random.default_rng(7)
    n = 31
    points = [(50, 50)] + [tuple(int(x) for x in rng.integers(0, 100, 2)) for _ in range(n - 1)]
    d = manhattan(points)  # type: ignore[arg-type]
    earliest = rng.integers(0, 300, n)
    window = np.stack([earliest, earliest + 150], axis=1).astype(np.int64)
    window[0] = (0, 2000)
    demand = rng.integers(1, 10, (n, 2)).astype(np.int64)
    demand[0] = 0
    vehicles = tuple(Vehicle(0, 0, (40, 30)) for _ in range(10))
    model = RoutingModel(
        distance=d,
        times=[d],
        demand=demand,
        service=np.full(n, 5, dtype=np.int64),
        window=window,
        vehicles=vehicles,
        depots=frozenset({0}),
    )
    result = solve_routing(model, time_limit_s=1.5)
    assert result.status == "feasible"
    assert result.dropped == []
    check_feasible(model, result)
    assert result.distance == sum(
        int(d[a, b])
        for r in result.routes
        for a, b in zip([0, *r.nodes], [*r.nodes, 0], strict=True)
    )


def test_chained_trip_starts_after_the_first_trip_returns_and_reloads() -> None:
    """One truck (two trips, capacity 1 each) and two customers: trip 2 leaves no earlier
    than trip 1's return plus the reload time."""
    points = [(0, 0), (0, 10), (10, 0)]
    trips = [Vehicle(0, 0, (1,)), Vehicle(0, 0, (1,))]
    model = model_for(points, [0, 1, 1], trips, chains=((0, 1),), reload=7)
    result = solve_routing(model, time_limit_s=1)
    assert result.status == "feasible"
    by_vehicle = {r.vehicle: r for r in result.routes}
    assert set(by_vehicle) == {0, 1}
    first, second = by_vehicle[0], by_vehicle[1]
    assert first.start == 0
    assert first.end == 20
    assert second.start >= first.end + 7
    assert second.arrivals[0] == second.start + 10
    check_feasible(model, result)


def test_soft_deadline_costs_lateness_per_time_unit() -> None:
    """One vehicle, two customers 10 away in opposite directions, both due by 10: one
    arrives at 10, the other at 30, 20 late at 3 per unit."""
    points = [(0, 0), (0, 10), (0, -10)]
    n = 3
    model = model_for(
        points,
        [0, 1, 1],
        [Vehicle(0, 0, (5,))],
        soft_latest=np.array([BIG, 10, 10], dtype=np.int64),
        lateness_cost=np.array([0, 3, 3], dtype=np.int64),
    )
    result = solve_routing(model, time_limit_s=1)
    assert result.status == "feasible"
    assert result.distance == 40
    assert result.lateness == 60
    assert result.objective == 100
    assert sorted(result.routes[0].arrivals) == [10, 30]
    assert n == model.n_nodes


def test_optional_node_out_of_reach_in_its_window_is_dropped_with_its_penalty() -> None:
    """Customer 2 must be reached by 5 but is 10 away: it is dropped for 100, customer 1
    is served."""
    points = [(0, 0), (0, 3), (10, 0)]
    window = np.array([[0, BIG], [0, BIG], [0, 5]], dtype=np.int64)
    model = model_for(
        points,
        [0, 1, 1],
        [Vehicle(0, 0, (5,))],
        window=window,
        drop_penalty=np.array([0, 100, 100], dtype=np.int64),
    )
    result = solve_routing(model, time_limit_s=1)
    assert result.status == "feasible"
    assert result.dropped == [2]
    assert result.routes[0].nodes == [1]
    assert result.objective == 6 + 100
    check_feasible(model, result)


def test_vehicle_latest_end_and_fixed_cost_shape_the_routes() -> None:
    """A vehicle that must be back by 25 cannot do both 20-round-trips; the other one,
    dearer to use, takes the second customer."""
    points = [(0, 0), (0, 10), (10, 0)]
    vehicles = [Vehicle(0, 0, (5,), latest_end=25), Vehicle(0, 0, (5,), fixed_cost=50)]
    model = model_for(points, [0, 1, 1], vehicles)
    result = solve_routing(model, time_limit_s=1)
    assert result.status == "feasible"
    assert len(result.routes) == 2
    assert result.objective == 40 + 50
    check_feasible(model, result)


def test_demand_above_every_capacity_is_infeasible_without_searching() -> None:
    """A mandatory customer bigger than any truck: infeasible at once, not an exception."""
    model = model_for([(0, 0), (0, 1)], [0, 9], [Vehicle(0, 0, (5,))])
    started = time.perf_counter()
    result = solve_routing(model, time_limit_s=5)
    assert result.status == "infeasible"
    assert result.objective is None
    assert time.perf_counter() - started < 1


def test_time_limit_is_honoured_on_a_larger_instance() -> None:
    """200 customers, 1 s: the call returns within the limit plus a second."""
    rng = np.random.default_rng(1)
    points = [(500, 500)] + [tuple(int(x) for x in rng.integers(0, 1000, 2)) for _ in range(200)]
    demand = [0] + [int(x) for x in rng.integers(1, 20, 200)]
    model = model_for(points, demand, [Vehicle(0, 0, (100,)) for _ in range(40)])  # type: ignore[arg-type]
    started = time.perf_counter()
    result = solve_routing(model, time_limit_s=1.0)
    assert time.perf_counter() - started < 2.0
    assert result.status == "feasible"
    check_feasible(model, result)


def test_two_workers_keep_the_better_result() -> None:
    """Independent runs in two processes: the optimum, and a log line per worker (no
    wall-clock assertion: a busy machine once took 6 s for this 2 s solve)."""
    points = [(0, 0), (0, 10), (0, 11), (10, 0), (11, 0)]
    model = model_for(points, [0, 1, 1, 1, 1], [Vehicle(0, 0, (2,)) for _ in range(3)])
    result = solve_routing(model, time_limit_s=2, workers=2)
    assert result.objective == 44
    assert len(result.log) == 2


def test_warm_start_is_used_and_improved() -> None:
    """Starting from a poor but feasible tour set, the result is no worse and optimal."""
    points = [(0, 0), (0, 10), (0, 11), (10, 0), (11, 0)]
    model = model_for(points, [0, 1, 1, 1, 1], [Vehicle(0, 0, (2,)) for _ in range(3)])
    result = solve_routing(model, time_limit_s=1, initial_routes=[[1, 3], [2, 4], []])
    assert result.objective == 44


def test_infeasible_warm_start_falls_back_to_a_fresh_search() -> None:
    """Initial routes over capacity are ignored rather than failing the solve."""
    points = [(0, 0), (0, 10), (0, 11), (10, 0), (11, 0)]
    model = model_for(points, [0, 1, 1, 1, 1], [Vehicle(0, 0, (2,)) for _ in range(3)])
    result = solve_routing(model, time_limit_s=1, initial_routes=[[1, 2, 3, 4]])
    assert result.objective == 44


def test_search_settings_variants_all_solve() -> None:
    """Tabu search, simulated annealing and other first solutions still find the optimum."""
    points = [(0, 0), (0, 10), (0, 11), (10, 0), (11, 0)]
    model = model_for(points, [0, 1, 1, 1, 1], [Vehicle(0, 0, (2,)) for _ in range(3)])
    for settings in (
        SearchSettings(metaheuristic="TABU_SEARCH", first_solution="PATH_CHEAPEST_ARC"),
        SearchSettings(metaheuristic="SIMULATED_ANNEALING"),
        SearchSettings(first_solution="PARALLEL_CHEAPEST_INSERTION", gls_lambda=0.3),
    ):
        result = solve_routing(model, time_limit_s=0.5, settings=settings)
        assert result.objective == 44, settings.describe()


def test_parts_keep_every_rule_with_chains_windows_and_drops() -> None:
    """Decomposed search (parts of 8 customers) on 40 customers with two-trip trucks, time
    windows, soft deadlines and optional visits: every rule holds, chains included."""
    rng = np.random.default_rng(3)
    n = 41
    points = [(50, 50)] + [tuple(int(x) for x in rng.integers(0, 100, 2)) for _ in range(n - 1)]
    d = manhattan(points)  # type: ignore[arg-type]
    earliest = rng.integers(0, 400, n)
    window = np.stack([earliest, earliest + 200], axis=1).astype(np.int64)
    window[0] = (0, 3000)
    demand = rng.integers(1, 6, (n, 1)).astype(np.int64)
    demand[0] = 0
    trips = tuple(Vehicle(0, 0, (20,)) for _ in range(8))
    model = RoutingModel(
        distance=d,
        times=[d],
        demand=demand,
        service=np.full(n, 3, dtype=np.int64),
        window=window,
        vehicles=trips,
        soft_latest=np.full(n, 500, dtype=np.int64),
        lateness_cost=np.ones(n, dtype=np.int64),
        drop_penalty=np.full(n, 1000, dtype=np.int64),
        chains=((0, 1), (2, 3), (4, 5), (6, 7)),
        reload=15,
        depots=frozenset({0}),
    )
    settings = SearchSettings(improver="parts", part_size=8, part_seconds=0.2, search_share=0.3)
    result = solve_routing(model, time_limit_s=2, settings=settings)
    assert result.status == "feasible"
    check_feasible(model, result)
    assert any("parts improved" in line for line in result.log)
    by_vehicle = {r.vehicle: r for r in result.routes}
    for a, b in model.chains:
        if a in by_vehicle and b in by_vehicle:
            assert by_vehicle[b].start >= by_vehicle[a].end + 15


def test_ruin_and_recreate_keeps_every_rule_and_never_worsens() -> None:
    """SISR from an OR-Tools solution on 40 customers with two-trip trucks, windows, soft
    deadlines and optional visits: the result breaks no rule and costs no more."""
    from optimizer.routing import sisr
    from optimizer.routing.model import score, violation

    sisr.warm()  # compiles once (numba caches it on disk), before the timed part
    rng = np.random.default_rng(5)
    n = 41
    points = [(50, 50)] + [tuple(int(x) for x in rng.integers(0, 100, 2)) for _ in range(n - 1)]
    d = manhattan(points)  # type: ignore[arg-type]
    earliest = rng.integers(0, 400, n)
    window = np.stack([earliest, earliest + 200], axis=1).astype(np.int64)
    window[0] = (0, 3000)
    demand = rng.integers(1, 6, (n, 2)).astype(np.int64)
    demand[0] = 0
    model = RoutingModel(
        distance=d,
        times=[d, d * 2],
        demand=demand,
        service=np.full(n, 3, dtype=np.int64),
        window=window,
        vehicles=tuple(Vehicle(0, 0, (20, 25), profile=k % 2, fixed_cost=30) for k in range(8)),
        soft_latest=np.full(n, 450, dtype=np.int64),
        lateness_cost=np.full(n, 2, dtype=np.int64),
        drop_penalty=np.full(n, 500, dtype=np.int64),
        chains=((0, 1), (2, 3), (4, 5), (6, 7)),
        reload=15,
        depots=frozenset({0}),
    )
    start = solve_routing(model, time_limit_s=1, settings=SearchSettings(improver="none"))
    tours = {r.vehicle: r.nodes for r in start.routes}
    new, dropped, steps, _capped = sisr.improve(
        model, tours, start.dropped, time.time() + 1.0, 0, RuinSettings()
    )
    assert steps > 0
    assert violation(model, new, dropped) is None
    objective = score(model, schedule(model, new), dropped)[0]
    assert start.objective is not None
    assert objective <= start.objective


def test_ruin_and_recreate_without_time_rules_finds_the_small_optimum() -> None:
    """The O(1) insertion path (no time rules) reaches the hand-checked optimum of 44."""
    from optimizer.routing import sisr

    sisr.warm()
    points = [(0, 0), (0, 10), (0, 11), (10, 0), (11, 0)]
    model = model_for(points, [0, 1, 1, 1, 1], [Vehicle(0, 0, (2,)) for _ in range(3)])
    new, dropped, _steps, _capped = sisr.improve(
        model, {0: [1, 3], 1: [2, 4]}, [], time.time() + 0.3, 1, RuinSettings()
    )
    assert dropped == []
    assert sorted(sorted(nodes) for nodes in new.values()) == [[1, 2], [3, 4]]


def test_ruin_and_recreate_builds_a_solution_from_nothing_for_chained_trips() -> None:
    """Where OR-Tools finds no start (trip chains can defeat its insertion heuristics;
    300 customers on 20 three-trip trucks did), SISR builds one from empty tours: every
    mandatory customer visited, every rule kept."""
    from optimizer.routing import sisr
    from optimizer.routing.model import violation

    sisr.warm()
    rng = np.random.default_rng(2)
    n = 2 + 40
    points = [tuple(int(x) for x in rng.integers(0, 300, 2)) for _ in range(n)]
    d = manhattan(points)  # type: ignore[arg-type]
    demand = rng.integers(1, 10, (n, 1)).astype(np.int64)
    demand[:2] = 0
    trips = tuple(Vehicle(t % 2, t % 2, (40,), latest_end=2500) for t in range(4) for _ in range(3))
    model = RoutingModel(
        distance=d,
        times=[d],
        demand=demand,
        service=np.full(n, 10, dtype=np.int64),
        window=np.tile(np.array([0, BIG], dtype=np.int64), (n, 1)),
        vehicles=trips,
        soft_latest=np.full(n, 900, dtype=np.int64),
        lateness_cost=np.full(n, 2, dtype=np.int64),
        chains=tuple(tuple(range(3 * t, 3 * t + 3)) for t in range(4)),
        reload=20,
        depots=frozenset({0, 1}),
    )
    tours, dropped, _steps, _capped = sisr.improve(
        model, {}, model.customers(), time.time() + 1.0, 0, RuinSettings(), construct=True
    )
    assert dropped == []
    assert violation(model, tours, dropped) is None


def _base() -> RoutingModel:
    points = [(0, 0), (0, 10), (10, 0)]
    return model_for(points, [0, 1, 1], [Vehicle(0, 0, (5,))])


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"distance": -np.ones((3, 3), dtype=np.int64)}, "distance"),
        ({"distance": np.zeros((3, 2), dtype=np.int64)}, "distance"),
        ({"distance": np.zeros((3, 3))}, "distance"),
        ({"times": [np.zeros((2, 2), dtype=np.int64)]}, "times[0]"),
        ({"times": []}, "times"),
        ({"demand": np.zeros((3,), dtype=np.int64)}, "demand"),
        ({"demand": -np.ones((3, 1), dtype=np.int64)}, "demand"),
        ({"service": np.zeros(2, dtype=np.int64)}, "service"),
        ({"window": np.array([[0, 5], [6, 5], [0, 5]], dtype=np.int64)}, "window"),
        ({"vehicles": (Vehicle(0, 0, (5, 5)),)}, "capacity"),
        ({"vehicles": (Vehicle(0, 9, (5,)),)}, "vehicles[0]"),
        ({"vehicles": (Vehicle(0, 0, (5,), profile=1),)}, "profile"),
        ({"vehicles": ()}, "vehicles"),
        ({"drop_penalty": np.array([0, -1, 0], dtype=np.int64)}, "drop_penalty"),
        ({"soft_latest": np.zeros(3, dtype=np.int64)}, "soft_latest"),
        ({"chains": ((0, 3),)}, "chains"),
        ({"reload": -1}, "reload"),
        ({"depots": frozenset({7})}, "depots"),
    ],
)
def test_bad_input_raises_value_error_naming_the_field(change: dict, field: str) -> None:
    """Each malformed field is refused before any search, and the message names it."""
    model = replace(_base(), **change)
    with pytest.raises(ValueError, match=field.replace("[", r"\[").replace("]", r"\]")):
        solve_routing(model, time_limit_s=1)


def test_bad_search_settings_raise_value_error_naming_the_parameter() -> None:
    """Unknown strategies or operators are refused when the settings are built."""
    with pytest.raises(ValueError, match="first_solution"):
        SearchSettings(first_solution="NOPE")
    with pytest.raises(ValueError, match="metaheuristic"):
        SearchSettings(metaheuristic="NOPE")
    with pytest.raises(ValueError, match="search_share"):
        SearchSettings(search_share=0)
    with pytest.raises(ValueError, match="improver"):
        SearchSettings(improver="magic")
    with pytest.raises(ValueError, match="operators"):
        SearchSettings(operators=(("no_such_operator", True),))
    with pytest.raises(ValueError, match="time_limit_s"):
        solve_routing(_base(), time_limit_s=0)
