"""A plan from the ledger: depots, loading hours, fleet and agreements come from the ledger;
approval calls off the plan's agreement shipments in the same transaction, cancelling the
plan withdraws them, and a supplier's delivery to a shelter is owed at settlement."""

from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import select
from sqlmodel import Session

from optimizer.plan_document import (
    LoadDoc,
    PlanDocument,
    RouteDoc,
    ShipmentDoc,
    StopDoc,
    TripDoc,
    agreement_code,
)
from optimizer.problem import Depot, ItemSpec, Lot, Norm, Per, Problem, Shelter, VehicleType
from supply.errors import Conflict, InvalidInput, NotFound
from supply.models import CallOff, DepotCreate, FleetCreate, InspectionCreate, Tier
from supply.services import dispatch
from supply.services.agreements import record_inspection
from supply.services.balances import balances
from supply.services.calloffs import owed, receive_call_off
from supply.services.catalogue import upsert_depots
from supply.services.fleet import upsert_fleet
from supply.services.ledger_problem import LedgerProblem, ledger_problem
from supply.verify import verify
from tests.factories import TODAY, make_agreement, make_item, make_supplier, receive

NOW = datetime(2026, 6, 1, 9, 0, tzinfo=timezone(timedelta(hours=8)))


@pytest.fixture
def world(session: Session) -> Session:
    """Depot CTY (placed, 0.5 h loading, two trucks), supplier SM with a goods agreement,
    a suspended one and a capacity reserve (100 an hour after 2 h, 5,000 in all)."""
    make_item(session, "WATER")
    upsert_depots(
        session,
        [
            DepotCreate(
                code="CTY", name="city", tier=Tier.COUNTY, lat=40.0, lon=122.0, loading_hours=0.5
            ),
            DepotCreate(code="TWN", name="town", tier=Tier.TOWNSHIP, parent_code="CTY"),
        ],
    )
    upsert_fleet(
        session,
        [
            FleetCreate(
                depot="CTY",
                vehicle_type="medium",
                count=2,
                capacity_kg=8000,
                capacity_m3=35,
                speed_kmh=60,
            )
        ],
    )
    receive(session, "CTY", "WATER", 300, "W1")
    make_supplier(session, "SM")
    make_agreement(session, "AG-GOODS", qty=500, lead_time_hours=2)
    make_agreement(session, "AG-SUSP", qty=500, status="suspended")
    make_agreement(
        session, "AG-CAP", qty=5000, lead_time_hours=2, kind="capacity", rate_per_hour=100
    )
    return session


def scenario() -> Problem:
    """Shelters and norms; its own depots are CTY (overridden by the ledger) and OUT (a
    neighbouring region's, unknown to the ledger, with its stock and truck)."""
    return Problem(
        name="ledger-plan",
        items=(ItemSpec("WATER", "水", "water", "water", "case", 13.2, 0.02),),
        norms=(Norm("WATER", 1.0, Per.ONCE, 1, True),),
        depots=(
            Depot("CTY", "scenario city", "county", 41.0, 123.0, 3.0),
            Depot("OUT", "outside", "city", 40.5, 122.5, 1.0),
        ),
        lots=(Lot("CTY", "WATER", "FROM-CSV", 999), Lot("OUT", "WATER", "O1", 50)),
        agreements=(),
        shelters=(Shelter("SH-A", "A", 40.1, 122.1, 100),),
        fleet=(
            VehicleType("CTY", "scenario-truck", 9, 1000, 5, 30),
            VehicleType("OUT", "truck", 1, 8000, 35, 60),
        ),
        deadline_hours=10.0,
        today=TODAY,
    )


def test_ledger_problem_takes_depots_fleet_and_agreements_from_the_ledger(
    world: Session,
) -> None:
    """Ledger depots with their loading hours and trucks; the scenario's outside depot
    (asked for) keeps its stock and truck; the suspended agreement is left out; the capacity
    reserve is offered hour by hour at its rate from its lead time on; notes say all of it."""
    made = ledger_problem(world, scenario(), outside_depots=True)
    p = made.problem
    assert {d.code: d.loading_hours for d in p.depots} == {"CTY": 0.5, "OUT": 1.0}
    assert {(v.depot, v.vehicle_type, v.count) for v in p.fleet} == {
        ("CTY", "medium", 2),
        ("OUT", "truck", 1),
    }
    assert {(lot.depot, lot.lot, lot.qty) for lot in p.lots} == {
        ("CTY", "W1", 300),
        ("OUT", "O1", 50),
    }
    by_code = {a.code: a for a in p.agreements}
    assert "AG-SUSP" not in {agreement_code(c) for c in by_code}
    assert (by_code["AG-GOODS"].qty, by_code["AG-GOODS"].lead_time_hours) == (500, 2)
    hourly = [by_code[f"AG-CAP@{k}"] for k in range(1, 9)]
    assert [(a.qty, a.lead_time_hours) for a in hourly] == [(100, 2 + k) for k in range(1, 9)]
    assert (by_code["AG-CAP@9"].qty, by_code["AG-CAP@9"].lead_time_hours) == (4200, 52)
    assert sum(a.qty for c, a in by_code.items() if agreement_code(c) == "AG-CAP") == 5000
    text = " | ".join(made.notes)
    assert "AG-SUSP (suspended)" in text
    assert (
        "outside depots from the scenario (their stock and trucks are the scenario's): OUT" in text
    )
    assert "ledger depots without a position, not planned from: TWN" in text


