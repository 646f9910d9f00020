"""Fixtures for the HTTP API: a fresh database per test (SQLite, and PostgreSQL when
TEST_DATABASE_URL is set), committed for real so concurrent requests see each other,
a user of every role, and a TestClient per caller."""

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session

from api.http import create_app
from api.http.auth import issue_access_token
from supply.db import read_scope, session_scope
from supply.models import Level, Role, Tier
from supply.services import aid, calloffs, jurisdictions, plan_jobs, stock, users
from supply.settings import Settings
from tests.conftest import BACKENDS, PG_URL, create_schema, drop_pg_schema, fresh_engine
from tests.factories import make_depot, make_item

SECRET = "test-secret-" + "x" * 32
#: The server's scenarios in these tests: tests/data (`tiny` plans in a second or two).
DATA = Path(__file__).resolve().parents[1] / "data"
ADMIN_PASSWORD = "admin-pass-1"
#: An expiry date no test run will reach.
LATE = "2099-12-31"


@dataclass
class Api:
    """The app over a fresh ledger, and a bearer token for a user of each role."""

    app: FastAPI
    engine: Engine
    tokens: dict[str, str] = field(default_factory=dict)

    def client(self, role: str | None = None) -> TestClient:
        """A client sending `role`'s token (none: anonymous); one per thread."""
        headers = {"Authorization": f"Bearer {self.tokens[role]}"} if role else {}
        return TestClient(self.app, headers=headers, raise_server_exceptions=False)

    def read(self) -> Session:
        return Session(self.engine)


def _seed(session: Session) -> None:
    """A user per role (the admin with a password), WATER and TENT, and two depots."""
    users.add_user(session, username="admin", role=Role.ADMIN, password=ADMIN_PASSWORD)
    for role in Role:
        if role is not Role.ADMIN:
            users.add_user(session, username=role.value, role=role, password=None)
    make_item(session, "WATER")
    make_item(session, "TENT", shelf_life_days=None)
    make_depot(session, "CITY", Tier.CITY)
    make_depot(session, "COUNTY", parent="CITY")


@pytest.fixture(params=BACKENDS)
def api(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Api]:
    engine = fresh_engine(request.param, tmp_path, "http")
    create_schema(engine)
    with session_scope(engine) as session:
        _seed(session)
    # Plan jobs' processes connect by URL: PostgreSQL's carries the test schema.
    url = str(engine.url) if request.param == "sqlite" else pg_url_with_schema("relief_test_http")
    # By its environment name: the field's alias is what the settings read.
    settings = Settings(
        database_url=url,
        **{
            "RELIEF_JWT_SECRET": SECRET,
            "RELIEF_SCENARIOS_DIR": str(DATA),
            "RELIEF_LAYER_CACHE_DIR": str(tmp_path / "layers"),
        },
    )
    assert settings.jwt_secret == SECRET
    app = create_app(settings, engine=engine)
    made = Api(app=app, engine=engine)
    for role in Role:
        name = "admin" if role is Role.ADMIN else role.value
        made.tokens[role.value] = issue_access_token(
            name, role.value, secret=SECRET, minutes=5
        ).token
    yield made
    made.app.state.relief.runner.shutdown()
    engine.dispose()
    if request.param == "postgresql":
        drop_pg_schema("relief_test_http")


def pg_url_with_schema(schema: str) -> str:
    """TEST_DATABASE_URL with `schema` first on the search path (as `pg_engine` connects)."""
    from sqlalchemy.engine import make_url

    assert PG_URL
    url = make_url(PG_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    return url.render_as_string(hide_password=False)


def receive(api: Api, qty: int, *, lot: str = "W1", depot: str = "COUNTY") -> str:
    """Stock for a test, through the service (not the API under test)."""
    with session_scope(api.engine) as session:
        return stock.receive(
            session,
            depot=depot,
            item="WATER",
            qty=qty,
            lot=lot,
            expires_on=date.fromisoformat(LATE),
            meta=stock.Meta(actor="test"),
        ).number


def on_hand(api: Api, *, depot: str = "COUNTY", item: str = "WATER") -> int:
    from supply.services.balances import balances

    with read_scope(api.engine) as session:
        return sum(r.on_hand for r in balances(session, depot=depot, item=item))


def document_count(api: Api) -> int:
    from sqlalchemy import func, select

    from supply.models import Document

    with read_scope(api.engine) as session:
        return int(session.scalar(select(func.count()).select_from(Document)) or 0)


def is_problem(response: httpx.Response, status: int) -> bool:
    return (
        response.status_code == status
        and response.headers["content-type"].startswith("application/problem+json")
        and response.json()["status"] == status
    )


def new_job(session: Session, requested_by: str = "test") -> int:
    """A queued plan job of the tiny scenario that no runner was given (tests move it on)."""
    job = plan_jobs.create_job(
        session,
        scenario="tiny",
        scenarios_root=DATA,
        from_ledger=True,
        routes=False,
        time_limit_s=None,
        deadline_hours=None,
        requested_by=requested_by,
    )
    assert job.id is not None
    return job.id


#: Counties of the aid fixtures: A borrows from its neighbour B.
BORROWER, LENDER = "310101", "310102"


def aid_counties(api: Api) -> None:
    """Counties A (depot A-DEP) and B (depot B-DEP), neighbours; B holds 1000 TENT in lot
    LEND at 12.50 a unit."""
    with session_scope(api.engine) as session:
        for code, name in ((BORROWER, "甲县"), (LENDER, "乙县")):
            jurisdictions.add_jurisdiction(session, code=code, name=name, level=Level.COUNTY)
        jurisdictions.add_neighbours(session, BORROWER, [LENDER])
        for depot, code in (("A-DEP", BORROWER), ("B-DEP", LENDER)):
            make_depot(session, depot, Tier.COUNTY)
            jurisdictions.assign_depots(session, code, [depot])
        stock.receive(
            session,
            depot="B-DEP",
            item="TENT",
            qty=1000,
            lot="LEND",
            unit_cost=Decimal("12.50"),
            meta=stock.Meta(actor="test"),
        )


def new_loan(api: Api, qty: int = 10, *, approved: bool = False) -> str:
    """A loan of TENT from B to A's depot, requested (and approved) through the service."""
    with session_scope(api.engine) as session:
        number = aid.request_loan(
            session,
            borrower=BORROWER,
            lender=LENDER,
            destination="A-DEP",
            lines=[("TENT", qty)],
            disaster="洪水 flood",
            needed_by=date(2026, 12, 31),
            actor=aid.Actor("test"),
        ).number
        if approved:
            aid.approve_loan(session, number, source="B-DEP", actor=aid.Actor("test"))
        return number


def agreement_with_call_offs(api: Api, count: int) -> list[str]:
    """Agreement AG-W (SM supplies 10,000 WATER at COUNTY, valid for years) and `count`
    call-offs of 5 under it, awaiting receipt."""
    from tests.factories import make_agreement, make_supplier

    now = datetime.now().astimezone()
    with session_scope(api.engine) as session:
        make_supplier(session)
        make_agreement(
            session,
            "AG-W",
            depot="COUNTY",
            qty=10_000,
            valid_from=date(2026, 1, 1),
            valid_to=date(2099, 12, 31),
        )
        return [
            calloffs.call_off(session, agreement="AG-W", qty=5, now=now).call_off.number
            for _ in range(count)
        ]
