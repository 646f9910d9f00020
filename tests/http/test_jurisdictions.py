"""Only the owner's people post at a depot: a keeper scoped to a county posts at its
depots and those below it, and is refused (403 problem, nothing written) elsewhere."""

import json

import pytest

from api.http.auth import issue_access_token
from optimizer.plan_document import PlanDocument, ShipmentDoc
from supply.db import session_scope
from supply.errors import Conflict, InvalidInput
from supply.models import Level, Role, Tier
from supply.services import jurisdictions, plan_jobs, users
from supply.services.lookup import depot_by_code
from tests.factories import make_depot
from tests.http.conftest import (
    LATE,
    SECRET,
    Api,
    document_count,
    is_problem,
    new_job,
    on_hand,
    receive,
)

WATER = {"item": "WATER", "qty": 1}


@pytest.fixture
def counties(api: Api) -> Api:
    """City 210300 with counties A (210381) and B (210382); depot COUNTY and township
    TOWN-A below it are A's, depot B-DEPOT is B's; CITY stays the bureau's. A keeper `li`
    is scoped to county A."""
    with session_scope(api.engine) as session:
        jurisdictions.add_jurisdiction(session, code="210300", name="鞍山市", level=Level.CITY)
        for code, name in (("210381", "海城市"), ("210382", "乙县")):
            jurisdictions.add_jurisdiction(
                session, code=code, name=name, level=Level.COUNTY, parent="210300"
            )
        jurisdictions.add_jurisdiction(
            session, code="210381101", name="甲镇", level=Level.TOWNSHIP, parent="210381"
        )
        make_depot(session, "B-DEPOT", Tier.COUNTY, "CITY")
        make_depot(session, "TOWN-A", Tier.TOWNSHIP, "COUNTY")
        jurisdictions.assign_depots(session, "210381", ["COUNTY"])
        jurisdictions.assign_depots(session, "210381101", ["TOWN-A"])
        jurisdictions.assign_depots(session, "210382", ["B-DEPOT"])
        users.add_user(
            session, username="li", role=Role.KEEPER, password=None, jurisdiction="210381"
        )
    api.tokens["li"] = issue_access_token("li", "keeper", secret=SECRET, minutes=5).token
    for depot in ("COUNTY", "TOWN-A", "B-DEPOT", "CITY"):
        receive(api, 10, depot=depot)
    return api


def test_scoped_keeper_posts_in_own_subtree(counties: Api) -> None:
    """County A's keeper issues at A's depot and at a township depot below A."""
    li = counties.client("li")
    for depot in ("COUNTY", "TOWN-A"):
        answer = li.post("/documents/issues", json={"depot": depot, **WATER})
        assert answer.status_code == 201, answer.text
        assert on_hand(counties, depot=depot) == 9


def test_scoped_keeper_is_refused_at_another_countys_depot(counties: Api) -> None:
    """At county B's depot, or the bureau's, every posting of A's keeper is a 403 problem
    and nothing is written."""
    li = counties.client("li")
    before = document_count(counties)
    attempts = [
        ("/documents/issues", {"depot": "B-DEPOT", **WATER}),
        ("/documents/issues", {"depot": "CITY", **WATER}),
        ("/documents/receipts", {"depot": "B-DEPOT", **WATER, "lot": "X", "expires_on": LATE}),
        ("/documents/transfers", {"source": "B-DEPOT", "destination": "COUNTY", **WATER}),
    ]
    for path, body in attempts:
        answer = li.post(path, json=body)
        assert is_problem(answer, 403), (path, body, answer.text)
        assert answer.json()["field"] == "depot"
    assert document_count(counties) == before
    assert on_hand(counties, depot="B-DEPOT") == 10


def test_scoped_keeper_cannot_reverse_another_countys_document(counties: Api) -> None:
    """B's receipt cannot be reversed by A's keeper; the bureau's keeper can."""
    number = receive(counties, 5, depot="B-DEPOT", lot="B2")
    refused = counties.client("li").post(f"/documents/{number}/reversal", json={})
    assert is_problem(refused, 403)
    done = counties.client("keeper").post(f"/documents/{number}/reversal", json={})
    assert done.status_code == 201, done.text


