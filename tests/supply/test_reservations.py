"""Holding stock for plans: available = on hand − reserved, always."""

import pytest
from sqlalchemy import text
from sqlmodel import Session

from supply.errors import DocumentState, InsufficientStock, InvalidInput
from supply.models import Tier
from supply.services import stock
from supply.services.balances import balances
from supply.services.reservations import consume, release, reserve
from supply.verify import verify
from tests.factories import TODAY, make_depot, make_item, receive


@pytest.fixture
def held(session: Session) -> Session:
    make_item(session, "WATER")
    make_depot(session, "CTY", Tier.COUNTY)
    receive(session, "CTY", "WATER", 10, "W1")
    return session


def row(session: Session) -> tuple[int, int, int]:
    (r,) = balances(session, depot="CTY", today=TODAY)
    return r.on_hand, r.reserved, r.available


def test_reserve_lowers_available_not_on_hand(held: Session) -> None:
    """A reservation holds units: on hand stays, available drops."""
    (res,) = reserve(held, depot="CTY", item="WATER", qty=7, plan_ref="P1", today=TODAY)
    assert res.qty == 7
    assert res.status == "active"
    assert row(held) == (10, 7, 3)
    assert verify(held).ok


def test_issue_cannot_take_reserved_stock(held: Session) -> None:
    """Units held for a plan are not issued to anyone else."""
    reserve(held, depot="CTY", item="WATER", qty=7, today=TODAY)
    with pytest.raises(InsufficientStock) as err:
        stock.issue(held, depot="CTY", item="WATER", qty=4, lot="W1", today=TODAY)
    assert err.value.available == 3


def test_reserve_beyond_available_is_refused(held: Session) -> None:
    """Two plans can never promise the same water."""
    reserve(held, depot="CTY", item="WATER", qty=7, today=TODAY)
    with pytest.raises(InsufficientStock):
        reserve(held, depot="CTY", item="WATER", qty=4, today=TODAY)
    assert row(held) == (10, 7, 3)


def test_release_gives_stock_back_once(held: Session) -> None:
    """Releasing restores availability; a released reservation cannot be released again."""
    (res,) = reserve(held, depot="CTY", item="WATER", qty=7, today=TODAY)
    release(held, res.id)  # type: ignore[arg-type]
    assert row(held) == (10, 0, 10)
    with pytest.raises(DocumentState):
        release(held, res.id)  # type: ignore[arg-type]


def test_consume_issues_held_stock_partially_then_fully(held: Session) -> None:
    """Consuming issues the held units; the rest stays held until consumed or released."""
    (res,) = reserve(held, depot="CTY", item="WATER", qty=7, today=TODAY)
    consume(held, res.id, qty=3)  # type: ignore[arg-type]
    assert row(held) == (7, 4, 3)
    with pytest.raises(InvalidInput):
        consume(held, res.id, qty=5)  # type: ignore[arg-type]
    consume(held, res.id)  # type: ignore[arg-type]
    assert row(held) == (3, 0, 3)
    assert res.status == "consumed"
    assert res.consumed_qty == 7
    assert verify(held).ok


def test_database_check_refuses_reserved_above_on_hand(held: Session) -> None:
    """Even a raw write cannot make a depot hold less than it has reserved."""
    from sqlalchemy.exc import IntegrityError

    with pytest.raises(IntegrityError), held.begin_nested():
        held.execute(text("UPDATE balance SET reserved = on_hand + 1 WHERE guarded"))
