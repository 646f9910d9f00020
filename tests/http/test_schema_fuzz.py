"""schemathesis against the OpenAPI: generated requests to every operation, as an admin
(the role that may call them all), never get a 5xx, and every error is problem+json.

Bounded and derandomized (a few examples per operation), so a run is the same each time.
The schema is read from an app over an empty in-memory engine; each generated request is
then sent to the app of the test's own fresh ledger (the `api` fixture: SQLite, and
PostgreSQL when TEST_DATABASE_URL is set)."""

import schemathesis
from hypothesis import HealthCheck, settings

from api.http import create_app
from supply.db import make_engine
from supply.settings import Settings
from tests.http.conftest import SECRET, Api

schema = schemathesis.openapi.from_asgi(
    "/openapi.json",
    create_app(
        Settings(database_url="sqlite://", **{"RELIEF_JWT_SECRET": SECRET}),
        engine=make_engine("sqlite://"),
    ),
)


@schema.parametrize()
@settings(
    max_examples=8,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_no_server_error_and_errors_are_problems(case: schemathesis.Case, api: Api) -> None:
    """Whatever is sent, the answer is below 500, and a 4xx is an RFC 9457 problem."""
    sent = case.as_transport_kwargs(
        base_url="http://testserver",
        headers={"Authorization": f"Bearer {api.tokens['admin']}"},
    )
    sent.pop("cookies", None)  # none are generated: the API reads no cookie
    if isinstance(sent.get("data"), str | bytes):  # a raw body: httpx calls it content
        sent["content"] = sent.pop("data")
    response = api.client().request(**sent)
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["status"] == response.status_code
