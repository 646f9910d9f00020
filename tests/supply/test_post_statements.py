"""A keeper's single post costs a few SQL statements, and refuses in SQL what it no longer
reads first.

On PostgreSQL every statement is a round trip, and the round trips were most of a single
post's time. The statements are counted, not timed, so the figure holds on a loaded
machine; the limits below are the counts the ledger reaches (issue 15), so a change that
adds a statement to a single post fails here and has to say why.
"""

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event, select
from sqlmodel import Session

from supply import ledger
from supply.db import session_scope
from supply.errors import InsufficientStock, InvalidInput
from supply.ledger import DocumentDraft, Line
from supply.limits import BALANCE_MAX, QTY_MAX
from supply.models import Balance, DocumentKind, LocationKind, Movement, Tier
from supply.services import stock
from supply.services.lookup import batch_by_lot, depot_by_code, item_by_code, virtual
from supply.verify import verify
from tests.conftest import BACKENDS, create_schema, drop_pg_schema, fresh_engine
from tests.factories import TODAY, make_depot, make_item, receive

#: Statements a single post sends, BEGIN included where the driver sends it as one
#: (SQLite's BEGIN IMMEDIATE; psycopg opens PostgreSQL's transaction by itself). Before
#: issue 15's work: SQLite 11 and 13, PostgreSQL 10 and 12.
MOST_STATEMENTS = {
    "sqlite": {"receive": 7, "issue": 8},
    "postgresql": {"receive": 3, "issue": 4},
}


@pytest.fixture(params=BACKENDS)
def stocked(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, Engine]]:
    engine = fresh_engine(request.param, tmp_path, "statements")
    create_schema(engine)
    with session_scope(engine) as session:
        make_item(session, "WATER")
        make_depot(session, "CTY", Tier.COUNTY)
        receive(session, "CTY", "WATER", 50, "W1")
    yield request.param, engine
    engine.dispose()
    if request.param == "postgresql":
        drop_pg_schema("relief_test_statements")


def _statements(engine: Engine, post: Any) -> list[str]:
    """The statements one committed post sends to the database."""
    sent: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        sent.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        with session_scope(engine) as session:
            post(session)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return sent


def test_single_posts_stay_within_their_statement_counts(stocked: tuple[str, Engine]) -> None:
    """A receipt into a known lot and an issue of a named lot, each its own transaction,
    send no more statements than `MOST_STATEMENTS` allows, and the ledger verifies."""
    backend, engine = stocked
    received = _statements(
        engine,
        lambda s: stock.receive(
            s, depot="CTY", item="WATER", qty=5, lot="W1", expires_on=None, today=TODAY
        ),
    )
    issued = _statements(
        engine,
        lambda s: stock.issue(s, depot="CTY", item="WATER", qty=3, lot="W1", today=TODAY),
    )
    most = MOST_STATEMENTS[backend]
    assert len(received) <= most["receive"], received
    assert len(issued) <= most["issue"], issued
    with session_scope(engine) as session:
        assert verify(session).ok
        on_hand = session.scalars(
            select(Balance.on_hand).where(Balance.location_id == depot_by_code(session, "CTY").id)
        ).one()
    assert on_hand == 50 + 5 - 3


def test_single_issue_refused_in_sql_writes_nothing(stocked: tuple[str, Engine]) -> None:
    """An over-issue of a named lot, no longer read before posting, is refused by the
    guarded update with the current figures, before anything is written."""
    _, engine = stocked
    with session_scope(engine) as session:
        with pytest.raises(InsufficientStock) as err:
            stock.issue(session, depot="CTY", item="WATER", qty=51, lot="W1", today=TODAY)
        e = err.value
        assert (e.depot, e.lot, e.available, e.requested) == ("CTY", "W1", 50, 51)
        assert len(session.scalars(select(Movement.id)).all()) == 2  # the first receipt's


def test_single_post_beyond_balance_limit_is_refused(session: Session) -> None:
    """One document that would lift a balance past BALANCE_MAX is refused by the bounded
    upsert (the single post reads no balance first), naming the limit; rolled back, the
    balances are as before."""
    make_item(session, "WATER")
    make_depot(session, "CTY", Tier.COUNTY)
    receive(session, "CTY", "WATER", 1, "W1")
    item = item_by_code(session, "WATER")
    batch = batch_by_lot(session, item, "W1")
    depot = depot_by_code(session, "CTY")
    supplier = virtual(session, LocationKind.SUPPLIER)
    draft = DocumentDraft(
        DocumentKind.RECEIPT,
        [
            Line(supplier.id, item.id, batch.id, -QTY_MAX),  # type: ignore[arg-type]
            Line(depot.id, item.id, batch.id, QTY_MAX),  # type: ignore[arg-type]
        ],
        actor="t",
    )
    ledger.post_many(session, [replace(draft) for _ in range(BALANCE_MAX // QTY_MAX - 1)])
    before = session.execute(select(Balance.location_id, Balance.on_hand)).all()
    with pytest.raises(InvalidInput, match="beyond the ledger's limit"), session.begin_nested():
        ledger.post(session, replace(draft))
    assert session.execute(select(Balance.location_id, Balance.on_hand)).all() == before
