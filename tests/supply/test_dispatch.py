"""Dispatch: a plan's loads are reserved, moved into transit and issued to shelters, and the
ledger's stock becomes the planner's problem. Plan documents are written by hand here."""

import json
import threading
from collections import defaultdict
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlmodel import Session

from optimizer.plan_document import (
    LoadDoc,
    PlanDocument,
    RouteDoc,
    ShipmentDoc,
    StopDoc,
    TripDoc,
)
from optimizer.problem import Depot, ItemSpec, Lot, Problem, Shelter
from supply.db import session_scope
from supply.errors import Conflict, DocumentState, InvalidInput, NotFound
from supply.models import (
    Balance,
    Batch,
    DispatchLoad,
    DispatchPlan,
    Document,
    Item,
    Location,
    LocationKind,
    Movement,
    Reservation,
    Tier,
)
from supply.services import dispatch, reversal, snapshot, stock
from supply.services.balances import balances
from supply.services.lookup import virtual
from supply.verify import verify
from tests.conftest import BACKENDS, create_schema, drop_pg_schema, fresh_engine
from tests.factories import TODAY, make_depot, make_item, receive

# (vehicle, depot, trip, stop, shelter, item, lot, qty)
ROUTED = [
    ("CTY/truck-1", "CTY", 1, 1, "SH-A", "WATER", "W1", 30),
    ("CTY/truck-1", "CTY", 1, 1, "SH-A", "QUILT", "Q1", 10),
    ("CTY/truck-1", "CTY", 1, 2, "SH-B", "WATER", "W1", 20),
    ("CTY/truck-1", "CTY", 2, 3, "SH-A", "WATER", "W2", 15),
    ("TWN/van-1", "TWN", 1, 1, "SH-B", "WATER", "W3", 20),
]


def plan_doc(
    loads: list[tuple[str, str, int, int, str, str, str, int]] = ROUTED,
    *,
    name: str = "test-plan",
    routes: bool = True,
    agreement_qty: int = 40,
) -> dict[str, Any]:
    """A plan JSON built with the plan document schema: shipments per load, plus routes."""
    shipments = [
        ShipmentDoc(
            source=depot,
            source_kind="depot",
            lot=lot,
            shelter=shelter,
            item=item,
            qty=qty,
            ready_hours=1.0,
            arrival_hours=2.5,
        )
        for _v, depot, _t, _s, shelter, item, lot, qty in loads
    ]
    if agreement_qty:
        shipments.append(
            ShipmentDoc(
                source="AG-SM",
                source_kind="agreement",
                shelter="SH-B",
                item="WATER",
                qty=agreement_qty,
                ready_hours=2.0,
                arrival_hours=3.0,
            )
        )
    by_vehicle: dict[str, RouteDoc] = {}
    for vehicle, depot, trip, stop, shelter, item, lot, qty in loads:
        route = by_vehicle.setdefault(vehicle, RouteDoc(vehicle=vehicle, depot=depot))
        trips = {t.trip: t for t in route.trips}
        if trip not in trips:
            trips[trip] = TripDoc(trip=trip, depart_hours=1.0, return_hours=6.0)
            route.trips.append(trips[trip])
        stops = {s.stop: s for s in trips[trip].stops}
        if stop not in stops:
            stops[stop] = StopDoc(stop=stop, shelter=shelter, arrival_hours=2.5)
            trips[trip].stops.append(stops[stop])
        stops[stop].loads.append(LoadDoc(item=item, lot=lot, qty=qty))
    return PlanDocument(
        name=name,
        status="optimal",
        deadline_hours=10,
        solve_seconds=0.1,
        shipments=shipments,
        routes=list(by_vehicle.values()) if routes else [],
    ).to_json_dict()


@pytest.fixture
def world(session: Session) -> Session:
    make_item(session, "WATER")
    make_item(session, "QUILT", shelf_life_days=None, rotation_lead_days=0)
    make_depot(session, "CTY", Tier.COUNTY)
    make_depot(session, "TWN", Tier.TOWNSHIP, parent="CTY")
    receive(session, "CTY", "WATER", 100, "W1")
    receive(session, "CTY", "WATER", 50, "W2", expires_on=date(2027, 3, 1))
    receive(session, "CTY", "QUILT", 40, "Q1", expires_on=None)
    receive(session, "TWN", "WATER", 20, "W3")
    return session


def approve(session: Session, doc: dict[str, Any], **kw: Any) -> dispatch.Approval:
    return dispatch.approve(session, doc, today=TODAY, **kw)


