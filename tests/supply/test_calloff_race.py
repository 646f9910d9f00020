"""Keepers racing to call off the last units of one agreement, or to receive one call-off."""

import threading
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from supply.db import session_scope
from supply.errors import Conflict
from supply.models import Tier
from supply.services.agreements import list_agreements
from supply.services.balances import balances
from supply.services.calloffs import call_off, receive_call_off
from supply.verify import verify
from tests.conftest import BACKENDS, create_schema, drop_pg_schema, fresh_engine
from tests.factories import make_agreement, make_depot, make_item, make_supplier

NOW = datetime(2026, 6, 1, 9, 0, tzinfo=timezone(timedelta(hours=8)))
WORKERS = 6
COMMITTED = 100
EACH = 30  # 6 × 30 = 180 asked for, 100 committed: 3 succeed, 3 are refused


@pytest.fixture(params=BACKENDS)
def committed_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    engine = fresh_engine(request.param, tmp_path, "calloff_race")
    create_schema(engine)
    with session_scope(engine) as session:
        make_item(session, "WATER")
        make_depot(session, "CTY", Tier.COUNTY)
        make_supplier(session, "SM")
        make_agreement(session, "AG", qty=COMMITTED)
    yield engine
    engine.dispose()
    if request.param == "postgresql":
        drop_pg_schema("relief_test_calloff_race")


def race(engine: Engine, action: Callable[[Session], object]) -> tuple[int, int, list[Exception]]:
    barrier = threading.Barrier(WORKERS)
    lock = threading.Lock()
    counts = {"ok": 0, "refused": 0}
    errors: list[Exception] = []

    def worker() -> None:
        barrier.wait()
        try:
            with session_scope(engine) as session:
                action(session)
            outcome = "ok"
        except Conflict:  # includes DocumentState
            outcome = "refused"
        except Exception as exc:  # a deadlock or a crash is a failure
            with lock:
                errors.append(exc)
            return
        with lock:
            counts[outcome] += 1

    threads = [threading.Thread(target=worker) for _ in range(WORKERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return counts["ok"], counts["refused"], errors


def test_concurrent_call_offs_never_exceed_the_contract(committed_engine: Engine) -> None:
    """Six keepers call off 30 of 100 units at once: three succeed, three are refused."""
    ok, refused, errors = race(
        committed_engine, lambda s: call_off(s, agreement="AG", qty=EACH, now=NOW)
    )
    assert errors == []
    assert (ok, refused) == (COMMITTED // EACH, WORKERS - COMMITTED // EACH)
    with session_scope(committed_engine) as session:
        (view,) = list_agreements(session, today=NOW.date())
        assert view.called_off == EACH * ok <= COMMITTED


def test_one_call_off_is_received_once(committed_engine: Engine) -> None:
    """Six keepers receive the same call-off at once: one receipt is posted, the rest refused."""
    with session_scope(committed_engine) as session:
        number = call_off(session, agreement="AG", qty=40, now=NOW).call_off.number
    ok, refused, errors = race(
        committed_engine,
        lambda s: receive_call_off(s, number, lot="W1", expires_on=date(2028, 1, 1), now=NOW),
    )
    assert errors == []
    assert (ok, refused) == (1, WORKERS - 1)
    with session_scope(committed_engine) as session:
        assert [r.on_hand for r in balances(session, today=NOW.date())] == [40]
        assert verify(session).ok
