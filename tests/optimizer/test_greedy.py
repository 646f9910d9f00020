"""The greedy baseline on instances small enough to follow by hand.

Travel without roads is great-circle x 1.3 at the vehicle's 60 km/h: 0.1 degree of latitude
(11.1 km) takes 0.24 h, 1 degree 2.4 h.
"""

from datetime import date

import pytest

from optimizer.greedy import solve_greedy
from optimizer.plan import Plan, ShelterPlan, SolveStatus
from optimizer.problem import Depot, Lot, Problem, Shelter
from tests.optimizer import instances as inst


def shelter(plan: Plan, code: str) -> ShelterPlan:
    return next(s for s in plan.shelters if s.code == code)


def shipped(plan: Plan) -> dict[str, int]:
    """Units per source."""
    out: dict[str, int] = {}
    for s in plan.shipments:
        out[s.source] = out.get(s.source, 0) + s.qty
    return out


def two_depots(*, near_loading_hours: float = 1.0, near_has_fleet: bool = True) -> Problem:
    """Shelter S (100 residents, 1 unit each) at 40.0 N; NEAR holds 40 units 0.1 degree
    away, FAR holds 100 units 1 degree away, both loading in 1 h unless told otherwise."""
    return inst.problem(
        depots=(
            Depot("NEAR", "near", "township", 40.1, 122.0, near_loading_hours),
            Depot("FAR", "far", "city", 41.0, 122.0, 1.0),
        ),
        lots=(Lot("NEAR", "W", "N1", 40, None), Lot("FAR", "W", "F1", 100, None)),
        shelters=(Shelter("S", "s", 40.0, 122.0, 100),),
        fleet=((inst.truck("NEAR"),) if near_has_fleet else ()) + (inst.truck("FAR"),),
    )


def test_greedy_takes_nearest_source_first() -> None:
    """The need empties the nearest depot (40) before topping up from the far one (60)."""
    plan = solve_greedy(two_depots())
    assert shipped(plan) == {"NEAR": 40, "FAR": 60}
    near = next(s for s in plan.shipments if s.source == "NEAR")
    assert near.arrival_hours == pytest.approx(1.0 + 11.12 * 1.3 / 60, abs=0.01)
    assert shelter(plan, "S").served_on_time


def test_greedy_ranks_sources_by_ready_plus_travel_hours() -> None:
    """A near depot that needs 5 h to load (arrival 5.24 h) comes after a far one that is
    ready in 1 h (arrival 3.41 h): nearest means soonest to arrive, not shortest drive."""
    plan = solve_greedy(two_depots(near_loading_hours=5.0))
    assert shipped(plan) == {"FAR": 100}


def test_greedy_skips_depot_without_vehicles() -> None:
    """A depot with no fleet cannot deliver, however near: everything comes from FAR."""
    plan = solve_greedy(two_depots(near_has_fleet=False))
    assert shipped(plan) == {"FAR": 100}


def test_greedy_serves_shelters_in_input_order() -> None:
    """100 units for shelters needing 60 then 80: the first is filled, the second gets the
    remaining 40; 60 residents served where the MIP serves 80."""
    plan = solve_greedy(inst.short_depot())
    assert shelter(plan, "A").items[0].on_time == 60
    assert shelter(plan, "B").items[0].on_time == 40
    assert plan.kpis()["residents_served_on_time"] == 60


def test_greedy_never_ships_expired_lots() -> None:
    """The expired lot of 1,000 is never used; the 60 units come from the soonest-expiring
    fresh lot (30) and then the later one (30)."""
    plan = solve_greedy(inst.expired_and_fresh())
    lots = {s.lot: s.qty for s in plan.shipments}
    assert lots == {"SOON": 30, "LATER": 30}
    assert shelter(plan, "S").served_on_time


def test_greedy_unmet_when_only_expired_stock() -> None:
    """With only an expired lot on hand nothing is shipped and the need stays unmet."""
    p = inst.problem(
        depots=(Depot("D", "depot", "county", 40.0, 122.0, 1.0),),
        lots=(Lot("D", "W", "OLD", 1000, date(2025, 12, 31)),),
        shelters=(Shelter("S", "s", 40.05, 122.0, 60),),
        fleet=(inst.truck("D"),),
    )
    plan = solve_greedy(p)
    assert plan.shipments == []
    assert shelter(plan, "S").items[0].unmet == 60


def test_greedy_counts_late_arrival_as_late() -> None:
    """An agreement with a 12 h lead time still ships (late beats unmet), but its units
    count as late, not on time, and the shelter is not served within 10 h."""
    plan = solve_greedy(inst.slow_agreement())
    s = shelter(plan, "S")
    assert (s.items[0].on_time, s.items[0].late, s.items[0].unmet) == (0, 100, 0)
    assert not s.served_on_time
    assert plan.kpis()["residents_served_on_time"] == 0
    assert all(sh.arrival_hours > 10 for sh in plan.shipments)


def test_greedy_deadline_override_decides_on_time() -> None:
    """FAR's units arrive at 3.41 h: on time by 10 h, late by a 2 h deadline, same plan."""
    p = two_depots(near_loading_hours=5.0)
    assert shelter(solve_greedy(p), "S").items[0].on_time == 100
    tight = shelter(solve_greedy(p, deadline_hours=2.0), "S").items[0]
    assert (tight.on_time, tight.late) == (0, 100)


def test_greedy_reports_feasible_without_gap() -> None:
    """A heuristic proves nothing: status feasible, no gap, and a note saying what it is."""
    plan = solve_greedy(inst.short_depot())
    assert plan.status == SolveStatus.FEASIBLE
    assert plan.gap is None
    assert "greedy baseline" in plan.notes


def test_greedy_rejects_non_positive_deadline() -> None:
    """A deadline of zero hours is a bad parameter, named in the error."""
    with pytest.raises(ValueError, match="deadline_hours"):
        solve_greedy(inst.short_depot(), deadline_hours=0)