def state(session: Session) -> dict[str, Any]:
    """Everything dispatch could touch, to show that a refusal changed nothing."""
    return {
        "balances": sorted(
            session.execute(
                select(Balance.location_id, Balance.batch_id, Balance.on_hand, Balance.reserved)
            ).all()
        ),
        "reservations": session.scalar(select(func.count()).select_from(Reservation)),
        "documents": session.scalar(select(func.count()).select_from(Document)),
        "plans": session.scalar(select(func.count()).select_from(DispatchPlan)),
        "loads": session.scalar(select(func.count()).select_from(DispatchLoad)),
    }


def reserved(session: Session) -> dict[tuple[str, str], int]:
    """(depot, lot) -> units reserved, for depots with a reservation."""
    rows = session.execute(
        select(Location.code, Batch.lot, Balance.reserved)
        .join(Location, Location.id == Balance.location_id)
        .join(Batch, Batch.id == Balance.batch_id)
        .where(Balance.reserved > 0)
    )
    return {(depot, lot): qty for depot, lot, qty in rows}


def run_everything(session: Session, number: str) -> None:
    for vehicle, trip in (("CTY/truck-1", 1), ("CTY/truck-1", 2), ("TWN/van-1", 1)):
        dispatch.depart(session, number, vehicle, trip)
    for vehicle, stop in (("CTY/truck-1", 1), ("CTY/truck-1", 2), ("CTY/truck-1", 3)):
        dispatch.deliver(session, number, vehicle, stop)
    dispatch.deliver(session, number, "TWN/van-1", 1)


def test_approve_reserves_exactly_the_route_loads(world: Session) -> None:
    """Each route load holds its own lot under the plan's number; agreement shipments are
    reported, not reserved."""
    result = approve(world, plan_doc())
    assert result.number.startswith("DP-")
    assert (result.loads, result.qty, result.depots) == (5, 95, 2)
    assert result.agreement_qty == {"WATER": 40}
    assert reserved(world) == {
        ("CTY", "W1"): 50,
        ("CTY", "W2"): 15,
        ("CTY", "Q1"): 10,
        ("TWN", "W3"): 20,
    }
    refs = set(world.scalars(select(Reservation.plan_ref)))
    assert refs == {result.number}
    assert verify(world).ok


def test_approve_depart_deliver_issues_the_plan_to_its_shelters(world: Session) -> None:
    """approve → depart every trip → deliver every stop: the ledger verifies clean, nothing
    stays reserved or in transit, and what `distributed` received per shelter equals the
    plan's loads."""
    doc = plan_doc()
    number = approve(world, doc).number
    run_everything(world, number)
    report = verify(world)
    assert report.ok, report.problems

    planned: dict[tuple[str, str], int] = defaultdict(int)
    for route in doc["routes"]:
        for trip in route["trips"]:
            for stop in trip["stops"]:
                for load in stop["loads"]:
                    planned[(stop["shelter"], load["item"])] += load["qty"]
    out = virtual(world, LocationKind.DISTRIBUTED)
    shelter_of = dict(world.execute(select(DispatchLoad.delivery_id, DispatchLoad.shelter)).all())
    received: dict[tuple[str, str], int] = defaultdict(int)
    for document_id, item, qty in world.execute(
        select(Movement.document_id, Item.code, Movement.qty)
        .join(Item, Item.id == Movement.item_id)
        .where(Movement.location_id == out.id, Movement.document_id.in_(list(shelter_of)))
    ):
        received[(shelter_of[document_id], item)] += qty
    # one delivery document per stop: its movements to `distributed` are the stop's loads
    assert dict(received) == dict(planned)
    view = dispatch.plan_status(world, number)
    assert view.delivered() == dict(planned)
    assert view.status == "completed"
    assert reserved(world) == {}
    transit = virtual(world, LocationKind.IN_TRANSIT)
    assert not world.scalar(
        select(func.sum(Balance.on_hand)).where(Balance.location_id == transit.id)
    )
    left = {(r.depot, r.lot): r.on_hand for r in balances(world, include_zero=True, today=TODAY)}
    assert left == {("CTY", "W1"): 50, ("CTY", "W2"): 35, ("CTY", "Q1"): 30, ("TWN", "W3"): 0}


