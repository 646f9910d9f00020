"""Keepers racing for the same batch: exactly the stock is issued, the rest refused."""

import threading
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine

from supply.db import session_scope
from supply.errors import InsufficientStock
from supply.models import Tier
from supply.services import stock
from supply.services.balances import balances
from supply.services.reservations import reserve
from supply.verify import verify
from tests.conftest import BACKENDS, create_schema, drop_pg_schema, fresh_engine
from tests.factories import make_depot, make_item, receive

WORKERS = 8
HELD = 20
EACH = 3  # 8 x 3 = 24 asked for, 20 held: at most 6 succeed, the rest are refused


@pytest.fixture(params=BACKENDS)
def committed_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    engine = fresh_engine(request.param, tmp_path, "race")
    create_schema(engine)
    with session_scope(engine) as session:
        make_item(session, "WATER")
        make_depot(session, "CTY", Tier.COUNTY)
        receive(session, "CTY", "WATER", HELD, "W1")
    yield engine
    engine.dispose()
    if request.param == "postgresql":
        drop_pg_schema("relief_test_race")


def race(engine: Engine, action) -> tuple[int, int, list[BaseException]]:  # type: ignore[no-untyped-def]
    barrier = threading.Barrier(WORKERS)
    ok = refused = 0
    errors: list[BaseException] = []
    lock = threading.Lock()

    def worker() -> None:
        nonlocal ok, refused
        barrier.wait()
        try:
            with session_scope(engine) as session:
                action(session)
            with lock:
                ok += 1
        except InsufficientStock:
            with lock:
                refused += 1
        except Exception as exc:  # anything else (a lock error, a crash) is a failure
            with lock:
                errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(WORKERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return ok, refused, errors


@pytest.mark.parametrize("named_lot", [True, False])
def test_concurrent_issues_never_oversell(committed_engine: Engine, named_lot: bool) -> None:
    """8 keepers issue 3 units each of a 20-unit batch at once: 6 succeed, 2 are refused,
    18 units leave, and the ledger verifies."""
    ok, refused, errors = race(
        committed_engine,
        lambda s: stock.issue(
            s,
            depot="CTY",
            item="WATER",
            qty=EACH,
            lot="W1" if named_lot else None,
            today=date(2026, 6, 1),
        ),
    )
    assert errors == []
    assert (ok, refused) == (HELD // EACH, WORKERS - HELD // EACH)
    with session_scope(committed_engine) as session:
        (row,) = balances(session, depot="CTY", today=date(2026, 6, 1))
        assert row.on_hand == HELD - EACH * ok
        assert verify(session).ok


def test_concurrent_reservations_never_overcommit(committed_engine: Engine) -> None:
    """Racing plans can hold at most what is on hand."""
    ok, refused, errors = race(
        committed_engine,
        lambda s: reserve(s, depot="CTY", item="WATER", qty=EACH, lot="W1", today=date(2026, 6, 1)),
    )
    assert errors == []
    assert ok == HELD // EACH
    assert ok + refused == WORKERS
    with session_scope(committed_engine) as session:
        (row,) = balances(session, depot="CTY", today=date(2026, 6, 1))
        assert row.reserved == EACH * ok <= row.on_hand
        assert verify(session).ok
