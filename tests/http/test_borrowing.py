"""A neighbour's shared depots as planner sources: a plan for a county draws on its own
depots and on those of neighbours that share their stock, ready an approval lead time
later, and says which sources are borrowed."""

from datetime import date

from api.http.auth import issue_access_token
from scenarios.scenario import load_scenario
from supply.db import read_scope, session_scope
from supply.models import Role
from supply.services import jurisdictions, stock, users
from supply.services.borrowing import Borrowing
from supply.services.ledger_problem import LedgerProblem, ledger_problem
from supply.services.lookup import depot_by_code
from tests.http.conftest import BORROWER, DATA, LATE, LENDER, SECRET, Api, aid_counties, is_problem
from tests.http.test_plans import _finished

LOADING_HOURS = 2.0


def _placed_counties(api: Api) -> None:
    """The aid counties' depots placed near the tiny scenario's shelters, with WATER at
    the lender's depot; the seed's COUNTY depot (the bureau's) placed too."""
    aid_counties(api)
    with session_scope(api.engine) as session:
        for code in ("A-DEP", "B-DEP", "COUNTY"):
            depot = depot_by_code(session, code)
            depot.lat, depot.lon, depot.loading_hours = 40.0, 122.0, LOADING_HOURS
            session.add(depot)
        stock.receive(
            session,
            depot="B-DEP",
            item="WATER",
            qty=500,
            lot="BW",
            expires_on=date.fromisoformat(LATE),
            meta=stock.Meta(actor="test"),
        )


def _problem(api: Api, *, shares: bool) -> LedgerProblem:
    _, scenario = load_scenario(DATA / "tiny")
    with session_scope(api.engine) as session:
        jurisdictions.set_sharing(session, LENDER, shares)
    with read_scope(api.engine) as session:
        return ledger_problem(session, scenario, borrow=Borrowing(BORROWER, 5.0))


def test_shared_neighbour_depots_are_borrowed_later(api: Api) -> None:
    """Only a sharing neighbour's depots are sources, ready the lead time after their
    loading time, named as borrowed; depots of no neighbour are left out."""
    _placed_counties(api)
    closed = _problem(api, shares=False)
    assert [d.code for d in closed.problem.depots] == ["A-DEP"]
    assert not any("借调" in n for n in closed.notes)
    shared = _problem(api, shares=True)
    ready = {d.code: d.loading_hours for d in shared.problem.depots}
    assert ready == {"A-DEP": LOADING_HOURS, "B-DEP": LOADING_HOURS + 5.0}
    assert {lot.depot for lot in shared.problem.lots} == {"B-DEP"}
    (borrowed,) = [n for n in shared.notes if "借调" in n]
    assert (LENDER in borrowed, "B-DEP" in borrowed, "A-DEP" in borrowed) == (True, True, False)
    assert any("COUNTY" in n for n in shared.notes if "not planned from" in n)


def _county_planner(api: Api) -> str:
    with session_scope(api.engine) as session:
        users.add_user(
            session, username="a-planner", role=Role.PLANNER, password=None, jurisdiction=BORROWER
        )
    return issue_access_token("a-planner", "planner", secret=SECRET, minutes=5).token


def test_plan_job_borrows_from_neighbours(api: Api) -> None:
    """A county planner's job with neighbours plans from the sharing neighbour's depot and
    its plan names the borrowed source."""
    _placed_counties(api)
    with session_scope(api.engine) as session:
        jurisdictions.set_sharing(session, LENDER, True)
    token = _county_planner(api)
    client = api.client()
    client.headers["Authorization"] = f"Bearer {token}"
    body = {"scenario": "tiny", "routes": False, "neighbours": True, "aid_lead_hours": 5}
    queued = client.post("/plans", json=body)
    assert queued.status_code == 202, queued.text
    assert (queued.json()["jurisdiction"], queued.json()["aid_lead_hours"]) == (BORROWER, 5)
    job = _finished(api, queued.json()["id"])
    assert job["status"] == "done", job
    document = client.get(job["plan_href"]).json()
    assert any("借调" in n and "B-DEP" in n for n in document["notes"])
    assert {s["source"] for s in document["shipments"] if s["source_kind"] == "depot"} <= {
        "A-DEP",
        "B-DEP",
    }


def test_neighbours_need_a_jurisdiction_and_lead_time_needs_neighbours(api: Api) -> None:
    """A bureau-wide planner has no neighbours (422); a lead time alone is refused (422);
    nothing is queued."""
    planner = api.client("planner")
    tiny = {"scenario": "tiny", "routes": False}
    assert is_problem(planner.post("/plans", json={**tiny, "neighbours": True}), 422)
    assert is_problem(planner.post("/plans", json={**tiny, "aid_lead_hours": 3}), 422)
    assert api.client("auditor").get("/plans").json()["items"] == []