def test_reversing_a_delivery_puts_its_loads_back_on_the_road(world: Session) -> None:
    """A delivery recorded by mistake is reversed: its loads are in transit again (the plan
    reopens), can be delivered again, and the ledger stays whole."""
    number = approve(world, plan_doc()).number
    run_everything(world, number)
    assert dispatch.plan_status(world, number).status == "completed"
    delivery = next(
        ld.delivery for ld in dispatch.plan_status(world, number).loads if ld.vehicle == "TWN/van-1"
    )
    assert delivery is not None
    reversal.reverse(world, delivery)
    view = dispatch.plan_status(world, number)
    assert view.status == "approved"
    van = [ld for ld in view.loads if ld.vehicle == "TWN/van-1"]
    assert {ld.status for ld in van} == {"in_transit"}
    assert verify(world).ok
    dispatch.deliver(world, number, "TWN/van-1", 1)
    assert dispatch.plan_status(world, number).status == "completed"
    assert verify(world).ok


def test_approve_refuses_stale_plan_and_changes_nothing(world: Session) -> None:
    """Stock issued elsewhere after planning: approval names the short lot and writes
    nothing (no plan, no reservation, no balance change)."""
    stock.issue(world, depot="CTY", item="WATER", qty=60, lot="W1", today=TODAY)
    before = state(world)
    with pytest.raises(Conflict) as err:
        approve(world, plan_doc())
    assert "stock has moved" in err.value.reason
    assert "CTY WATER lot W1: available 40, plan needs 50" in err.value.reason
    assert state(world) == before


def test_approve_refuses_expired_lot(world: Session) -> None:
    """A lot that expired since the plan was made is stale too."""
    with pytest.raises(Conflict) as err:
        dispatch.approve(world, plan_doc(), today=date(2027, 2, 1))
    assert "lot W1 expired on 2027-01-01" in err.value.reason


def test_approve_refuses_same_plan_twice(world: Session) -> None:
    """A plan is approved once, whatever the layout of its file."""
    doc = plan_doc()
    number = approve(world, doc).number
    before = state(world)
    again = json.loads(json.dumps(doc, indent=4, sort_keys=False))
    with pytest.raises(Conflict) as err:
        approve(world, again)
    assert number in err.value.reason
    assert state(world) == before


def test_approve_refuses_unknown_lot_and_bad_shape(world: Session) -> None:
    """Codes the ledger does not know are NotFound; a malformed load names its JSON path."""
    bad = [("CTY/truck-1", "CTY", 1, 1, "SH-A", "WATER", "NOPE", 5)]
    with pytest.raises(NotFound):
        approve(world, plan_doc(bad))
    doc = plan_doc()
    doc["routes"][0]["trips"][0]["stops"][0]["loads"][0]["qty"] = 0
    with pytest.raises(InvalidInput) as err:
        approve(world, doc)
    assert err.value.field == "plan.routes[0].trips[0].stops[0].loads[0].qty"
    doc = plan_doc()
    doc["routes"][0]["trips"][1]["stops"][0]["stop"] = 1
    with pytest.raises(InvalidInput) as err:
        approve(world, doc)
    assert "two stops" in err.value.reason


def test_deliver_before_depart_is_refused(world: Session) -> None:
    """Goods still in the depot cannot be handed to a shelter."""
    number = approve(world, plan_doc()).number
    before = state(world)
    with pytest.raises(DocumentState) as err:
        dispatch.deliver(world, number, "CTY/truck-1", 1)
    assert "has not departed (trip 1)" in err.value.reason
    assert state(world) == before


def test_depart_moves_trip_into_transit_once(world: Session) -> None:
    """Departing consumes the trip's reservations and moves its lots into `in_transit`;
    departing again is refused."""
    number = approve(world, plan_doc()).number
    moved = dispatch.depart(world, number, "CTY/truck-1", 1)
    assert moved.document.startswith("TD-")
    assert (moved.loads, moved.qty, moved.stops) == (3, 60, (1, 2))
    assert reserved(world) == {("CTY", "W2"): 15, ("TWN", "W3"): 20}
    transit = virtual(world, LocationKind.IN_TRANSIT)
    assert (
        world.scalar(select(func.sum(Balance.on_hand)).where(Balance.location_id == transit.id))
        == 60
    )
    assert verify(world).ok
    with pytest.raises(DocumentState):
        dispatch.depart(world, number, "CTY/truck-1", 1)
    with pytest.raises(NotFound):
        dispatch.depart(world, number, "CTY/truck-1", 9)