def test_ledger_problem_plans_a_verified_short_agreement_at_its_verified_quantity(
    world: Session,
) -> None:
    """The last inspection found 120 units of the 500 on site: 120 are planned."""
    record_inspection(
        world,
        InspectionCreate(agreement="AG-GOODS", inspected_on=TODAY, inspector="x", verified_qty=120),
        today=TODAY,
    )
    made = ledger_problem(world, scenario())
    assert {a.code: a.qty for a in made.problem.agreements}["AG-GOODS"] == 120
    assert any("AG-GOODS at 120 of 500" in n for n in made.notes)


def test_ledger_problem_uses_the_scenario_fleet_when_asked(world: Session) -> None:
    """`scenario_fleet` plans with the scenario's trucks, and says so."""
    made = ledger_problem(world, scenario(), scenario_fleet=True)
    assert {v.vehicle_type for v in made.problem.fleet} == {"scenario-truck", "truck"}
    assert any("fleet from the scenario" in n for n in made.notes)


def plan_document(*, untoured: list[str] | None = None) -> PlanDocument:
    """A routed plan: 30 units of W1 from CTY to SH-A; 100 from the capacity reserve's third
    hour and 40 from the goods agreement straight to SH-A, 60 more of the goods to SH-B."""
    return PlanDocument(
        name="ledger-plan",
        shipments=[
            ShipmentDoc(
                source="CTY", source_kind="depot", lot="W1", shelter="SH-A", item="WATER", qty=30
            ),
            ShipmentDoc(
                source="AG-CAP@3", source_kind="agreement", shelter="SH-A", item="WATER", qty=100
            ),
            ShipmentDoc(
                source="AG-GOODS", source_kind="agreement", shelter="SH-A", item="WATER", qty=40
            ),
            ShipmentDoc(
                source="AG-GOODS", source_kind="agreement", shelter="SH-B", item="WATER", qty=60
            ),
        ],
        routes=[
            RouteDoc(
                vehicle="CTY/medium-1",
                depot="CTY",
                trips=[
                    TripDoc(
                        trip=1,
                        stops=[
                            StopDoc(
                                stop=1,
                                shelter="SH-A",
                                arrival_hours=1.5,
                                loads=[LoadDoc(item="WATER", lot="W1", qty=30)],
                            )
                        ],
                    )
                ],
            )
        ],
        untoured_depots=untoured or [],
    )


def calls(session: Session) -> list[tuple[str, int, str | None, str]]:
    rows = session.scalars(select(CallOff).order_by(CallOff.number)).all()
    return [(r.number, r.qty, r.shelter, r.status) for r in rows]


def test_approval_calls_off_agreement_shipments_and_cancel_withdraws_them(
    world: Session,
) -> None:
    """One call-off per agreement and shelter, for the plan, in the approval's transaction;
    cancelling the plan cancels those not yet received."""
    approved = dispatch.approve(world, plan_document().to_json_dict(), today=TODAY, now=NOW)
    assert approved.call_offs == ("CO-000001", "CO-000002", "CO-000003")
    assert calls(world) == [
        ("CO-000001", 100, "SH-A", "expected"),
        ("CO-000002", 40, "SH-A", "expected"),
        ("CO-000003", 60, "SH-B", "expected"),
    ]
    receive_call_off(
        world, "CO-000002", lot="S1", expires_on=date(2027, 6, 1), now=NOW + timedelta(hours=3)
    )
    done = dispatch.cancel(world, approved.number)
    assert done.cancelled_call_offs == ("CO-000001", "CO-000003")
    assert [s for *_, s in calls(world)] == ["cancelled", "received", "cancelled"]


