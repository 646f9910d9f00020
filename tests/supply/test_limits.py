"""One set of value limits on both databases: the same documents are accepted or refused
alike on SQLite and PostgreSQL, and what is accepted leaves identical balances."""

from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select
from sqlmodel import Session

from supply import ledger
from supply.errors import InvalidInput, SupplyError
from supply.ledger import DocumentDraft, Line
from supply.limits import BALANCE_MAX, CODE_MAX, QTY_MAX
from supply.models import Balance, Batch, DocumentKind, Item, Location, LocationKind, Tier
from supply.services import stock
from supply.services.lookup import batch_by_lot, item_by_code, virtual
from supply.services.stock import Meta
from tests.conftest import PG_URL, create_schema, drop_pg_schema, fresh_engine
from tests.factories import TODAY, make_depot, make_item

Outcome = tuple[str, ...]

EXTREMES = [
    0,
    1,
    2**31 - 1,
    2**31,
    3_000_000_000,
    QTY_MAX,
    QTY_MAX + 1,
    2**63 - 1,
    2**63,
    10**22,
    -1,
    -(2**63),
]
ODD_TEXT = ["A" * CODE_MAX, "A" * (CODE_MAX + 1), "L" * 300, "a\x00b", "tab\there", "批次-🚚", " "]


def _world(session: Session) -> None:
    make_item(session, "TENT", shelf_life_days=None, rotation_lead_days=0)
    make_depot(session, "PROV", Tier.PROVINCE)
    make_depot(session, "CNTY", Tier.COUNTY, parent="PROV")


def _attempt(session: Session, action: Callable[[], object]) -> Outcome:
    """One operation in a savepoint: its document number, or the refusal's kind and text.
    Any other exception (a driver error) escapes and fails the test."""
    try:
        with session.begin_nested():
            result = action()
    except SupplyError as exc:
        return ("refused", type(exc).__name__, str(exc))
    number = getattr(result, "number", None)
    return ("posted", str(number))


def _balances(session: Session) -> list[tuple[str, str, str, int, int]]:
    rows = session.execute(
        select(Location.code, Item.code, Batch.lot, Balance.on_hand, Balance.reserved)
        .join(Location, Location.id == Balance.location_id)  # type: ignore[arg-type]
        .join(Item, Item.id == Balance.item_id)  # type: ignore[arg-type]
        .join(Batch, Batch.id == Balance.batch_id)  # type: ignore[arg-type]
    ).all()
    return sorted((str(a), str(b), str(c), int(d), int(e)) for a, b, c, d, e in rows)


Op = tuple[str, str, int, str]  # (kind, depot, qty, lot)

ops = st.lists(
    st.tuples(
        st.sampled_from(["receive", "issue", "transfer", "reserve"]),
        st.sampled_from(["PROV", "CNTY"]),
        st.one_of(st.sampled_from(EXTREMES), st.integers(min_value=-(2**70), max_value=2**70)),
        st.one_of(st.sampled_from(["L1", "L2", *ODD_TEXT]), st.text(max_size=80)),
    ),
    min_size=1,
    max_size=8,
)


def _run(engine: Engine, script: list[Op]) -> tuple[list[Outcome], list[tuple[str, ...]]]:
    connection = engine.connect()
    outer = connection.begin()
    session = Session(bind=connection, join_transaction_mode="create_savepoint")
    try:
        _world(session)
        outcomes: list[Outcome] = []
        for kind, depot, qty, lot in script:
            other = "PROV" if depot == "CNTY" else "CNTY"
            if kind == "receive":
                action: Callable[[], object] = lambda d=depot, q=qty, lt=lot: stock.receive(  # noqa: E731
                    session, depot=d, item="TENT", qty=q, lot=lt, today=TODAY, meta=Meta(note=lt)
                )
            elif kind == "issue":
                action = lambda d=depot, q=qty, lt=lot: stock.issue(  # noqa: E731
                    session, depot=d, item="TENT", qty=q, lot=lt, today=TODAY
                )
            elif kind == "transfer":
                action = lambda d=depot, o=other, q=qty, lt=lot: stock.transfer(  # noqa: E731
                    session, source=d, destination=o, item="TENT", qty=q, lot=lt, today=TODAY
                )
            else:
                from supply.services.reservations import reserve

                action = lambda d=depot, q=qty, lt=lot: reserve(  # noqa: E731
                    session, depot=d, item="TENT", lot=lt, qty=q, plan_ref=lt
                )
            outcomes.append(_attempt(session, action))
        return outcomes, _balances(session)  # type: ignore[return-value]
    finally:
        session.close()
        outer.rollback()
        connection.close()


