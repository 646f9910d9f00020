"""Approved plans over HTTP: a truck departs once and delivers after it departs; a cancel
releases what has not left; a scoped dispatcher moves only its own depots' trucks."""

from typing import Any

from sqlalchemy import func, select

from optimizer.plan_document import LoadDoc, PlanDocument, RouteDoc, ShipmentDoc, StopDoc, TripDoc
from supply.db import read_scope, session_scope
from supply.models import Level, Reservation, ReservationStatus, Role
from supply.services import dispatch, jurisdictions, users
from tests.http.conftest import Api, is_problem, on_hand, receive

VEHICLE = "COUNTY/medium-1"


def routed_plan(api: Api, name: str = "dispatch-test", *, departed: bool = False) -> str:
    """An approved plan (through the services) of COUNTY's lot W1, which the caller has
    received: one trip of VEHICLE, stop 1 at SH-A (3 units), stop 2 at SH-B (2 units);
    `departed`: the trip has left. Returns its number."""
    stops = [
        StopDoc(stop=1, shelter="SH-A", loads=[LoadDoc(item="WATER", lot="W1", qty=3)]),
        StopDoc(stop=2, shelter="SH-B", loads=[LoadDoc(item="WATER", lot="W1", qty=2)]),
    ]
    document = PlanDocument(
        name=name,
        status="optimal",
        shipments=[
            ShipmentDoc(
                source="COUNTY", source_kind="depot", lot="W1", shelter=s, item="WATER", qty=q
            )
            for s, q in (("SH-A", 3), ("SH-B", 2))
        ],
        routes=[RouteDoc(vehicle=VEHICLE, depot="COUNTY", trips=[TripDoc(trip=1, stops=stops)])],
    )
    with session_scope(api.engine) as session:
        number = dispatch.approve(session, document.to_json_dict()).number
        if departed:
            dispatch.depart(session, number, VEHICLE, 1)
    return number


def _routed_plan(api: Api) -> str:
    receive(api, 10)
    return routed_plan(api)


def _statuses(api: Api, number: str) -> dict[int | None, str]:
    answer = api.client("auditor").get(f"/dispatch/plans/{number}")
    assert answer.status_code == 200, answer.text
    return {ld["stop"]: ld["status"] for ld in answer.json()["loads"]}


def _depart(api: Api, number: str, **headers: str) -> Any:
    return api.client("dispatcher").post(
        f"/dispatch/plans/{number}/departures",
        json={"vehicle": VEHICLE, "trip": 1},
        headers=headers,
    )


def test_depart_twice_moves_stock_once(api: Api) -> None:
    """The first departure moves 5 units off COUNTY; the same request again (no key) is a
    409 problem, and with its key replayed it answers the first document: stock moves once."""
    number = _routed_plan(api)
    first = _depart(api, number, **{"Idempotency-Key": "dep-1"})
    assert first.status_code == 201, first.text
    assert (first.json()["qty"], first.json()["shelters"]) == (5, ["SH-A", "SH-B"])
    assert on_hand(api) == 5
    replay = _depart(api, number, **{"Idempotency-Key": "dep-1"})
    assert replay.status_code == 201
    assert replay.json()["document"] == first.json()["document"]
    assert is_problem(_depart(api, number), 409)
    assert on_hand(api) == 5
    assert _statuses(api, number) == {1: "in_transit", 2: "in_transit"}


def test_deliver_before_depart_is_refused_and_changes_nothing(api: Api) -> None:
    """A stop whose trip has not left is a 409 problem naming it; the load stays reserved."""
    number = _routed_plan(api)
    dispatcher = api.client("dispatcher")
    early = dispatcher.post(
        f"/dispatch/plans/{number}/deliveries", json={"vehicle": VEHICLE, "stop": 1}
    )
    assert is_problem(early, 409)
    assert "has not departed" in early.json()["detail"]
    assert _statuses(api, number) == {1: "reserved", 2: "reserved"}
    assert on_hand(api) == 10


def test_deliver_after_depart_completes_the_plan(api: Api) -> None:
    """Both stops delivered after departure: the plan is completed; a stop delivered twice
    is a 409 problem."""
    number = _routed_plan(api)
    dispatcher = api.client("dispatcher")
    assert _depart(api, number).status_code == 201
    for stop in (1, 2):
        answer = dispatcher.post(
            f"/dispatch/plans/{number}/deliveries", json={"vehicle": VEHICLE, "stop": stop}
        )
        assert answer.status_code == 201, answer.text
    again = dispatcher.post(
        f"/dispatch/plans/{number}/deliveries", json={"vehicle": VEHICLE, "stop": 2}
    )
    assert is_problem(again, 409)
    plan = api.client("auditor").get(f"/dispatch/plans/{number}").json()
    assert plan["status"] == "completed"
    assert {ld["status"] for ld in plan["loads"]} == {"delivered"}
    listed = api.client("auditor").get("/dispatch/plans").json()["items"]
    assert [p["number"] for p in listed] == [number]


def test_cancel_releases_reservations_once(api: Api) -> None:
    """Cancelling releases the plan's reservations; cancelling again is a 409 problem."""
    number = _routed_plan(api)
    dispatcher = api.client("dispatcher")
    done = dispatcher.post(f"/dispatch/plans/{number}/cancel")
    assert done.status_code == 200, done.text
    assert (done.json()["released_loads"], done.json()["released_qty"]) == (2, 5)
    with read_scope(api.engine) as session:
        active = session.scalar(
            select(func.count())
            .select_from(Reservation)
            .where(Reservation.status == ReservationStatus.ACTIVE.value)  # type: ignore[arg-type]
        )
    assert active == 0
    assert is_problem(dispatcher.post(f"/dispatch/plans/{number}/cancel"), 409)


def test_unknown_plan_vehicle_and_bad_body_are_problems(api: Api) -> None:
    """An unknown plan or trip is a 404 problem, a trip of 0 a 422 naming the field."""
    number = _routed_plan(api)
    dispatcher = api.client("dispatcher")
    assert is_problem(dispatcher.get("/dispatch/plans/DP-999999"), 404)
    missing = dispatcher.post(
        f"/dispatch/plans/{number}/departures", json={"vehicle": "NOPE", "trip": 1}
    )
    assert is_problem(missing, 404)
    bad = dispatcher.post(f"/dispatch/plans/{number}/departures", json={"vehicle": VEHICLE})
    assert is_problem(bad, 422)
    assert bad.json()["field"] == "body.trip"


def test_dispatcher_of_another_county_may_not_depart(api: Api) -> None:
    """A dispatcher scoped to a county that does not own COUNTY is refused (403 problem)
    and the trip stays reserved."""
    number = _routed_plan(api)
    with session_scope(api.engine) as session:
        jurisdictions.add_jurisdiction(session, code="210300", name="鞍山市", level=Level.CITY)
        jurisdictions.add_jurisdiction(session, code="310101", name="甲县", level=Level.COUNTY)
        jurisdictions.assign_depots(session, "210300", ["COUNTY"])
        users.add_user(
            session, username="far", role=Role.DISPATCHER, password=None, jurisdiction="310101"
        )
    from api.http.auth import issue_access_token
    from tests.http.conftest import SECRET

    api.tokens["far"] = issue_access_token("far", "dispatcher", secret=SECRET, minutes=5).token
    refused = api.client("far").post(
        f"/dispatch/plans/{number}/departures", json={"vehicle": VEHICLE, "trip": 1}
    )
    assert is_problem(refused, 403)
    assert _statuses(api, number) == {1: "reserved", 2: "reserved"}
