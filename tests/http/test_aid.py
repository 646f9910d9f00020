"""Mutual aid over HTTP: who may do what to a loan (own, neighbour, other jurisdiction),
a loan approved twice (even at once) moves stock once, and lent lots stay the lender's."""

from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from api.http.auth import issue_access_token
from supply.db import session_scope
from supply.models import Level, Role
from supply.services import jurisdictions, stock, users
from supply.verify import verify
from tests.http.conftest import (
    BORROWER,
    LATE,
    LENDER,
    SECRET,
    Api,
    aid_counties,
    document_count,
    is_problem,
    new_loan,
    on_hand,
)

OTHER = "310103"


@pytest.fixture
def loans(api: Api) -> Api:
    """Aid counties A and B (neighbours) and C (bordering neither), with a keeper each:
    `a-keeper`, `b-keeper`, `c-keeper`."""
    aid_counties(api)
    with session_scope(api.engine) as session:
        jurisdictions.add_jurisdiction(session, code=OTHER, name="丙县", level=Level.COUNTY)
        for name, code in (("a-keeper", BORROWER), ("b-keeper", LENDER), ("c-keeper", OTHER)):
            users.add_user(
                session, username=name, role=Role.KEEPER, password=None, jurisdiction=code
            )
            api.tokens[name] = issue_access_token(name, "keeper", secret=SECRET, minutes=5).token
    return api


ASK = {
    "borrower": BORROWER,
    "lender": LENDER,
    "destination": "A-DEP",
    "lines": [{"item": "TENT", "qty": 10}],
    "disaster": "洪水 flood",
    "needed_by": LATE,
}

#: (action, the party whose people may do it); the other party's keeper (the neighbour)
#: and a third county's keeper are refused with 403.
ACTIONS = {
    "request": "a-keeper",
    "approval": "b-keeper",
    "refusal": "b-keeper",
    "return": "a-keeper",
    "settlement": "a-keeper",
}


def _call(api: Api, who: str, action: str) -> int:
    client = api.client(who)
    if action == "request":
        return client.post("/aid/loans", json=ASK).status_code
    number = new_loan(api, approved=action in {"return", "settlement"})
    body = {"approval": {"source": "B-DEP"}, "refusal": {"reason": "no"}}.get(action, {})
    answer = client.post(f"/aid/loans/{number}/{action}", json=body)
    assert answer.status_code < 300 or is_problem(answer, answer.status_code), answer.text
    return answer.status_code


def test_only_the_right_partys_people_act_on_a_loan(loans: Api) -> None:
    """Own party: done; the neighbour's keeper and another county's keeper: 403."""
    wrong = []
    for action, own in ACTIONS.items():
        for who in ("a-keeper", "b-keeper", "c-keeper"):
            expected = (201 if action == "request" else 200) if who == own else 403
            got = _call(loans, who, action)
            if got != expected:
                wrong.append(f"{action} by {who}: {got}, not {expected}")
    assert wrong == []


def test_loan_to_a_county_that_is_no_neighbour_is_refused(loans: Api) -> None:
    """C borders neither: A's request to it is a 422 problem naming `lender`."""
    answer = loans.client("a-keeper").post("/aid/loans", json={**ASK, "lender": OTHER})
    assert is_problem(answer, 422)
    assert answer.json()["field"] == "lender"


def test_loan_walk_partly_approved_returned_and_settled(loans: Api) -> None:
    """A asks 10 tents; B grants 6; A's keeper cannot issue B's lot at A's depot (403);
    A returns 2 and settles 4 at 12.50 (50.00); the loan closes; users are recorded."""
    a, b = loans.client("a-keeper"), loans.client("b-keeper")
    asked = a.post("/aid/loans", json=ASK)
    assert asked.status_code == 201, asked.text
    number = asked.json()["number"]
    granted = b.post(
        f"/aid/loans/{number}/approval", json={"source": "B-DEP", "approved": {"TENT": 6}}
    )
    assert granted.status_code == 200, granted.text
    loan = granted.json()
    assert (loan["status"], loan["partial"], loan["requested_by"], loan["decided_by"]) == (
        "approved",
        True,
        "a-keeper",
        "b-keeper",
    )
    assert on_hand(loans, depot="A-DEP", item="TENT") == 6
    moved = loans.client("auditor").get(f"/documents/{loan['document']}").json()
    assert (moved["kind"], moved["actor"]) == ("aid_loan", "b-keeper")
    refused = a.post("/documents/issues", json={"depot": "A-DEP", "item": "TENT", "qty": 1})
    assert is_problem(refused, 409)
    named = a.post(
        "/documents/issues", json={"depot": "A-DEP", "item": "TENT", "qty": 1, "lot": "LEND"}
    )
    assert is_problem(named, 403)
    back = a.post(f"/aid/loans/{number}/return", json={"quantities": {"TENT": 2}})
    assert back.status_code == 200, back.text
    assert on_hand(loans, depot="B-DEP", item="TENT") == 996
    settled = a.post(f"/aid/loans/{number}/settlement", json={})
    assert settled.status_code == 200, settled.text
    assert (settled.json()["status"], settled.json()["settled_amount"]) == ("closed", "50.00")
    issued = a.post("/documents/issues", json={"depot": "A-DEP", "item": "TENT", "qty": 4})
    assert issued.status_code == 201, issued.text


