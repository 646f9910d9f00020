"""Re-planning mid-operation: a new plan starts from the ledger as it is, keeps the loads
already on the road, and takes new road closures. The real planner runs here."""

import json
from dataclasses import replace
from datetime import date

from sqlmodel import Session

from optimizer.params import RouteParams
from optimizer.plan import Plan, SourceKind
from optimizer.planner import plan_with_tours
from optimizer.problem import (
    Depot,
    ItemSpec,
    Lot,
    Node,
    Norm,
    Per,
    Problem,
    Road,
    RoadStatus,
    Shelter,
    VehicleType,
)
from supply.models import Tier
from supply.services import dispatch, snapshot
from supply.verify import verify
from tests.factories import TODAY, make_depot, make_item, receive

ONE_WORKER = RouteParams(workers=1)
DETOUR = (122.2, 40.2)  # (lon, lat) of the detour's middle node


def scenario(*, bridge: RoadStatus = RoadStatus.OPEN) -> Problem:
    """Depot CTY with one 8 t truck; shelters A (north) and B (east), 500 residents each,
    each needing 500 cases of water (6.75 t: one truckload). B is 18 km away over a bridge,
    or 60 km round by the detour node."""
    return Problem(
        name="replan",
        items=(ItemSpec("WATER", "水", "water", "food_water", "case", 13.5, 0.02),),
        norms=(Norm("WATER", 1.0, Per.ONCE, 1, True),),
        depots=(Depot("CTY", "city", "county", 40.0, 122.0, 1.0),),
        lots=(Lot("CTY", "WATER", "FROM-CSV", 1, None),),  # replaced by the ledger's stock
        agreements=(),
        shelters=(
            Shelter("SH-A", "A", 40.1, 122.0, 500),
            Shelter("SH-B", "B", 40.0, 122.2, 500),
        ),
        fleet=(VehicleType("CTY", "truck", 1, 8000, 35, 60),),
        nodes=(
            Node("n_cty", 40.0, 122.0),
            Node("n_a", 40.1, 122.0),
            Node("n_b", 40.0, 122.2),
            Node("n_d", 40.2, 122.2),
        ),
        roads=(
            Road("n_cty", "n_a", 12.0, "class2", 60.0),
            Road("n_cty", "n_b", 18.0, "class2", 60.0, bridge),
            Road("n_cty", "n_d", 30.0, "class2", 60.0),
            Road("n_d", "n_b", 30.0, "class2", 60.0),
        ),
        deadline_hours=10.0,
        today=TODAY,
    )


def document(plan: Plan) -> dict:
    return json.loads(plan.to_json())


def test_replan_after_a_road_closes_keeps_what_left_and_reroutes_the_rest(
    session: Session,
) -> None:
    make_item(session, "WATER")
    make_depot(session, "CTY", Tier.COUNTY)
    receive(session, "CTY", "WATER", 1500, "W1", expires_on=date(2030, 1, 1))

    first = plan_with_tours(
        snapshot.problem_from_ledger(session, scenario()), route_params=ONE_WORKER, time_limit_s=6
    )
    assert first.kpis()["residents_served_on_time"] == 1000
    approved = dispatch.approve(session, document(first), today=TODAY)
    (route,) = first.routes
    to_a = next(t for t in route.trips if [s.shelter for s in t.stops] == ["SH-A"])
    to_b = next(t for t in route.trips if [s.shelter for s in t.stops] == ["SH-B"])
    assert DETOUR not in to_b.path  # over the bridge
    dispatch.depart(session, approved.number, route.vehicle, to_a.trip)

    # The bridge falls after the truck left for A: re-plan from the ledger 1.5 h in.
    closed = replace(scenario(bridge=RoadStatus.CLOSED), now_hours=1.5)
    snap = snapshot.ledger_snapshot(session, closed, replacing=[approved.number])
    assert {(e.shelter, e.item) for e in snap.problem.en_route} == {("SH-A", "WATER")}
    assert sum(e.qty for e in snap.problem.en_route) == 500
    again = plan_with_tours(snap.problem, route_params=ONE_WORKER, time_limit_s=6)

    # What left is counted, not sent again; the rest goes round by the detour, on time.
    on_road = [s for s in again.shipments if s.source_kind == SourceKind.EN_ROUTE]
    assert sum(s.qty for s in on_road) == 500
    assert all(s.shelter == "SH-A" for s in on_road)
    from_depot = [s for s in again.shipments if s.source_kind == SourceKind.DEPOT]
    assert {s.shelter for s in from_depot} == {"SH-B"}
    assert sum(s.qty for s in from_depot) == 500
    (new_route,) = again.routes
    (trip,) = new_route.trips
    # The only truck is still out at A: it leaves again after driving home (12 km at
    # 60 km/h) and reloading (0.5 h), under its own name.
    assert snap.problem.away[0].vehicle == route.vehicle
    assert new_route.vehicle == route.vehicle
    assert trip.depart_hours >= to_a.stops[0].arrival_hours + 0.2 + 0.5 - 1e-6
    assert DETOUR in trip.path
    assert trip.stops[0].arrival_hours >= trip.depart_hours + 1.0 - 1e-6  # 60 km, not 18
    assert again.kpis()["residents_served_on_time"] == 1000

    # Approving it in place of the first plan holds exactly B's load; the ledger stays whole.
    replaced = dispatch.approve(session, document(again), replaces=[approved.number], today=TODAY)
    assert replaced.qty == 500
    assert verify(session).ok
    status = dispatch.plan_status(session, approved.number)
    assert status.status == "cancelled"
    assert any(ld.status == "in_transit" and ld.shelter == "SH-A" for ld in status.loads)
