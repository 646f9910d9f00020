"""The allocation model on instances with hand-computed optima, plus its invariants."""

import time
from collections import defaultdict
from datetime import date

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import optimizer.allocate as alloc
from optimizer import AllocationParams, SolveStatus, solve_allocation
from optimizer.demand import needs
from optimizer.params import LP_BACKENDS, MIP_BACKENDS
from optimizer.plan import Plan
from optimizer.problem import Depot, Lot, Norm, Per, Problem, Shelter, VehicleType
from optimizer.sources import reach
from tests.optimizer import instances as inst


def shelter(plan: Plan, code: str):  # type: ignore[no-untyped-def]
    return next(s for s in plan.shelters if s.code == code)


def test_short_depot_serves_the_larger_shelter_fully() -> None:
    """100 units for needs of 60 and 80: serving 80 residents beats 60 (objective 1)."""
    plan = solve_allocation(inst.short_depot(), time_limit_s=5)
    assert plan.status == SolveStatus.OPTIMAL
    assert plan.kpis()["residents_served_on_time"] == 80
    assert shelter(plan, "B").served_on_time
    a = shelter(plan, "A")
    assert not a.served_on_time
    assert a.items[0].on_time == 20
    assert any("shortage" in r for r in a.reasons)


def test_closed_road_sends_from_the_farther_depot() -> None:
    """The near depot's only road is closed; the shelter is served from the far one."""
    plan = solve_allocation(inst.closed_road(), time_limit_s=5)
    assert shelter(plan, "S").served_on_time
    assert {s.source for s in plan.shipments} == {"FAR"}
    arrival = plan.shipments[0].arrival_hours
    assert 2.0 <= arrival <= 2.2  # 1 h loading + 60 km at 60 km/h (+ short access legs)


def test_all_roads_closed_is_reported_unreachable() -> None:
    """With every road closed the shelter is unreachable, and the plan says so."""
    from dataclasses import replace

    from optimizer.problem import RoadStatus

    p = inst.closed_road()
    p = replace(p, roads=tuple(replace(r, status=RoadStatus.CLOSED) for r in p.roads))
    plan = solve_allocation(p, time_limit_s=5)
    s = shelter(plan, "S")
    assert not s.served_on_time
    assert plan.shipments == []
    assert s.reasons == ["unreachable: every road to the shelter is closed"]


def test_too_slow_agreement_delivers_late_not_on_time() -> None:
    """A 12 h lead time misses a 10 h deadline: units arrive late, never counted on time."""
    plan = solve_allocation(inst.slow_agreement(), time_limit_s=5)
    s = shelter(plan, "S")
    assert not s.served_on_time
    assert s.items[0].on_time == 0
    assert s.items[0].late == s.items[0].need == 100
    assert any(r.startswith("deadline") for r in s.reasons)
    # With a 14 h deadline the same agreement is in time.
    later = solve_allocation(inst.slow_agreement(), time_limit_s=5, deadline_hours=14)
    assert shelter(later, "S").served_on_time


def test_expired_lots_never_used_and_soonest_expiry_first() -> None:
    """Expired stock is never shipped; of usable lots the soonest to expire goes first."""
    plan = solve_allocation(inst.expired_and_fresh(), time_limit_s=5)
    shipped = {s.lot: s.qty for s in plan.shipments}
    assert "OLD" not in shipped
    assert shipped == {"SOON": 30, "LATER": 30}
    assert shelter(plan, "S").served_on_time


def test_fleet_without_vehicles_cannot_deliver() -> None:
    """A depot with stock but no vehicle ships nothing, and the reason says so."""
    from dataclasses import replace

    plan = solve_allocation(replace(inst.short_depot(), fleet=()), time_limit_s=5)
    assert plan.shipments == []
    assert all(any("no vehicle" in r for r in s.reasons) for s in plan.shelters)


def test_bad_parameters_name_the_parameter() -> None:
    """Bad optimiser inputs raise ValueError naming the parameter."""
    with pytest.raises(ValueError, match="time_limit_s"):
        solve_allocation(inst.short_depot(), time_limit_s=0)
    with pytest.raises(ValueError, match="solver"):
        AllocationParams(solver="GUROBI")
    with pytest.raises(ValueError, match="deadline_hours"):
        solve_allocation(inst.short_depot(), time_limit_s=1, deadline_hours=-1)


