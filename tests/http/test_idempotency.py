"""`Idempotency-Key` on POSTs: a request sent again is answered again and done once."""

from concurrent.futures import ThreadPoolExecutor

from api.http.idempotency import REPLAYED_HEADER
from tests.http.conftest import Api, document_count, is_problem, on_hand, receive

ISSUE = {"depot": "COUNTY", "item": "WATER", "qty": 10}


def test_issue_replayed_ten_times_posts_once(api: Api) -> None:
    """Ten sends of one issue with one key: one document, stock down once, ten equal
    answers, nine of them marked as replays; the issue takes the whole lot, so a replay
    that went through the ledger again would be refused for want of stock."""
    receive(api, 10)
    keeper = api.client("keeper")
    answers = [
        keeper.post("/documents/issues", json=ISSUE, headers={"Idempotency-Key": "issue-1"})
        for _ in range(10)
    ]
    assert {(a.status_code, a.json()["number"]) for a in answers} == {(201, "IS-000001")}
    assert [a.headers.get(REPLAYED_HEADER) for a in answers] == [None] + ["true"] * 9
    assert on_hand(api) == 0
    assert document_count(api) == 2  # the receipt and one issue


def test_concurrent_sends_of_one_key_post_once(api: Api) -> None:
    """Eight threads sending one keyed issue at the same moment post one document."""
    receive(api, 100)

    def send(_: int) -> tuple[int, str]:
        answer = api.client("keeper").post(
            "/documents/issues", json=ISSUE, headers={"Idempotency-Key": "race-1"}
        )
        return answer.status_code, answer.json().get("number", "")

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(send, range(8)))
    assert set(answers) == {(201, "IS-000001")}
    assert on_hand(api) == 90


def test_key_reused_for_another_request_is_refused_and_writes_nothing(api: Api) -> None:
    """The same key with another body is a 422 problem, not the first request's answer."""
    receive(api, 50)
    keeper = api.client("keeper")
    first = keeper.post("/documents/issues", json=ISSUE, headers={"Idempotency-Key": "k"})
    assert first.status_code == 201
    other = keeper.post(
        "/documents/issues", json={**ISSUE, "qty": 5}, headers={"Idempotency-Key": "k"}
    )
    assert is_problem(other, 422)
    assert other.json()["field"] == "Idempotency-Key"
    assert on_hand(api) == 40


def test_refused_request_is_not_remembered(api: Api) -> None:
    """An over-issue refused with a key can be sent again with that key once stock has
    come in, and then posts (a refusal wrote nothing, its answer included)."""
    keeper = api.client("keeper")
    refused = keeper.post("/documents/issues", json=ISSUE, headers={"Idempotency-Key": "later"})
    assert is_problem(refused, 409)
    receive(api, 10)
    done = keeper.post("/documents/issues", json=ISSUE, headers={"Idempotency-Key": "later"})
    assert done.status_code == 201, done.text
    assert on_hand(api) == 0


def test_key_is_the_ledger_documents_key(api: Api) -> None:
    """The header becomes the posted document's own idempotency key."""
    from sqlalchemy import select

    from supply.models import Document

    api.client("keeper").post(
        "/documents/receipts",
        json={"depot": "COUNTY", "item": "TENT", "qty": 3, "lot": "T1"},
        headers={"Idempotency-Key": "tents-in"},
    )
    with api.read() as session:
        keys = set(session.scalars(select(Document.idempotency_key)))
    assert keys == {"tents-in"}


def test_new_api_token_secret_is_not_kept_for_replays(api: Api) -> None:
    """A token's secret is shown once: a replay answers the same token with no secret."""
    admin = api.client("admin")
    first = admin.post(
        "/users/keeper/tokens", json={"name": "scanner"}, headers={"Idempotency-Key": "tk"}
    )
    again = admin.post(
        "/users/keeper/tokens", json={"name": "scanner"}, headers={"Idempotency-Key": "tk"}
    )
    assert first.status_code == again.status_code == 201
    secret = first.json()["secret"]
    assert secret.startswith("rst_")
    assert again.json() == {"username": "keeper", "name": "scanner", "secret": None}
    me = api.client().get("/users/me", headers={"Authorization": f"Bearer {secret}"})
    assert me.json()["username"] == "keeper"