def test_transfer_to_another_county_is_the_senders_decision(counties: Api) -> None:
    """A's keeper may send A's stock to B's depot (the destination is not checked)."""
    answer = counties.client("li").post(
        "/documents/transfers", json={"source": "COUNTY", "destination": "B-DEPOT", **WATER}
    )
    assert answer.status_code == 201, answer.text
    assert on_hand(counties, depot="B-DEPOT") == 11


def test_jurisdiction_tree_and_user_scope_are_shown(counties: Api) -> None:
    """GET /jurisdictions lists the tree; /users/me names the user's jurisdiction."""
    rows = counties.client("auditor").get("/jurisdictions").json()
    assert [(r["code"], r["level"], r["parent"]) for r in rows] == [
        ("210300", "city", None),
        ("210381", "county", "210300"),
        ("210381101", "township", "210381"),
        ("210382", "county", "210300"),
    ]
    assert counties.client("li").get("/users/me").json()["jurisdiction"] == "210381"


def test_add_jurisdiction_refuses_bad_codes_levels_and_duplicates(api: Api) -> None:
    """A code not of digits, a parent not above, a taken code: each refused."""
    with session_scope(api.engine) as session:
        jurisdictions.add_jurisdiction(session, code="210381", name="海城市", level=Level.COUNTY)
        with pytest.raises(InvalidInput, match="digits"):
            jurisdictions.add_jurisdiction(session, code="HC", name="x", level=Level.CITY)
        with pytest.raises(InvalidInput, match="parent is higher"):
            jurisdictions.add_jurisdiction(
                session, code="210300", name="x", level=Level.CITY, parent="210381"
            )
        with pytest.raises(Conflict, match="already exists"):
            jurisdictions.add_jurisdiction(session, code="210381", name="x", level=Level.COUNTY)


def test_assign_with_an_unknown_depot_assigns_none(api: Api) -> None:
    """Assigning a list with one unknown depot is a 404 problem and changes no depot."""
    admin = api.client("admin")
    assert (
        admin.post(
            "/jurisdictions", json={"code": "210381", "name": "海城市", "level": "county"}
        ).status_code
        == 201
    )
    refused = admin.post("/jurisdictions/210381/depots", json={"depots": ["COUNTY", "NOPE"]})
    assert is_problem(refused, 404)
    with session_scope(api.engine) as session:
        keeper = users.add_user(
            session, username="scoped", role=Role.KEEPER, password=None, jurisdiction="210381"
        )
        assert keeper.jurisdiction == "210381"
        assert depot_by_code(session, "COUNTY").jurisdiction_id is None


def _plan_job(api: Api, depot: str) -> int:
    """A finished plan job shipping one unit of WATER from `depot`."""
    document = PlanDocument(
        name=f"from-{depot}",
        status="optimal",
        shipments=[
            ShipmentDoc(
                source=depot, source_kind="depot", lot="W1", shelter="SH", item="WATER", qty=1
            )
        ],
        routes=[],
    )
    with session_scope(api.engine) as session:
        job_id = new_job(session, "test")
        plan_jobs.start(session, job_id)
        plan_jobs.finish(session, job_id, plan_json=json.dumps(document.to_json_dict()), summary="")
        return job_id


def test_scoped_dispatcher_approves_only_plans_from_own_depots(counties: Api) -> None:
    """County B's dispatcher cannot approve a plan leaving from A's depot (403, nothing
    reserved); A's dispatcher can."""
    with session_scope(counties.engine) as session:
        for name, county in (("zhao", "210382"), ("qian", "210381")):
            users.add_user(
                session, username=name, role=Role.DISPATCHER, password=None, jurisdiction=county
            )
            counties.tokens[name] = issue_access_token(
                name, "dispatcher", secret=SECRET, minutes=5
            ).token
    job = _plan_job(counties, "COUNTY")
    refused = counties.client("zhao").post(f"/plans/{job}/approval", json={})
    assert is_problem(refused, 403)
    assert counties.client("auditor").get(f"/plans/{job}").json()["approved_as"] is None
    done = counties.client("qian").post(f"/plans/{job}/approval", json={})
    assert done.status_code == 201, done.text
    assert done.json()["qty"] == 1