@st.composite
def random_problems(draw: st.DrawFn, close: bool = False) -> Problem:
    """Small random problems; `close` puts 2-8 shelters within a few km of each other, so
    their arrival times are alike and shelter grouping has something to group."""
    n_depots = draw(st.integers(1, 3))
    n_shelters = draw(st.integers(2, 8) if close else st.integers(1, 5))
    near = st.tuples(st.floats(40.7, 40.75), st.floats(122.7, 122.75))
    coords = st.tuples(st.floats(40.0, 41.5), st.floats(122.0, 123.5))
    depots, lots, fleet = [], [], []
    for d in range(n_depots):
        lat, lon = draw(coords)
        depots.append(Depot(f"D{d}", f"d{d}", "county", lat, lon, draw(st.floats(0, 3))))
        for k in range(draw(st.integers(0, 3))):
            expires = draw(st.sampled_from([None, date(2025, 1, 1), date(2027, 1, 1)]))
            lots.append(
                Lot(
                    f"D{d}",
                    draw(st.sampled_from(["W", "Q"])),
                    f"L{d}{k}",
                    draw(st.integers(0, 300)),
                    expires,
                )
            )
        if draw(st.booleans()):
            fleet.append(
                VehicleType(
                    f"D{d}", "t", draw(st.integers(1, 3)), 2000, 10, draw(st.floats(20, 80))
                )
            )
    shelters = []
    for h in range(n_shelters):
        lat, lon = draw(near if close else coords)
        shelters.append(Shelter(f"S{h}", f"s{h}", lat, lon, draw(st.integers(0, 200))))
    return inst.problem(
        items=(inst.WATER, inst.QUILT),
        norms=(Norm("W", 0.5, Per.DAY, 1, True), Norm("Q", 1.0, Per.ONCE, 2, draw(st.booleans()))),
        depots=tuple(depots),
        lots=tuple(lots),
        shelters=tuple(shelters),
        fleet=tuple(fleet),
    )


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(random_problems())
def test_plans_respect_lots_deadline_and_served_flags(problem: Problem) -> None:
    """Any plan: never ships more than a lot holds, nor an expired lot; never counts a late
    arrival as on time; `served_on_time` agrees with the shipments; no shelter gets more
    than it needs."""
    plan = solve_allocation(problem, time_limit_s=5)
    held = {(lot.depot, lot.lot): lot for lot in problem.lots}
    shipped: dict[tuple[str, str], int] = defaultdict(int)
    on_time: dict[tuple[str, str], int] = defaultdict(int)
    got: dict[tuple[str, str], int] = defaultdict(int)
    for sh in plan.shipments:
        lot = held[(sh.source, sh.lot)]
        assert lot.expires_on is None or lot.expires_on >= problem.today
        shipped[(sh.source, sh.lot)] += sh.qty
        got[(sh.shelter, sh.item)] += sh.qty
        if sh.arrival_hours <= plan.deadline_hours:
            on_time[(sh.shelter, sh.item)] += sh.qty
    for key, qty in shipped.items():
        assert qty <= held[key].qty
    need = {(n.shelter, n.item): n for n in needs(problem)}
    for key, qty in got.items():
        assert qty <= need[key].qty
    for s in plan.shelters:
        for c in s.items:
            assert c.on_time == on_time[(s.code, c.item)]
        served = all(
            on_time[(s.code, n.item)] >= n.qty
            for k, n in need.items()
            if k[0] == s.code and n.critical
        )
        assert s.served_on_time == served


def test_time_limit_is_honoured() -> None:
    """A tight limit returns within it (plus a small margin), with a stated status."""
    from dataclasses import replace

    p = inst.short_depot()
    many = tuple(
        Shelter(f"S{i}", f"s{i}", 40.0 + i * 0.001, 122.0 + (i % 17) * 0.01, 10 + i % 7)
        for i in range(400)
    )
    p = replace(p, shelters=many, lots=(Lot("D", "W", "L1", 2500, None),))
    started = time.perf_counter()
    plan = solve_allocation(p, time_limit_s=1.0)
    assert time.perf_counter() - started < 3.0
    assert plan.status in (SolveStatus.OPTIMAL, SolveStatus.FEASIBLE, SolveStatus.TIMED_OUT)


