"""A count over HTTP (盘点) and a posted document's printed page, as the console uses them."""

import base64
import hashlib
import re

from supply.services.printing import page_style_source
from tests.http.conftest import Api, document_count, is_problem, on_hand, receive


def test_count_posts_the_difference_and_a_matching_count_posts_nothing(api: Api) -> None:
    """Counted 95 of 100: a stocktake moves 5 out and records the keeper; counting 95
    again matches the ledger, so nothing is posted and no number is answered."""
    receive(api, 100)
    keeper = api.client("keeper")
    body = {
        "depot": "COUNTY",
        "lines": [{"item": "WATER", "lot": "W1", "counted": 95, "reason": "damaged"}],
    }
    got = keeper.post("/documents/stocktakes", json=body)
    assert got.status_code == 201, got.text
    assert got.json()["number"].startswith("ST-")
    assert on_hand(api) == 95
    doc = keeper.get(got.json()["href"]).json()
    assert (doc["kind"], doc["actor"]) == ("stocktake", "keeper")
    before = document_count(api)
    again = keeper.post("/documents/stocktakes", json=body)
    assert again.status_code == 201, again.text
    assert again.json() == {"number": None, "replayed": False, "href": None}
    assert document_count(api) == before


def test_count_of_a_lot_twice_is_refused_and_writes_nothing(api: Api) -> None:
    """The CLI's refusal of a lot counted twice, as problem+json naming the field."""
    receive(api, 100)
    before = document_count(api)
    line = {"item": "WATER", "lot": "W1", "counted": 90}
    refused = api.client("keeper").post(
        "/documents/stocktakes", json={"depot": "COUNTY", "lines": [line, line]}
    )
    assert is_problem(refused, 422)
    assert refused.json()["field"] == "lot"
    assert "counted twice" in refused.json()["detail"]
    assert (on_hand(api), document_count(api)) == (100, before)


def test_printed_document_is_html_under_a_policy_allowing_only_its_style(api: Api) -> None:
    """The page a keeper prints: its title and number in the language asked for, and a
    policy whose one style source is the hash of the page's own inline stylesheet."""
    number = receive(api, 100)
    auditor = api.client("auditor")
    page = auditor.get(f"/documents/{number}/print")
    assert page.status_code == 200, page.text
    assert page.headers["content-type"].startswith("text/html")
    assert "入库单" in page.text
    assert number in page.text
    style = re.search(r"<style>(.*?)</style>", page.text, re.S)
    assert style is not None
    digest = base64.b64encode(hashlib.sha256(style.group(1).encode()).digest()).decode()
    assert page_style_source() == f"'sha256-{digest}'"
    policy = page.headers["content-security-policy"]
    assert f"style-src 'sha256-{digest}'" in policy
    assert "script-src" not in policy
    english = auditor.get(f"/documents/{number}/print", params={"lang": "en"})
    assert "Goods receipt" in english.text


def test_printing_an_unknown_document_is_a_404_problem(api: Api) -> None:
    """No such number: problem+json, not an empty page."""
    assert is_problem(api.client("keeper").get("/documents/RC-999999/print"), 404)