def test_cancel_releases_only_what_has_not_departed(world: Session) -> None:
    """Cancelling releases the loads still in depots; a trip on the road is still
    delivered, and nothing more can depart."""
    number = approve(world, plan_doc()).number
    dispatch.depart(world, number, "CTY/truck-1", 1)
    done = dispatch.cancel(world, number)
    assert (done.released_loads, done.released_qty) == (2, 35)
    assert (done.on_the_road_loads, done.on_the_road_qty) == (3, 60)
    assert reserved(world) == {}
    dispatch.deliver(world, number, "CTY/truck-1", 1)
    with pytest.raises(DocumentState):
        dispatch.depart(world, number, "CTY/truck-1", 2)
    with pytest.raises(DocumentState):
        dispatch.cancel(world, number)
    assert verify(world).ok
    assert dispatch.plan_status(world, number).qty_by_status() == {
        "reserved": 0,
        "in_transit": 20,
        "delivered": 40,
        "released": 35,
    }


def test_plan_without_routes_reserves_shipments_but_cannot_depart(world: Session) -> None:
    """A plan made with --no-routes holds its depot shipments' lots; depart says it needs
    routes."""
    result = approve(world, plan_doc(routes=False))
    assert not result.routed
    assert reserved(world) == {
        ("CTY", "W1"): 50,
        ("CTY", "W2"): 15,
        ("CTY", "Q1"): 10,
        ("TWN", "W3"): 20,
    }
    with pytest.raises(InvalidInput) as err:
        dispatch.depart(world, result.number, "CTY/truck-1", 1)
    assert "no routes" in err.value.reason


def test_routed_plan_replaces_unrouted_one(world: Session) -> None:
    """Approving with `replaces` cancels the old plan first, so its held stock serves the
    new plan, in one transaction."""
    old = approve(world, plan_doc(routes=False, name="first")).number
    with pytest.raises(Conflict):
        approve(world, plan_doc(name="second"))
    new = approve(world, plan_doc(name="second"), replaces=[old])
    assert [c.number for c in new.replaced] == [old]
    assert reserved(world) == {
        ("CTY", "W1"): 50,
        ("CTY", "W2"): 15,
        ("CTY", "Q1"): 10,
        ("TWN", "W3"): 20,
    }
    view = dispatch.plan_status(world, old)
    assert (view.status, view.replaced_by) == ("cancelled", new.number)
    assert dispatch.plan_status(world, new.number).replaces == [old]
    assert verify(world).ok


def test_turned_back_trip_cannot_be_delivered(world: Session) -> None:
    """A truck that turns back (`stock arrive` of its departure) puts the goods back in the
    depot; its stops are then refused and it is no longer on the road."""
    number = approve(world, plan_doc()).number
    moved = dispatch.depart(world, number, "CTY/truck-1", 1)
    stock.arrive(world, moved.document)
    with pytest.raises(DocumentState) as err:
        dispatch.deliver(world, number, "CTY/truck-1", 2)
    assert "came back to the depot" in err.value.reason
    assert dispatch.loads_on_the_road(world) == []
    assert verify(world).ok


def problem(depots: tuple[str, ...] = ("CTY", "TWN", "ELSEWHERE")) -> Problem:
    return Problem(
        name="test",
        items=(
            ItemSpec("WATER", "水", "water", "food_water", "case", 13.5, 0.02),
            ItemSpec("QUILT", "被", "quilt", "bedding", "piece", 2.5, 0.045),
        ),
        norms=(),
        depots=tuple(Depot(c, c, "county", 40.0, 122.0, 1.0) for c in depots),
        lots=(Lot("CTY", "WATER", "FROM-CSV", 999),),
        agreements=(),
        shelters=(Shelter("SH-A", "A", 40.1, 122.1, 100), Shelter("SH-B", "B", 40.2, 122.2, 50)),
        fleet=(),
        today=TODAY,
    )


def lots(p: Problem) -> dict[tuple[str, str], int]:
    return {(lot.depot, lot.lot): lot.qty for lot in p.lots}