def test_approval_refuses_a_call_off_the_agreement_cannot_give_and_reserves_nothing(
    world: Session,
) -> None:
    """More than is left under the contract: Conflict; the caller's rollback undoes it all."""
    doc = plan_document().to_json_dict()
    doc["shipments"][2]["qty"] = 480  # 480 + 60 > 500
    savepoint = world.begin_nested()
    with pytest.raises(Conflict, match="exceeds what is left under agreement AG-GOODS"):
        dispatch.approve(world, doc, today=TODAY, now=NOW)
    savepoint.rollback()
    assert calls(world) == []
    assert verify(world).ok


def test_approval_refuses_a_plan_with_untoured_depots(world: Session) -> None:
    """A plan whose tours left a depot's shipments uncarried is refused, naming it."""
    doc = plan_document(untoured=["CTY", "OUT"]).to_json_dict()
    with pytest.raises(InvalidInput, match="CTY, OUT"):
        dispatch.approve(world, doc, today=TODAY, now=NOW)
    assert calls(world) == []


def test_a_supplier_delivery_to_a_shelter_is_issued_there_and_owed(world: Session) -> None:
    """Receiving a plan's call-off books the goods through the depot to the shelter in one
    transaction: nothing stays in the depot, the issue names the shelter, settle owes it."""
    dispatch.approve(world, plan_document().to_json_dict(), today=TODAY, now=NOW)
    row, _ = receive_call_off(
        world, "CO-000003", lot="S2", expires_on=date(2027, 6, 1), now=NOW + timedelta(hours=3)
    )
    assert row.status == "received"
    (due,) = owed(world)
    assert [(line.call_off, line.qty) for line in due.lines] == [("CO-000003", 60)]
    assert verify(world).ok
    assert not [b for b in balances(world, today=TODAY) if b.lot == "S2" and b.on_hand]


def test_a_replan_counts_the_replaced_plans_open_call_offs_as_available(world: Session) -> None:
    """The approved plan called off 100 of AG-GOODS' 500: a new plan offers 400, but a plan
    that will replace it offers all 500 (approving it cancels the old call-offs first)."""
    approved = dispatch.approve(world, plan_document().to_json_dict(), today=TODAY, now=NOW)

    def goods(made: LedgerProblem) -> int:
        return {a.code: a.qty for a in made.problem.agreements}["AG-GOODS"]

    assert goods(ledger_problem(world, scenario())) == 400
    assert goods(ledger_problem(world, scenario(), replacing=[approved.number])) == 500


def test_outside_depots_are_only_named_unless_asked_for(world: Session) -> None:
    """By default a scenario depot the ledger does not know gives nothing, and is named."""
    made = ledger_problem(world, scenario())
    assert {d.code for d in made.problem.depots} == {"CTY"}
    assert {lot.depot for lot in made.problem.lots} == {"CTY"}
    assert {v.depot for v in made.problem.fleet} == {"CTY"}
    assert any("not in the ledger, not planned from" in n and "OUT" in n for n in made.notes)


def test_a_ledger_without_a_fleet_plans_with_the_scenarios(session: Session) -> None:
    """No trucks registered at all: the scenario's fleet is used, and the notes say so."""
    make_item(session, "WATER")
    upsert_depots(
        session, [DepotCreate(code="CTY", name="city", tier=Tier.COUNTY, lat=40.0, lon=122.0)]
    )
    made = ledger_problem(session, scenario())
    assert {v.vehicle_type for v in made.problem.fleet} == {"scenario-truck", "truck"}
    assert any("no fleet registered" in n for n in made.notes)


def test_approval_reports_outside_depot_loads_and_reserves_the_rest(world: Session) -> None:
    """A load from OUT (a source of the plan, unknown to the ledger) is reported, not
    reserved; a depot neither in the ledger nor among the sources is unknown."""
    doc = plan_document()
    doc.shipments.append(
        ShipmentDoc(
            source="OUT", source_kind="depot", lot="O1", shelter="SH-A", item="WATER", qty=7
        )
    )
    doc.routes.append(
        RouteDoc(
            vehicle="OUT/truck-1",
            depot="OUT",
            trips=[
                TripDoc(
                    trip=1,
                    stops=[
                        StopDoc(
                            stop=1, shelter="SH-A", loads=[LoadDoc(item="WATER", lot="O1", qty=7)]
                        )
                    ],
                )
            ],
        )
    )
    sources = [{"code": "CTY", "kind": "depot"}, {"code": "OUT", "kind": "depot"}]
    approved = dispatch.approve(
        world, {**doc.to_json_dict(), "sources": sources}, today=TODAY, now=NOW
    )
    assert approved.outside_qty == {"OUT": 7}
    assert (approved.loads, approved.qty) == (1, 30)
    with pytest.raises(NotFound, match="OUT"):
        dispatch.approve(world, {**doc.to_json_dict(), "name": "again"}, today=TODAY, now=NOW)
