"""What `stock export` writes, `stock import` reads: a random ledger exported and imported
into a fresh one has the same balances and the same documents."""

import csv
import io
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select
from sqlalchemy.orm import aliased
from sqlmodel import Session

from supply.csvfiles import validate_rows
from supply.errors import InvalidInput, SupplyError
from supply.models import Batch, Document, Item, Location, Movement, Tier
from supply.services import ledger_lines, reversal, stock
from supply.services.rotation import write_off
from supply.services.stock import Count, Meta
from supply.verify import verify
from tests.conftest import BACKENDS, create_schema, drop_pg_schema, fresh_engine
from tests.factories import TODAY, make_depot, make_item

DEPOTS = ["PROV", "CNTY", "TWN"]
LOTS = ["L1", "L2"]
START = datetime(2026, 3, 1, 8, tzinfo=UTC)


def _world(session: Session) -> None:
    make_item(session, "WATER")
    make_item(session, "TENT", shelf_life_days=None, rotation_lead_days=0)
    make_depot(session, "PROV", Tier.PROVINCE)
    make_depot(session, "CNTY", Tier.COUNTY, parent="PROV")
    make_depot(session, "TWN", Tier.TOWNSHIP, parent="CNTY")


@pytest.fixture(scope="module", params=BACKENDS)
def pair(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Engine, Engine]]:
    """A source and a target database of one backend, each with the tables only."""
    tmp = tmp_path_factory.mktemp("roundtrip")
    engines = [fresh_engine(request.param, tmp, name) for name in ("rt_source", "rt_target")]
    for engine in engines:
        create_schema(engine)
    yield engines[0], engines[1]
    for engine in engines:
        engine.dispose()
    if request.param == "postgresql":
        for name in ("rt_source", "rt_target"):
            drop_pg_schema(f"relief_test_{name}")


class _Rolled:
    """A session whose work is rolled back at the end (the example leaves no trace)."""

    def __init__(self, engine: Engine) -> None:
        self.connection = engine.connect()
        self.outer = self.connection.begin()
        self.session = Session(bind=self.connection, join_transaction_mode="create_savepoint")

    def close(self) -> None:
        self.session.close()
        self.outer.rollback()
        self.connection.close()


step = st.tuples(
    st.sampled_from(
        ["receive", "issue", "transfer", "dispatch", "arrive", "count", "reverse", "write_off"]
    ),
    st.sampled_from(DEPOTS),
    st.sampled_from(["WATER", "TENT"]),
    st.sampled_from(LOTS),
    st.integers(min_value=1, max_value=200),
    st.integers(min_value=0, max_value=20),
)


def _play(session: Session, script: list[tuple[Any, ...]]) -> None:
    """Random keepers' work through the services; refused steps leave nothing."""
    numbers: list[str] = []
    opening = [
        ("receive", d, i, lot, 300, 1)
        for d in DEPOTS[:2]
        for i in ("WATER", "TENT")
        for lot in LOTS
    ]
    for n, (kind, depot, item, lot, qty, pick) in enumerate([*opening, *script]):
        meta = Meta(
            occurred_at=START + timedelta(hours=n),
            reference=f"R{n}" if pick % 2 else None,
            note=f"step {n}, 批次 {lot}" if pick % 3 == 0 else None,
            idempotency_key=f"k{n}" if pick % 5 == 0 else None,
        )
        other = DEPOTS[(DEPOTS.index(depot) + 1) % len(DEPOTS)]
        try:
            with session.begin_nested():
                if kind == "receive":
                    posted = stock.receive(
                        session, depot=depot, item=item, qty=qty, lot=lot, meta=meta,
                        expires_on=date(2030, 1, 1) if item == "WATER" else None, today=TODAY,
                    )  # fmt: skip
                elif kind == "issue":
                    posted = stock.issue(
                        session, depot=depot, item=item, qty=qty, meta=meta, today=TODAY
                    )
                elif kind in ("transfer", "dispatch"):
                    posted = stock.transfer(
                        session, source=depot, destination=other, item=item, qty=qty,
                        in_transit=kind == "dispatch", meta=meta, today=TODAY,
                    )  # fmt: skip
                elif kind == "arrive" and numbers:
                    posted = stock.arrive(session, numbers[pick % len(numbers)], meta=meta)
                elif kind == "count":
                    counted = stock.stocktake(
                        session, depot=depot, counts=[Count(item, lot, qty % 50)], meta=meta
                    )
                    if counted is None:
                        continue
                    posted = counted
                elif kind == "reverse" and numbers:
                    posted = reversal.reverse(session, numbers[pick % len(numbers)], meta=meta)
                elif kind == "write_off":
                    posted = write_off(
                        session, depot=depot, item=item, lot=lot, reason="damaged",
                        qty=qty % 7 + 1, meta=meta,
                    )  # fmt: skip
                else:
                    continue
        except SupplyError:
            continue
        numbers.append(posted.number)