def test_problem_from_ledger_reflects_reservations(world: Session) -> None:
    """Lots are the ledger's available stock (on hand − reserved) at the problem's depots;
    a replaced plan's held stock counts again; departed loads are no stock and are
    reported as on the road."""
    base = problem()
    p = snapshot.problem_from_ledger(world, base)
    assert lots(p) == {("CTY", "W1"): 100, ("CTY", "W2"): 50, ("CTY", "Q1"): 40, ("TWN", "W3"): 20}
    assert (p.shelters, p.depots, p.today) == (base.shelters, base.depots, base.today)
    assert next(lot for lot in p.lots if lot.lot == "W2").expires_on == date(2027, 3, 1)

    number = approve(world, plan_doc()).number
    p = snapshot.problem_from_ledger(world, base)
    assert lots(p) == {("CTY", "W1"): 50, ("CTY", "W2"): 35, ("CTY", "Q1"): 30}

    dispatch.depart(world, number, "CTY/truck-1", 1)
    snap = snapshot.ledger_snapshot(world, base, replacing=[number])
    assert lots(snap.problem) == {
        ("CTY", "W1"): 50,
        ("CTY", "W2"): 50,
        ("CTY", "Q1"): 30,
        ("TWN", "W3"): 20,
    }
    assert snap.freed_qty == 35
    assert snap.missing_depots == ("ELSEWHERE",)
    road = {(v.shelter, v.item, v.lot): v.qty for v in snap.on_the_road}
    assert road == {
        ("SH-A", "WATER", "W1"): 30,
        ("SH-A", "QUILT", "Q1"): 10,
        ("SH-B", "WATER", "W1"): 20,
    }


def test_problem_from_ledger_keeps_expired_lots_with_their_expiry(world: Session) -> None:
    """Expired lots are offered with their expiry; the planner's `today` leaves them out."""
    receive(world, "CTY", "WATER", 5, "OLD", expires_on=date(2026, 6, 1))
    p = snapshot.problem_from_ledger(world, problem())
    assert Lot("CTY", "WATER", "OLD", 5, date(2026, 6, 1)) in p.lots


# --- dispatchers racing --------------------------------------------------------------------


@pytest.fixture(params=BACKENDS)
def committed(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A committed ledger (no per-test rollback) with 100 units of WATER lot W1 at CTY."""
    engine = fresh_engine(request.param, tmp_path, "dispatch_race")
    create_schema(engine)
    with session_scope(engine) as session:
        make_item(session, "WATER")
        make_depot(session, "CTY", Tier.COUNTY)
        receive(session, "CTY", "WATER", 100, "W1")
    yield engine
    engine.dispose()
    if request.param == "postgresql":
        drop_pg_schema("relief_test_dispatch_race")


def approve_at_once(engine: Engine, docs: list[dict[str, Any]]) -> tuple[int, int, list[str]]:
    """Approve each document in its own thread and transaction, all starting together."""
    barrier = threading.Barrier(len(docs))
    outcome: list[str] = []
    lock = threading.Lock()

    def worker(doc: dict[str, Any]) -> None:
        barrier.wait()
        try:
            with session_scope(engine) as session:
                dispatch.approve(session, doc, today=TODAY)
            result = "ok"
        except Conflict:
            result = "refused"
        except Exception as exc:  # a deadlock, a unique violation...: a failure
            result = f"error: {exc!r}"
        with lock:
            outcome.append(result)

    threads = [threading.Thread(target=worker, args=(d,)) for d in docs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    errors = [o for o in outcome if o.startswith("error")]
    return outcome.count("ok"), outcome.count("refused"), errors


def test_racing_plans_never_promise_the_same_stock(committed: Engine) -> None:
    """Six plans each wanting 40 of a 100-unit lot, approved at once: two win, four are
    refused cleanly, and the ledger holds exactly 80."""
    docs = [
        plan_doc([("CTY/t", "CTY", 1, 1, "SH-A", "WATER", "W1", 40)], name=f"p{i}")
        for i in range(6)
    ]
    ok, refused, errors = approve_at_once(committed, docs)
    assert errors == []
    assert (ok, refused) == (2, 4)
    with session_scope(committed) as session:
        assert verify(session).ok
        assert reserved(session) == {("CTY", "W1"): 80}


def test_racing_approvals_of_one_plan_approve_it_once(committed: Engine) -> None:
    """The same plan file approved by four dispatchers at once is approved once."""
    doc = plan_doc([("CTY/t", "CTY", 1, 1, "SH-A", "WATER", "W1", 10)])
    ok, refused, errors = approve_at_once(committed, [doc] * 4)
    assert errors == []
    assert (ok, refused) == (1, 3)
    with session_scope(committed) as session:
        assert reserved(session) == {("CTY", "W1"): 10}


def test_approve_refuses_a_plan_with_untoured_depots(world: Session) -> None:
    """A plan whose time limit left a depot without tours (its shipments the allocation's
    estimate, carried by no truck) is refused, naming the depot, and nothing is written."""
    doc = plan_doc()
    doc["untoured_depots"] = ["CTY"]
    doc["status"] = "timed_out"
    before = state(world)
    with pytest.raises(InvalidInput) as err:
        approve(world, doc)
    assert "CTY" in err.value.reason
    assert state(world) == before