@pytest.fixture(scope="module")
def both(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Engine, Engine]]:
    if not PG_URL:
        pytest.skip("the SQLite-vs-PostgreSQL comparison needs TEST_DATABASE_URL")
    lite = fresh_engine("sqlite", tmp_path_factory.mktemp("limits"), "limits")
    pg = fresh_engine("postgresql", tmp_path_factory.mktemp("limits"), "limits")
    for engine in (lite, pg):
        create_schema(engine)
    yield lite, pg
    lite.dispose()
    pg.dispose()
    drop_pg_schema("relief_test_limits")


@pytest.mark.postgres
@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(script=ops)
def test_same_documents_same_outcome_on_sqlite_and_postgresql(
    both: tuple[Engine, Engine], script: list[Op]
) -> None:
    """Extreme integers and long or odd Unicode text: both databases accept the same
    operations, refuse the same ones with the same message, and end with identical
    balances (before the limits, PostgreSQL raised driver errors SQLite never saw)."""
    lite, pg = both
    assert _run(lite, script) == _run(pg, script)


def test_receipt_beyond_line_limit_is_refused(session: Session) -> None:
    """2^63 - 1 units used to post on SQLite and overflow the next receipt into a REAL."""
    _world(session)
    for qty in (2**63 - 1, QTY_MAX + 1, 10**22):
        with pytest.raises(InvalidInput, match="at most 1,000,000,000,000"):
            stock.receive(session, depot="CNTY", item="TENT", qty=qty, lot="L1", today=TODAY)


def test_receipt_above_int4_posts(session: Session) -> None:
    """3,000,000,000 units is within the limits: it posts on both databases (BIGINT)."""
    _world(session)
    stock.receive(session, depot="CNTY", item="TENT", qty=3_000_000_000, lot="L1", today=TODAY)
    stock.receive(session, depot="CNTY", item="TENT", qty=3_000_000_000, lot="L1", today=TODAY)
    assert ("CNTY", "TENT", "L1", 6_000_000_000, 0) in _balances(session)


@pytest.mark.parametrize(
    ("lot", "reason"),
    [("L" * 300, "300 characters long"), ("a\x00b", "control character (U+0000)")],
)
def test_receipt_with_long_or_control_lot_is_refused(
    session: Session, lot: str, reason: str
) -> None:
    """A 300-character lot or a NUL byte used to post on SQLite and be a driver error on
    PostgreSQL; both now refuse it, naming the field."""
    _world(session)
    with pytest.raises(InvalidInput, match="lot") as err:
        stock.receive(session, depot="CNTY", item="TENT", qty=1, lot=lot, today=TODAY)
    assert reason in str(err.value)


def test_balance_beyond_limit_is_refused_whole(session: Session) -> None:
    """Receipts that would lift a balance past BALANCE_MAX are refused before the database."""
    _world(session)
    stock.receive(session, depot="CNTY", item="TENT", qty=1, lot="L1", today=TODAY)
    item = item_by_code(session, "TENT")
    batch = batch_by_lot(session, item, "L1")
    depot = session.scalars(select(Location).where(Location.code == "CNTY")).one()
    supplier = virtual(session, LocationKind.SUPPLIER)
    draft = DocumentDraft(
        DocumentKind.RECEIPT,
        [
            Line(supplier.id, item.id, batch.id, -QTY_MAX),  # type: ignore[arg-type]
            Line(depot.id, item.id, batch.id, QTY_MAX),  # type: ignore[arg-type]
        ],
        actor="t",
    )
    count = BALANCE_MAX // QTY_MAX
    with pytest.raises(InvalidInput, match="beyond the ledger's limit") as err:
        ledger.post_many(session, [replace(draft) for _ in range(count)])
    assert err.value.index == count - 1
    assert ("CNTY", "TENT", "L1", 1, 0) in _balances(session)


def test_cli_refuses_huge_quantity_in_one_line(tmp_path: Path) -> None:
    """`relief stock receive --qty 9223372036854775807` exits 2 with one line."""
    from typer.testing import CliRunner

    from tests.cli.harness import DEPOTS_CSV, ITEMS_CSV, Relief, write_csv

    relief = Relief(CliRunner(), f"sqlite:///{tmp_path / 'l.db'}", tmp_path / "l.db")
    relief.ok("db", "upgrade")
    relief.ok("catalog", "import", str(write_csv(tmp_path / "items.csv", ITEMS_CSV)))
    relief.ok("depots", "import", str(write_csv(tmp_path / "depots.csv", DEPOTS_CSV)))
    for qty in ("9223372036854775807", "12345678901234567890123"):
        result = relief(
            "stock", "receive", "--depot", "CNTY", "--item", "TENT", "--qty", qty, "--lot", "T1"
        )
        assert result.exit_code == 2, (result.stdout, result.exception)
        assert len(result.stderr.strip().splitlines()) == 1
    assert relief.balances() == []
    assert date.today()  # the ledger is untouched and readable