def _balances(session: Session) -> list[tuple[str, str, str, int]]:
    rows = session.execute(
        select(Location.code, Item.code, Batch.lot, Movement.qty)
        .join(Location, Location.id == Movement.location_id)  # type: ignore[arg-type]
        .join(Item, Item.id == Movement.item_id)  # type: ignore[arg-type]
        .join(Batch, Batch.id == Movement.batch_id)  # type: ignore[arg-type]
    ).all()
    sums: dict[tuple[str, str, str], int] = {}
    for loc, item, lot, qty in rows:
        sums[(loc, item, lot)] = sums.get((loc, item, lot), 0) + qty
    return sorted((*k, v) for k, v in sums.items() if v)


def _documents(session: Session) -> list[tuple[Any, ...]]:
    rev = aliased(Document)
    origin = aliased(Document)
    dest = aliased(Location)
    docs = session.execute(
        select(
            Document.id,
            Document.number,
            Document.kind,
            Document.status,
            Document.occurred_at,
            Document.reference,
            Document.note,
            Document.idempotency_key,
            Document.reason,
            rev.number,
            origin.number,
            dest.code,
        )
        .outerjoin(rev, rev.id == Document.reverses_id)  # type: ignore[arg-type]
        .outerjoin(origin, origin.id == Document.origin_id)  # type: ignore[arg-type]
        .outerjoin(dest, dest.id == Document.destination_id)  # type: ignore[arg-type]
        .order_by(Document.number)
    ).all()
    lines: dict[int, list[tuple[str, str, str, int]]] = {}
    for doc_id, loc, item, lot, qty in session.execute(
        select(Movement.document_id, Location.code, Item.code, Batch.lot, Movement.qty)
        .join(Location, Location.id == Movement.location_id)  # type: ignore[arg-type]
        .join(Item, Item.id == Movement.item_id)  # type: ignore[arg-type]
        .join(Batch, Batch.id == Movement.batch_id)  # type: ignore[arg-type]
    ):
        lines.setdefault(doc_id, []).append((loc, item, lot, qty))
    return [(*d[1:], sorted(lines.get(d[0], []))) for d in docs]


def _export(session: Session) -> list[tuple[int, ledger_lines.LedgerLineRow]]:
    out = io.StringIO()
    ledger_lines.export_movements(session, out)
    out.seek(0)
    reader = csv.DictReader(out)
    rows = ((reader.line_num, row) for row in reader)
    return validate_rows(
        Path("export.csv"),
        list(reader.fieldnames or []),
        rows,
        ledger_lines.LedgerLineRow,
        required=ledger_lines.REQUIRED_COLUMNS,
    )


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(script=st.lists(step, min_size=1, max_size=30))
def test_export_imports_into_fresh_ledger_with_same_balances_and_documents(
    pair: tuple[Engine, Engine], script: list[tuple[Any, ...]]
) -> None:
    """Every kind of document (receipts, issues, in-transit legs, stocktakes, reversals,
    write-offs) comes back with its number, status, date, texts, links and lines; importing
    the file again into the new ledger changes nothing."""
    source, target = _Rolled(pair[0]), _Rolled(pair[1])
    try:
        _world(source.session)
        _world(target.session)
        _play(source.session, script)
        rows = _export(source.session)

        ledger_lines.import_ledger_lines(target.session, rows, actor="copy")
        again = ledger_lines.import_ledger_lines(target.session, rows, actor="copy")

        assert _balances(target.session) == _balances(source.session)
        assert _documents(target.session) == _documents(source.session)
        assert again.documents == 0
        event(f"documents: {len(_documents(target.session)) // 10 * 10}+")
        assert verify(target.session).ok
    finally:
        source.close()
        target.close()


def test_export_refused_in_a_ledger_holding_other_documents_of_its_numbers(
    pair: tuple[Engine, Engine],
) -> None:
    """An export imported into another, non-empty ledger whose RC-000001 differs is refused
    (naming the line), rather than posting documents twice or under borrowed numbers."""
    source, target = _Rolled(pair[0]), _Rolled(pair[1])
    try:
        for s in (source.session, target.session):
            _world(s)
        stock.receive(source.session, depot="CNTY", item="TENT", qty=5, lot="L1", today=TODAY)
        stock.receive(target.session, depot="TWN", item="TENT", qty=7, lot="L1", today=TODAY)
        with pytest.raises(InvalidInput, match="line 2 \\(document RC-000001\\)"):
            ledger_lines.import_ledger_lines(target.session, _export(source.session), actor="x")
    finally:
        source.close()
        target.close()
