"""Travel times on damaged roads, and needs from norms."""

import math

import numpy as np

from optimizer.demand import needs
from optimizer.network import Place, haversine_km, local_times, road_paths, travel_times
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


def shortcut_network():  # type: ignore[no-untyped-def]
    """A hub H with spokes to A and C (60 km each) and a 72 km shortcut A–C; B 30 km past A.

    All roads at 60 km/h and every place on its node, so hours are km / 60: A–B 0.5 h,
    A–C 1.2 h by the shortcut, 2 h through the hub.
    """
    nodes = (
        Node("H", 40.0, 122.0),
        Node("A", 40.0, 122.7),
        Node("B", 40.0, 123.05),
        Node("C", 40.54, 122.0),
    )
    roads = tuple(
        Road(a, b, km, "class2", 60.0, RoadStatus.OPEN, 1.0)
        for a, b, km in (("H", "A", 60.0), ("A", "B", 30.0), ("H", "C", 60.0), ("A", "C", 72.0))
    )
    shelters = tuple(Shelter(n.id, n.id, n.lat, n.lon, 100) for n in nodes[1:])
    return inst.problem(nodes=nodes, roads=roads, shelters=shelters)


def test_local_times_are_exact_within_reach_and_through_the_hub_beyond() -> None:
    """Pairs within reach by their fastest road; farther ones by a road through the hub,
    which a truck can drive and which is never faster than the fastest."""
    p = shortcut_network()
    hub = Place("H", 40.0, 122.0, 60.0)
    places = [Place(s.code, s.lat, s.lon) for s in p.shelters]
    exact = local_times(p, hub, places, math.inf)
    near = local_times(p, hub, places, 1.0)
    a, b, c = 1, 2, 3
    assert np.allclose(exact[0], near[0])
    assert np.allclose(exact[:, 0], near[:, 0])
    assert math.isclose(exact[a, b], 0.5, abs_tol=1e-6)
    assert math.isclose(near[a, b], 0.5, abs_tol=1e-6)
    assert math.isclose(exact[a, c], 1.2, abs_tol=1e-6)
    assert math.isclose(near[a, c], 2.0, abs_tol=1e-6)  # H is 1 h from both
    assert np.all(near >= exact - 1e-9)
    full = travel_times(p, [hub, *places], [hub, *places]).hours
    assert np.allclose(exact, full)


def test_road_paths_found_shallow_first_match_whole_trees() -> None:
    """Searching legs 1 h deep first, then whole trees, draws the same roads."""
    p = shortcut_network()
    at = {s.code: Place(s.code, s.lat, s.lon, 60.0) for s in p.shelters}
    home = Place("H", 40.0, 122.0, 60.0)
    legs = [(home, at["A"]), (at["A"], at["B"]), (at["B"], at["C"]), (at["C"], home)]
    shallow = road_paths(p, legs, reach_hours=0.6)
    deep = road_paths(p, legs, reach_hours=math.inf)
    assert shallow == deep
    assert [len(line) for line in deep] == [4, 4, 5, 4]  # B–C goes back through A