def test_concurrent_approvals_move_stock_once(loans: Api) -> None:
    """8 approvals of one loan at once: one succeeds, the others are 409 problems; the
    lender's stock left once and the balances rebuild from the movements."""
    number = new_loan(loans, 10)
    before = document_count(loans)

    def approve(_: int) -> int:
        answer = loans.client("b-keeper").post(
            f"/aid/loans/{number}/approval", json={"source": "B-DEP"}
        )
        assert answer.status_code == 200 or is_problem(answer, 409), answer.text
        return answer.status_code

    with ThreadPoolExecutor(8) as pool:
        statuses = sorted(pool.map(approve, range(8)))
    assert statuses == [200] + [409] * 7
    assert on_hand(loans, depot="B-DEP", item="TENT") == 990
    assert on_hand(loans, depot="A-DEP", item="TENT") == 10
    assert document_count(loans) == before + 1
    with Session(loans.engine) as session:
        report = verify(session)
    assert report.ok, report.problems


def test_approval_replayed_with_its_key_is_answered_not_redone(loans: Api) -> None:
    """The same approval sent 3 times with one Idempotency-Key: one move, same answer."""
    number = new_loan(loans, 10)
    b = loans.client("b-keeper")
    answers = [
        b.post(
            f"/aid/loans/{number}/approval",
            json={"source": "B-DEP"},
            headers={"Idempotency-Key": "approve-once"},
        )
        for _ in range(3)
    ]
    assert {a.status_code for a in answers} == {200}
    assert len({a.json()["document"] for a in answers}) == 1
    assert on_hand(loans, depot="A-DEP", item="TENT") == 10


def test_receipt_names_an_owner_or_donor(loans: Api) -> None:
    """A donor's lot at A's depot; a lot received for B at A's depot cannot be issued by
    A's keeper (403) but can by the bureau's keeper."""
    a = loans.client("a-keeper")
    donated = a.post(
        "/documents/receipts",
        json={"depot": "A-DEP", "item": "TENT", "qty": 3, "lot": "GIFT", "donor": "红十字会"},
    )
    assert donated.status_code == 201, donated.text
    for_b = a.post(
        "/documents/receipts",
        json={"depot": "A-DEP", "item": "TENT", "qty": 3, "lot": "BS", "owner": LENDER},
    )
    assert for_b.status_code == 201, for_b.text
    rows = loans.client("auditor").get("/balances", params={"depot": "A-DEP"}).json()["items"]
    assert sorted((r["lot"], r["owner"], r["donor"], r["funding"]) for r in rows) == [
        ("BS", LENDER, None, "fiscal"),
        ("GIFT", None, "红十字会", "donation"),
    ]
    body = {"depot": "A-DEP", "item": "TENT", "qty": 1, "lot": "BS"}
    assert is_problem(a.post("/documents/issues", json=body), 403)
    assert loans.client("keeper").post("/documents/issues", json=body).status_code == 201
    gift = a.post("/documents/issues", json={**body, "lot": "GIFT"})
    assert gift.status_code == 201, gift.text


def test_keeper_sees_a_neighbours_stock_only_where_it_shares(loans: Api) -> None:
    """A's keeper sees B-DEP's stock and documents once B shares with neighbours, C's
    keeper never (C borders neither); naming B-DEP or its receipt before that is a 403;
    the auditor sees it all along."""
    a, c = loans.client("a-keeper"), loans.client("c-keeper")

    def depots(client: TestClient) -> set[str]:
        return {row["depot"] for row in client.get("/balances").json()["items"]}

    assert "B-DEP" not in depots(a)
    assert is_problem(a.get("/balances", params={"depot": "B-DEP"}), 403)
    assert "B-DEP" in depots(loans.client("auditor"))
    with session_scope(loans.engine) as session:
        receipt = stock.receive(
            session, depot="B-DEP", item="TENT", qty=1, lot="B-ONLY", meta=stock.Meta(actor="t")
        ).number
    assert is_problem(a.get(f"/documents/{receipt}"), 403)
    with session_scope(loans.engine) as session:
        jurisdictions.set_sharing(session, LENDER, True)
    assert a.get(f"/documents/{receipt}").status_code == 200
    assert "B-DEP" in depots(a)
    totals = a.get("/balances/totals", params={"depot": "B-DEP"}).json()["items"]
    assert totals[0]["on_hand"] == 1001
    assert "B-DEP" not in depots(c)
    assert is_problem(c.get(f"/documents/{receipt}"), 403)


def test_sharing_changes_only_with_the_etag_last_read(loans: Api) -> None:
    """PATCH without If-Match is a 428 problem, with a stale ETag a 412 problem; with the
    current one it changes and answers a new ETag."""
    admin = loans.client("admin")
    first = admin.get(f"/jurisdictions/{LENDER}")
    tag = first.headers["etag"]
    body = {"shares_with_neighbours": True}
    assert is_problem(admin.patch(f"/jurisdictions/{LENDER}", json=body), 428)
    done = admin.patch(f"/jurisdictions/{LENDER}", json=body, headers={"If-Match": tag})
    assert done.status_code == 200, done.text
    assert done.json()["shares_with_neighbours"] is True
    assert done.headers["etag"] != tag
    stale = admin.patch(
        f"/jurisdictions/{LENDER}",
        json={"shares_with_neighbours": False},
        headers={"If-Match": tag},
    )
    assert is_problem(stale, 412)
    assert admin.get(f"/jurisdictions/{LENDER}").json()["neighbours"] == [BORROWER]