def test_fleet_capacity_bounds_on_time_units_and_the_rest_arrive_late() -> None:
    """One 1-tonne truck, 1 h from the shelter, 1 h loading, 10 h deadline. A cycle is
    2 h of driving + 0.5 h reloading + 0.25 h stop + 1/6 h unloading a tonne = 2.92 h, so
    it arrives at 2, 4.92 and 7.83 h (the next at 10.75 h is late): 3 loads of 1,000 kg =
    222 cases of 13.5 kg on time; the rest of the 1,000 come late, never counted on time."""
    from dataclasses import replace

    from optimizer.network import haversine_km

    p = inst.short_depot()
    km = float(haversine_km(40.0, 122.0, 40.1, 122.0)) * 1.3
    lat = 40.0 + 0.1 * 60.0 / km  # place the shelter one hour away at 60 km/h
    p = replace(
        p,
        lots=(Lot("D", "W", "L1", 5000, None),),
        shelters=(Shelter("A", "a", lat, 122.0, 1000),),
        fleet=(VehicleType("D", "light", 1, 1000, 30, 60),),
    )
    plan = solve_allocation(p, time_limit_s=5)
    a = shelter(plan, "A")
    assert a.items[0].on_time == 222
    assert a.items[0].on_time + a.items[0].late == 1000
    late = [s for s in plan.shipments if s.arrival_hours > plan.deadline_hours]
    assert sum(s.qty for s in late) == a.items[0].late
    assert any("fleet capacity" in r for r in a.reasons)


@pytest.mark.parametrize(
    ("backend", "lp_backend"),
    [(mip, "HIGHS") for mip in MIP_BACKENDS] + [("SCIP", lp) for lp in LP_BACKENDS],
)
def test_every_backend_finds_the_same_optimum(backend: str, lp_backend: str) -> None:
    """The backends a user may pick agree on the hand-checked optimum."""
    params = AllocationParams(solver=backend, lp_solver=lp_backend)
    plan = solve_allocation(inst.short_depot(), params, time_limit_s=5)
    assert plan.status == SolveStatus.OPTIMAL
    assert plan.kpis()["residents_served_on_time"] == 80


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(random_problems(close=True), st.sampled_from([0.1, 0.5, 2.0]))
def test_grouped_shelters_plan_within_the_exact_optimum_and_its_bound(
    problem: Problem, hours: float
) -> None:
    """Grouping shelters (as on province-sized models) gives a plan no better than the exact
    optimum, with a bound no lower than it: the reported gap is a true gap."""
    exact = solve_allocation(problem, AllocationParams(cluster_hours=0), time_limit_s=5)
    grouped = solve_allocation(problem, AllocationParams(cluster_hours=hours), time_limit_s=5)
    assert exact.status == SolveStatus.OPTIMAL
    best = exact.kpis()["residents_served_on_time"]
    got = grouped.kpis()["residents_served_on_time"]
    assert got <= best
    assert grouped.gap is not None
    bound = got / (1 - grouped.gap) if grouped.gap < 1 else float("inf")
    assert best <= bound + 1e-6
    for s in grouped.shelters:  # served flags are recomputed from the shipments
        arrived = {c.item: c.on_time for c in s.items}
        assert s.served_on_time == all(
            arrived[n.item] >= n.qty for n in needs(problem) if n.shelter == s.code and n.critical
        )


def _a_in_time_b_not() -> Problem:
    """Shelters A and B near each other; with a 2.3 h deadline A is in time, B 15 min late."""
    return inst.problem(
        depots=(Depot("D", "depot", "county", 40.0, 122.0, 1.0),),
        lots=(Lot("D", "W", "L1", 1000, None),),
        shelters=(Shelter("A", "a", 40.5, 122.0, 100), Shelter("B", "b", 40.6, 122.0, 100)),
        fleet=(inst.truck("D"),),
    )


def test_grouping_never_hides_what_it_gave_up() -> None:
    """Shelters A (in time) and B (15 minutes too late) grouped: the grouped model may only
    ship what arrives in time at both, so it serves no one; the gap must say so."""
    p = _a_in_time_b_not()
    exact = solve_allocation(p, AllocationParams(cluster_hours=0), deadline_hours=2.3)
    assert shelter(exact, "A").served_on_time
    assert not shelter(exact, "B").served_on_time
    grouped = solve_allocation(p, AllocationParams(cluster_hours=1.0), deadline_hours=2.3)
    assert grouped.kpis()["residents_served_on_time"] <= 100
    assert grouped.gap is not None
    if grouped.kpis()["residents_served_on_time"] < 100:
        assert grouped.status == SolveStatus.FEASIBLE
        assert grouped.gap == pytest.approx(1.0)


