"""The areas served over the CLI's services: rotation due, agreements (call-off, receipt,
what is owed, settlement, inspections), quotas and gaps, readiness, fleet, scenarios."""

from datetime import date, timedelta

from sqlmodel import select

from api.http.auth import issue_access_token
from supply.db import session_scope
from supply.models import Level, QuotaCreate, Role, Settlement
from supply.services import jurisdictions, quotas, users
from tests.http.conftest import (
    SECRET,
    Api,
    agreement_with_call_offs,
    is_problem,
    on_hand,
    receive,
)


def test_rotation_due_lists_lots_inside_the_window(api: Api) -> None:
    """A lot expiring in 40 days (WATER's rotation lead is 30) is due within 15 days; one
    expiring in 2099 is not."""
    receive(api, 5, lot="SOON")
    with session_scope(api.engine) as session:
        from supply.services import stock

        stock.receive(
            session,
            depot="COUNTY",
            item="WATER",
            qty=3,
            lot="NEAR",
            expires_on=date.today() + timedelta(days=40),
        )
    rows = api.client("auditor").get("/rotation/due", params={"within_days": 15}).json()["items"]
    assert [(r["lot"], r["on_hand"]) for r in rows] == [("NEAR", 3)]


def test_call_off_receipt_owed_and_settlement(api: Api) -> None:
    """The dispatcher calls off 40; the keeper receives 30 (short delivery) into COUNTY;
    30 × (28.00 + 1.50) = 885.00 is owed, then settled once; nothing is owed after."""
    agreement_with_call_offs(api, 0)
    made = api.client("dispatcher").post("/agreements/AG-W/call-offs", json={"qty": 40})
    assert made.status_code == 201, made.text
    number = made.json()["number"]
    expected = api.client("keeper").get("/call-offs/expected").json()
    assert [(e["number"], e["qty"]) for e in expected] == [(number, 40)]
    got = api.client("keeper").post(
        f"/call-offs/{number}/receipt", json={"lot": "AGW-1", "qty": 30, "expires_on": "2099-01-01"}
    )
    assert got.status_code == 201, got.text
    assert got.json()["received_qty"] == 30
    assert on_hand(api) == 30
    owed = api.client("auditor").get("/agreements/owed").json()
    assert [(o["supplier"], o["total"]) for o in owed] == [("SM", "885.00")]
    settled = api.client("dispatcher").post("/agreements/settlements", json={})
    assert settled.status_code == 201, settled.text
    assert [s["amount"] for s in settled.json()["items"]] == ["885.00"]
    assert api.client("auditor").get("/agreements/owed").json() == []
    with session_scope(api.engine) as session:
        assert len(list(session.scalars(select(Settlement)))) == 1
    twice = api.client("keeper").post(f"/call-offs/{number}/receipt", json={"lot": "AGW-2"})
    assert is_problem(twice, 409)


def test_scoped_keeper_cannot_receive_another_countys_call_off(api: Api) -> None:
    """A call-off delivered to COUNTY (county A's) is received by A's keeper only."""
    [number] = agreement_with_call_offs(api, 1)
    with session_scope(api.engine) as session:
        for code in ("210381", "210382"):
            jurisdictions.add_jurisdiction(session, code=code, name=code, level=Level.COUNTY)
        jurisdictions.assign_depots(session, "210381", ["COUNTY"])
        users.add_user(
            session, username="b", role=Role.KEEPER, password=None, jurisdiction="210382"
        )
    api.tokens["b"] = issue_access_token("b", "keeper", secret=SECRET, minutes=5).token
    refused = api.client("b").post(f"/call-offs/{number}/receipt", json={"lot": "X1"})
    assert is_problem(refused, 403)
    assert on_hand(api) == 0


def test_inspection_is_recorded_and_shown_on_the_agreement(api: Api) -> None:
    """An inspection shows on the agreement as its last; a date ahead is a 422 problem."""
    agreement_with_call_offs(api, 0)
    keeper = api.client("keeper")
    body = {"inspected_on": "2026-11-30", "inspector": "赵", "verified_qty": 9500}
    assert keeper.post("/agreements/AG-W/inspections", json=body).json()["created"] is True
    shown = api.client("auditor").get("/agreements").json()["items"][0]
    assert (shown["last_inspected_on"], shown["last_verified_qty"]) == ("2026-11-30", 9500)
    ahead = {**body, "inspected_on": "2099-01-01"}
    assert is_problem(keeper.post("/agreements/AG-W/inspections", json=ahead), 422)


def test_quota_gaps_and_readiness(api: Api) -> None:
    """COUNTY's quota of 50 WATER against 20 on hand is short by 30; readiness for 1.5 a
    day per resident counts 13 residents."""
    receive(api, 20)
    with session_scope(api.engine) as session:
        quotas.upsert_quotas(session, [QuotaCreate(item="WATER", depot="COUNTY", qty=50)])
    listed = api.client("planner").get("/quotas").json()
    assert [(q["item"], q["depot"], q["qty"]) for q in listed] == [("WATER", "COUNTY", 50)]
    gaps = api.client("planner").get("/quotas/gaps", params={"depot": "COUNTY"}).json()
    assert [(g["depot"], g["status"], g["shortfall"]) for g in gaps] == [("COUNTY", "short", 30)]
    norms = {"norms": [{"item": "WATER", "per_person": "1.5", "per": "day"}]}
    report = api.client("planner").post("/readiness", json=norms)
    assert report.status_code == 200, report.text
    county = next(r for r in report.json() if r["depot"] == "COUNTY")
    assert county["residents"] == 13
    unknown = api.client("planner").post(
        "/readiness", json={"norms": [{"item": "NOPE", "per_person": "1", "per": "day"}]}
    )
    assert is_problem(unknown, 404)


def test_fleet_and_scenarios(api: Api) -> None:
    """The fleet is listed by depot; the server's scenarios are listed and shown with what
    they hold; an unknown one is a 404 problem."""
    from supply.models import FleetCreate
    from supply.services import fleet

    with session_scope(api.engine) as session:
        fleet.upsert_fleet(
            session,
            [
                FleetCreate(
                    depot="COUNTY",
                    vehicle_type="truck-5t",
                    count=3,
                    capacity_kg=5000,
                    capacity_m3=20,
                    speed_kmh=50,
                )
            ],
        )
    vehicles = api.client("planner").get("/fleet").json()
    assert [(v["depot"], v["vehicle_type"], v["count"]) for v in vehicles] == [
        ("COUNTY", "truck-5t", 3)
    ]
    names = [s["name"] for s in api.client("planner").get("/scenarios").json()]
    assert "tiny" in names
    tiny = api.client("planner").get("/scenarios/tiny").json()
    assert tiny["shelters"] > 0
    assert tiny["residents"] > 0
    assert is_problem(api.client("planner").get("/scenarios/nope"), 404)
