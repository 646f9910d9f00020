"""A keeper's walk over HTTP: receive, issue, transfer, reverse, read back; refusals as
RFC 9457 problems that leave the ledger as it was."""

from tests.http.conftest import LATE, Api, document_count, is_problem, on_hand, receive


def test_receive_then_issue_posts_documents_with_the_user_as_actor(api: Api) -> None:
    """A receipt and an issue post, move stock, and record the logged-in keeper."""
    keeper = api.client("keeper")
    got = keeper.post(
        "/documents/receipts",
        json={"depot": "COUNTY", "item": "WATER", "qty": 100, "lot": "W1", "expires_on": LATE},
    )
    assert got.status_code == 201, got.text
    assert got.json()["number"].startswith("RC-")
    out = keeper.post("/documents/issues", json={"depot": "COUNTY", "item": "WATER", "qty": 30})
    assert out.status_code == 201, out.text
    assert on_hand(api) == 70
    doc = keeper.get(out.json()["href"]).json()
    assert doc["actor"] == "keeper"
    assert doc["kind"] == "issue"
    assert [(line["direction"], line["qty"], line["lot"]) for line in doc["lines"]] == [
        ("out", 30, "W1")
    ]


def test_over_issue_is_refused_as_problem_409_and_writes_nothing(api: Api) -> None:
    """Issuing more than is available answers 409 problem+json with `available` and
    `requested`; no document is written and the balance is unchanged."""
    receive(api, 40)
    before = document_count(api)
    refused = api.client("keeper").post(
        "/documents/issues", json={"depot": "COUNTY", "item": "WATER", "qty": 100}
    )
    assert is_problem(refused, 409)
    body = refused.json()
    assert (body["available"], body["requested"]) == (40, 100)
    assert body["title"].startswith("库存不足")
    assert (body["depot"], body["item"]) == ("COUNTY", "WATER")
    assert on_hand(api) == 40
    assert document_count(api) == before


def test_invalid_body_is_refused_with_field_paths(api: Api) -> None:
    """A bad quantity and an unknown field are each named by their path in the body."""
    refused = api.client("keeper").post(
        "/documents/issues",
        json={"depot": "COUNTY", "item": "WATER", "qty": 0, "qtty": 5},
    )
    assert is_problem(refused, 422)
    fields = {e["field"] for e in refused.json()["errors"]}
    assert fields == {"body.qty", "body.qtty"}


def test_unknown_depot_is_refused_as_problem_404(api: Api) -> None:
    """A service's NotFound names the field and becomes 404 problem+json."""
    refused = api.client("keeper").post(
        "/documents/receipts",
        json={"depot": "NOWHERE", "item": "WATER", "qty": 1, "lot": "W1", "expires_on": LATE},
    )
    assert is_problem(refused, 404)
    assert refused.json()["field"] == "depot"
    assert document_count(api) == 0


def test_transfer_moves_stock_and_reversal_restores_it(api: Api) -> None:
    """A transfer from CITY to COUNTY moves the units; reversing it moves them back, and a
    second reversal is refused as a 409 problem."""
    receive(api, 10, depot="CITY")
    keeper = api.client("keeper")
    moved = keeper.post(
        "/documents/transfers",
        json={"source": "CITY", "destination": "COUNTY", "item": "WATER", "qty": 4},
    )
    assert moved.status_code == 201, moved.text
    assert (on_hand(api, depot="CITY"), on_hand(api)) == (6, 4)
    number = moved.json()["number"]
    back = keeper.post(f"/documents/{number}/reversal", json={"note": "wrong depot"})
    assert back.status_code == 201, back.text
    assert (on_hand(api, depot="CITY"), on_hand(api)) == (10, 0)
    assert keeper.get(f"/documents/{number}").json()["status"] == "reversed"
    again = keeper.post(f"/documents/{number}/reversal", json={})
    assert is_problem(again, 409)


def test_balances_pages_with_a_cursor_in_expiry_order(api: Api) -> None:
    """Three lots, two a page: the pages join up in first-expiry order with no repeat."""
    for lot, day in (("L3", "2099-03-01"), ("L1", "2099-01-01"), ("L2", "2099-02-01")):
        keeper = api.client("keeper")
        posted = keeper.post(
            "/documents/receipts",
            json={
                "depot": "COUNTY",
                "item": "WATER",
                "qty": 5,
                "lot": lot,
                "expires_on": day,
            },
        )
        assert posted.status_code == 201, posted.text
    auditor = api.client("auditor")
    first = auditor.get("/balances", params={"depot": "COUNTY", "limit": 2}).json()
    assert [r["lot"] for r in first["items"]] == ["L1", "L2"]
    second = auditor.get(
        "/balances", params={"depot": "COUNTY", "limit": 2, "cursor": first["next_cursor"]}
    ).json()
    assert [r["lot"] for r in second["items"]] == ["L3"]
    assert second["next_cursor"] is None
    bad = auditor.get("/balances", params={"cursor": "not-a-cursor"})
    assert is_problem(bad, 422)


def test_subtree_balances_and_item_totals_include_lower_depots(api: Api) -> None:
    """CITY's subtree holds COUNTY's stock; the totals sum both depots."""
    receive(api, 7, depot="CITY")
    receive(api, 5, depot="COUNTY")
    auditor = api.client("auditor")
    rows = auditor.get("/balances", params={"depot": "CITY", "subtree": True}).json()["items"]
    assert sorted((r["depot"], r["on_hand"]) for r in rows) == [("CITY", 7), ("COUNTY", 5)]
    totals = auditor.get("/balances/totals", params={"depot": "CITY", "subtree": True}).json()
    assert [(t["item"], t["on_hand"], t["depots"]) for t in totals["items"]] == [("WATER", 12, 2)]


def test_depot_tree_nests_county_under_city(api: Api) -> None:
    """The tree comes out from the top depot down."""
    tree = api.client("auditor").get("/depots/tree").json()
    assert [(n["code"], [c["code"] for c in n["children"]]) for n in tree] == [("CITY", ["COUNTY"])]
