"""Travel times on damaged roads, and needs from norms."""

import math

import numpy as np

from optimizer.demand import needs
from optimizer.network import Place, haversine_km, travel_times
from optimizer.problem import Node, Norm, Per, Road, RoadStatus, Shelter
from tests.optimizer import instances as inst


def line_network(status: RoadStatus, factor: float = 1.0):  # type: ignore[no-untyped-def]
    """Two nodes 0.5° of longitude apart, joined by one 40 km road at 80 km/h."""
    nodes = (Node("a", 40.0, 122.0), Node("b", 40.0, 122.5))
    roads = (Road("a", "b", 40.0, "class2", 80.0, status, factor),)
    return inst.problem(nodes=nodes, roads=roads)


def test_vehicle_drives_at_the_slower_of_road_and_own_speed() -> None:
    """A 60 km/h truck on an 80 km/h road takes 40/60 h; a supplier at road speed 40/80 h."""
    p = line_network(RoadStatus.OPEN)
    tt = travel_times(
        p,
        [Place("truck", 40.0, 122.0, 60.0), Place("own", 40.0, 122.0, None)],
        [Place("S", 40.0, 122.5)],
    )
    assert math.isclose(tt.of("truck", "S"), 40 / 60, rel_tol=1e-9)
    assert math.isclose(tt.of("own", "S"), 40 / 80, rel_tol=1e-9)


def test_damage_factor_slows_and_closure_disconnects() -> None:
    """damaged:0.25 makes 80 km/h into 20 km/h; a closed road leaves the pair unreachable."""
    slow = travel_times(
        line_network(RoadStatus.DAMAGED, 0.25),
        [Place("own", 40.0, 122.0)],
        [Place("S", 40.0, 122.5)],
    )
    assert math.isclose(slow.of("own", "S"), 40 / 20, rel_tol=1e-9)
    closed = travel_times(
        line_network(RoadStatus.CLOSED), [Place("own", 40.0, 122.0)], [Place("S", 40.0, 122.5)]
    )
    assert np.isinf(closed.of("own", "S"))


def test_places_join_the_nearest_node_with_an_access_leg() -> None:
    """A shelter off the road adds great-circle × 1.3 at 30 km/h to reach its node."""
    p = line_network(RoadStatus.OPEN)
    off = Place("S", 40.05, 122.5)
    tt = travel_times(p, [Place("own", 40.0, 122.0)], [off])
    access = float(haversine_km(40.05, 122.5, 40.0, 122.5)) * 1.3 / 30
    assert math.isclose(tt.of("own", "S"), 40 / 80 + access, rel_tol=1e-9)


def test_without_roads_great_circle_times_the_detour_factor() -> None:
    """No road file: great-circle distance × 1.3 at the vehicle's speed."""
    tt = travel_times(inst.problem(), [Place("t", 40.0, 122.0, 50.0)], [Place("S", 40.3, 122.0)])
    km = float(haversine_km(40.0, 122.0, 40.3, 122.0)) * 1.3
    assert math.isclose(tt.of("t", "S"), km / 50, rel_tol=1e-9)


def test_needs_round_up_and_multiply_daily_norms_by_horizon() -> None:
    """0.3 tents per person for 10 people is exactly 3 (no float creep to 4); daily norms
    times the horizon; zero residents need nothing."""
    p = inst.problem(
        norms=(Norm("W", 0.23, Per.DAY, 1, True), Norm("T", 0.3, Per.ONCE, 1, True)),
        shelters=(Shelter("A", "a", 40, 122, 10), Shelter("Z", "z", 40, 122, 0)),
        horizon_days=3,
    )
    got = {(n.shelter, n.item): n.qty for n in needs(p)}
    assert got == {("A", "W"): 7, ("A", "T"): 3}  # ceil(10 × 0.23 × 3 = 6.9) = 7
