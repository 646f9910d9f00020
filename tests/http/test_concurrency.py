"""Many keepers issuing one lot at once over HTTP never oversell it."""

from concurrent.futures import ThreadPoolExecutor

from sqlmodel import Session

from supply.verify import verify
from tests.http.conftest import Api, on_hand, receive

CLIENTS = 16


def test_concurrent_issues_never_oversell(api: Api) -> None:
    """16 clients each issue 7 of a lot holding 50: exactly 7 succeed (49 units), the
    rest are refused as 409 problems, the balance ends at 1 and rebuilds from the
    movements."""
    receive(api, 50)

    def issue(_: int) -> int:
        answer = api.client("keeper").post(
            "/documents/issues", json={"depot": "COUNTY", "item": "WATER", "qty": 7}
        )
        if answer.status_code == 409:
            assert answer.json()["requested"] == 7
        return answer.status_code

    with ThreadPoolExecutor(CLIENTS) as pool:
        statuses = list(pool.map(issue, range(CLIENTS)))
    assert sorted(statuses) == [201] * 7 + [409] * (CLIENTS - 7)
    assert on_hand(api) == 1
    with Session(api.engine) as session:
        report = verify(session)
    assert report.ok, report.problems
