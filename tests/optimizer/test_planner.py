"""Re-allocation with what the tours revealed, and the parts trucks carry."""

import pytest

from optimizer import solve_allocation
from optimizer.params import RouteParams
from optimizer.plan import Load, SolveStatus, SourceKind
from optimizer.planner import on_time_load, plan_with_tours
from optimizer.routing.depot import parts
from tests.optimizer.test_route import opposite_shelters

ONE_WORKER = RouteParams(workers=1)


def test_a_revealed_fleet_limit_caps_the_depot_on_time_load() -> None:
    """Two shelters 4 h away in opposite directions: the shuttle model lets one truck serve
    both; limited to one shelter's load, the allocation serves one and sends the other late."""
    problem = opposite_shelters(trucks=1)
    free = solve_allocation(problem, time_limit_s=5)
    assert free.kpis()["residents_served_on_time"] == 200
    kg, m3 = on_time_load(problem, free)["D"]
    limited = solve_allocation(problem, time_limit_s=5, fleet_limits={"D": (kg / 2, m3 / 2)})
    assert limited.kpis()["residents_served_on_time"] == 100
    got_kg, got_m3 = on_time_load(problem, limited)["D"]
    assert got_kg <= kg / 2 + 1e-6
    assert got_m3 <= m3 / 2 + 1e-6
    late = [s for s in limited.shipments if s.arrival_hours > limited.deadline_hours]
    assert late
    assert all(s.source_kind == SourceKind.DEPOT for s in late)


def test_tours_that_reach_the_bound_are_optimal_even_below_the_allocation_promise() -> None:
    """One truck cannot reach both shelters by 6 h. The allocation's shuttle model promises
    both (200); the tours bring one (100), and the tour bound proves no tours could do
    better (the two shelters conflict: no trip reaches both in time), so the plan is
    optimal at 100 and the rounds stop there."""
    plan = plan_with_tours(opposite_shelters(trucks=1), route_params=ONE_WORKER, time_limit_s=8)
    assert plan.routing is not None
    rounds = plan.routing.rounds
    assert rounds[0].allocation_residents_on_time == 200
    assert rounds[0].routed_residents_on_time == 100
    assert len(rounds) == 1
    assert plan.routing.bound_residents == 100
    assert plan.kpis()["residents_served_on_time"] == 100
    assert plan.status == SolveStatus.OPTIMAL
    assert plan.gap == 0.0
    assert "100 of 200 residents (50.0%) served within 6 h by the trucks' tours" in plan.summary()
    # The other shelter is served late, not forgotten.
    assert all(s.served_on_time or s.items[0].late > 0 for s in plan.shelters)


def test_tours_that_keep_the_promise_end_after_one_round() -> None:
    plan = plan_with_tours(opposite_shelters(trucks=2), route_params=ONE_WORKER, time_limit_s=8)
    assert plan.routing is not None
    assert len(plan.routing.rounds) == 1
    assert plan.kpis()["residents_served_on_time"] == 200
    assert not any(note.startswith("re-allocation:") for note in plan.notes)


def test_parts_are_slices_that_fit_the_truck_and_add_up() -> None:
    """Water is dense, quilts bulky: every part carries both in the load's proportions, so
    no truck fills by volume at a fraction of its weight."""
    weight = {"W": 13.5, "Q": 2.5}
    volume = {"W": 0.02, "Q": 0.045}
    lines = [Load("W", "L1", 1000), Load("Q", "L2", 1500)]  # 17.25 t, 87.5 m³: 2.5 trucks
    cut = parts("S", True, lines, weight, volume, 8000, 35, 0.25)
    for part in cut:
        assert part.kg <= 8000 + 1e-9
        assert part.m3 <= 35 + 1e-9
        assert {load.item for load in part.loads} == {"W", "Q"}
    assert sum(ld.qty for p in cut for ld in p.loads if ld.item == "W") == 1000
    assert sum(ld.qty for p in cut for ld in p.loads if ld.item == "Q") == 1500
    full = [p for p in cut if p.m3 > 35 * 0.98]
    pieces = [p for p in cut if p.m3 <= 35 * 0.98]
    assert len(full) == 2  # two full truckloads, then the half truck in quarter pieces
    assert len(pieces) == 2
    assert all(p.m3 <= 35 * 0.25 + 0.1 for p in pieces)


def test_a_unit_bigger_than_the_truck_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="TENT"):
        parts("S", True, [Load("TENT", "L", 1)], {"TENT": 70}, {"TENT": 40}, 8000, 35, 0.25)


def test_a_round_with_untoured_depots_never_beats_a_toured_one() -> None:
    """An untoured depot's on-time loads are the allocation's estimate: however many
    residents that round claims, a fully toured round is preferred."""
    from dataclasses import replace

    from optimizer.planner import _rank

    plan = plan_with_tours(opposite_shelters(trucks=2), route_params=ONE_WORKER, time_limit_s=8)
    assert plan.routing is not None
    toured = replace(plan, routing=replace(plan.routing, untoured_depots=[]))
    untoured = replace(plan, routing=replace(plan.routing, untoured_depots=["D"]))
    assert _rank(toured) > _rank(untoured)


def test_the_same_seed_gives_the_same_plan_and_another_seed_is_recorded() -> None:
    """Work, not the clock, bounds the search: two runs with one seed make the same plan;
    the seed is recorded in the routing summary."""
    from tests.optimizer.test_bound import scattered

    problem = scattered(4, 4, 2)
    params = RouteParams(workers=2, seed=5)
    first = plan_with_tours(problem, route_params=params, time_limit_s=10)
    second = plan_with_tours(problem, route_params=params, time_limit_s=10)
    assert first.routing is not None
    assert not first.routing.capped
    assert not first.clock_cut
    assert first.routing.seed == 5
    assert first.fingerprint() == second.fingerprint()


def test_a_round_change_names_ten_pairs_and_counts_the_rest() -> None:
    """A province's re-allocation sends thousands of (shelter, depot) pairs late: the note
    names the first ten and counts the others (the round record keeps them all)."""
    from optimizer.planner import _listed

    names = [f"SH{k:03d} from D" for k in range(2_345)]
    text = _listed(names)
    assert text.startswith("SH000 from D, SH001 from D")
    assert text.endswith("SH009 from D and 2,335 more")
    assert _listed(names[:3]) == "SH000 from D, SH001 from D, SH002 from D"
