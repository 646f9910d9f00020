"""The tour bound against the true optimum, found by enumerating every tour set."""

import dataclasses
from functools import cache
from itertools import combinations

import numpy as np
import pytest

from optimizer.demand import needs
from optimizer.params import RouteParams
from optimizer.plan import Load, SolveStatus
from optimizer.planner import plan_with_tours
from optimizer.problem import Depot, Lot, Problem, Shelter, VehicleType
from optimizer.routing import tour_bound
from optimizer.routing.depot import DepotTours, parts
from optimizer.sources import reach
from tests.optimizer import instances as inst

HALF = 296  # residents (units of water, 13.5 kg) that fill half an 8 t truck
PARAMS = RouteParams(workers=1, piece_share=0.5)


def scattered(seed: int, shelters: int, trucks: int) -> Problem:
    """Shelters of half or whole truckloads, one to four hours around a depot that loads
    in an hour; a 6 h deadline: which shelters the tours can serve is geometry."""
    rng = np.random.default_rng(seed)
    angle = rng.uniform(0, 2 * np.pi, shelters)
    reach_deg = rng.uniform(0.3, 1.5, shelters)
    return inst.problem(
        depots=(Depot("D", "depot", "county", 40.0, 122.0, 1.0),),
        lots=(Lot("D", "W", "L1", 10_000, None),),
        shelters=tuple(
            Shelter(
                f"S{k}",
                f"s{k}",
                40.0 + float(reach_deg[k] * np.sin(angle[k])),
                122.0 + float(reach_deg[k] * np.cos(angle[k])),
                HALF * int(rng.integers(1, 3)),
            )
            for k in range(shelters)
        ),
        fleet=(VehicleType("D", "medium", trucks, 8000, 35, 60),),
        deadline_hours=6.0,
    )


def enumerated_optimum(problem: Problem) -> int:
    """Most residents served on time over every tour set: each subset of shelters, each
    split of their parts over the trucks, each order of trips and stops, timed by the
    planner's own model (drives rounded to minutes, stop and unloading times, reloads)."""
    weight = {it.code: it.unit_weight_kg for it in problem.items}
    volume = {it.code: it.unit_volume_m3 for it in problem.items}
    vehicles = list(problem.fleet)
    cut = [
        part
        for n in needs(problem)
        for part in parts(n.shelter, True, [Load(n.item, "L1", n.qty)], weight, volume,
                          8000, 35, PARAMS.piece_share)
    ]  # fmt: skip
    job = DepotTours.build(
        problem, problem.depots[0], vehicles, cut, {h.code: h for h in problem.shelters},
        problem.deadline_hours, stop_minutes=PARAMS.stop_minutes,
        unload_minutes_per_tonne=PARAMS.unload_minutes_per_tonne,
        reload_hours=PARAMS.reload_hours, max_trips=PARAMS.max_trips,
        lateness_per_resident_minute=PARAMS.lateness_per_resident_minute,
    )  # fmt: skip
    times = job.times[0]
    cap = np.array(job.vehicles[0].capacity)
    ready = job.vehicles[0].earliest_start
    trips_each = len(job.chains[0])

    @cache
    def truck_can(nodes: frozenset[int]) -> bool:
        """One truck brings every node of `nodes` by the deadline, in some trips."""

        def go(left: frozenset[int], at: int, now: int, load: tuple[int, ...], trip: int) -> bool:
            if not left:
                return True
            for k in left:
                fits = all(x + d <= c for x, d, c in zip(load, job.demand[k], cap, strict=True))
                if fits and (at != 0 or trip < trips_each):
                    first = at == 0
                    arrive = now + int(times[at, k])
                    if arrive <= job.deadline_min:
                        new_load = (
                            tuple(int(x) for x in job.demand[k])
                            if first
                            else tuple(x + int(d) for x, d in zip(load, job.demand[k], strict=True))
                        )
                        if go(left - {k}, k, arrive + int(job.service[k]), new_load, trip + first):
                            return True
            if at != 0:  # back to the depot, reload, next trip
                return go(left, 0, now + int(times[at, 0]) + job.reload_min, (0, 0), trip)
            return False

        return go(nodes, 0, ready, (0, 0), 0)

    def fleet_can(nodes: frozenset[int], trucks: int) -> bool:
        if trucks == 1:
            return truck_can(nodes)
        items = sorted(nodes)
        for r in range(len(items) + 1):
            for mine in combinations(items, r):
                if truck_can(frozenset(mine)) and fleet_can(nodes - set(mine), trucks - 1):
                    return True
        return False

    of = {h.code: [k for k, p in enumerate(job.parts, start=1) if p.shelter == h.code]
          for h in problem.shelters}  # fmt: skip
    residents = {h.code: h.residents for h in problem.shelters}
    best = 0
    codes = sorted(of)
    for r in range(len(codes) + 1):
        for chosen in combinations(codes, r):
            value = sum(residents[c] for c in chosen)
            if value <= best:
                continue
            nodes = frozenset(k for c in chosen for k in of[c])
            if fleet_can(nodes, vehicles[0].count):
                best = value
    return best


@pytest.mark.parametrize(
    ("seed", "shelters", "trucks"),
    [(0, 3, 1), (1, 3, 1), (2, 4, 1), (3, 3, 2), (4, 4, 2), (5, 4, 1)],
)
def test_the_bound_is_never_below_the_optimum_and_the_planner_reaches_it(
    seed: int, shelters: int, trucks: int
) -> None:
    """On instances small enough to enumerate every tour set, the tour bound is at least
    the true optimum, and the planner's tours reach that optimum."""
    problem = scattered(seed, shelters, trucks)
    best = enumerated_optimum(problem)
    bound = tour_bound(problem, reach(problem), PARAMS)
    assert bound.residents is not None
    assert bound.residents >= best
    plan = plan_with_tours(problem, route_params=PARAMS, time_limit_s=10)
    served = plan.kpis()["residents_served_on_time"]
    assert served == best
    if bound.residents == best:
        assert plan.status == SolveStatus.OPTIMAL
    else:
        assert plan.status == SolveStatus.FEASIBLE
        assert plan.gap == pytest.approx((bound.residents - best) / bound.residents)


def test_a_plan_with_no_stock_anywhere_says_so() -> None:
    """Nothing held (every lot reserved by an approved plan): the routed plan serves no one
    and each shelter's reason is the missing stock, rather than the bound failing on an
    empty matrix of drives."""
    problem = dataclasses.replace(scattered(0, shelters=3, trucks=1), lots=())
    plan = plan_with_tours(problem, route_params=PARAMS, time_limit_s=5)
    assert plan.kpis()["residents_served_on_time"] == 0
    assert all(s.reasons[0].startswith("no stock:") for s in plan.shelters)