def test_refined_groups_recover_what_grouping_gave_up() -> None:
    """The same two shelters grouped: the relaxation ships to A, which the group's longest
    drive forbids, so refinement splits A from B and the plan serves A, with a proof."""
    p = _a_in_time_b_not()
    grouped = solve_allocation(p, AllocationParams(cluster_hours=1.0), deadline_hours=2.3)
    assert shelter(grouped, "A").served_on_time
    assert grouped.status == SolveStatus.OPTIMAL
    assert any("then split into 2" in note for note in grouped.notes)


@given(random_problems(close=True), st.sampled_from([0.5, 2.0]))
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_refinement_splits_groups_and_children_inherit_arcs_in_time(
    problem: Problem, hours: float
) -> None:
    """Every finer group lies inside its parent, and an arc handed down from the parent is
    one the child may use (in time for all its members)."""
    travel = reach(problem)
    d = alloc._data(problem, travel.sources, travel.times.hours, problem.deadline_hours)
    cl = alloc._clusters(d, hours)
    crit = np.flatnonzero(d.critical)
    space = alloc._space(d, cl, crit)
    ys = np.flatnonzero(alloc._reachable(d, cl, space, crit))
    assume(len(ys) > 0)
    lp = alloc._lp(
        lambda: alloc._stage1_stage(d, cl, ys, crit), space, alloc._start(space), "HIGHS",
        lambda: 10.0, lambda _m: None, "t",
    )  # fmt: skip
    finer, parent = alloc._refined(d, cl, alloc._trips(d), [lp])
    assert finer.count >= cl.count
    assert len(parent) == finer.count
    assert np.array_equal(parent[finer.label], cl.label)  # each member stays in its parent
    tight = alloc._space(d, finer, crit)
    handed = alloc._inherited(alloc._priced_arcs(lp), parent, tight)
    assert tight.ok[handed.src, handed.grp].all()
    was = set(zip(lp.src.tolist(), lp.grp.tolist(), lp.item.tolist(), strict=True))
    kids = zip(handed.src.tolist(), parent[handed.grp].tolist(), handed.item.tolist(), strict=True)
    assert set(kids) <= was


def test_tiered_targets_put_a_tier_first_batch_on_target() -> None:
    """Two county depots can serve a shelter: one ready early but 5 h away (first batch at
    5.5 h, within the county's 6 h), one 2.5 h away but loading until 4 h (6.5 h, late for
    the target). Cheapest driving takes the near one and misses the target;
    `tiered_targets` keeps residents served and puts a first batch on target."""
    deg_h = 1.662 / 4  # degrees of latitude a 60 km/h truck drives in an hour
    problem = inst.problem(
        depots=(
            Depot("EARLY", "early", "county", 40.0 + 5 * deg_h, 122.0, 0.5),
            Depot("SLOW", "slow", "county", 40.0 - 2.5 * deg_h, 122.0, 4.0),
        ),
        lots=(Lot("EARLY", "W", "E1", 500, None), Lot("SLOW", "W", "S1", 500, None)),
        shelters=(Shelter("S", "s", 40.0, 122.0, 100),),
        fleet=(
            VehicleType("EARLY", "medium", 2, 8000, 35, 60),
            VehicleType("SLOW", "medium", 2, 8000, 35, 60),
        ),
    )
    plain = solve_allocation(problem, time_limit_s=10)
    tiered = solve_allocation(problem, AllocationParams(tiered_targets=True), time_limit_s=10)
    for plan in (plain, tiered):
        assert plan.kpis()["residents_served_on_time"] == 100
    (before,) = plain.shelters[0].first_batches
    assert before.met is False
    (after,) = tiered.shelters[0].first_batches
    assert after.met is True
    assert after.arrival_hours == pytest.approx(5.5, abs=0.1)
    assert tiered.kpis()["first_batch_on_target"]["county"]["share"] == 1.0


def test_an_allocation_the_clock_stops_says_so() -> None:
    """The synthetic city's stage-1 LP needs seconds: with a fraction of a second the
    solver stops on its time limit, and the plan says another run may differ. A small
    instance solved to its proof says nothing of the kind."""
    from bench.synthetic import build_problem
    from optimizer.allocate import CUT_NOTE

    rushed = solve_allocation(build_problem("city"), time_limit_s=0.2)
    assert rushed.clock_cut
    assert CUT_NOTE in rushed.notes
    assert "cut a solve short" in rushed.summary()
    proven = solve_allocation(inst.short_depot(), time_limit_s=10)
    assert proven.status == SolveStatus.OPTIMAL
    assert not proven.clock_cut
