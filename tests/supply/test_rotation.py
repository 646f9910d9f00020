"""Rotation and write-off: stock leaves with a reason, never taking what a plan holds."""

from datetime import date

import pytest
from sqlmodel import Session, select

from supply.errors import Conflict, InvalidInput
from supply.models import Document, Tier
from supply.services.balances import balances, due_for_rotation
from supply.services.reservations import reserve
from supply.services.rotation import rotate, write_off
from supply.verify import verify
from tests.factories import TODAY, make_depot, make_item, receive


@pytest.fixture
def depot(session: Session) -> Session:
    make_item(session, "WATER", rotation_lead_days=30)
    make_depot(session, "CTY", Tier.COUNTY)
    receive(session, "CTY", "WATER", 10, "OLD", expires_on=date(2026, 7, 1))
    return session


def lots(session: Session) -> dict[str, int]:
    return {r.lot: r.on_hand for r in balances(session, depot="CTY", today=TODAY)}


def test_rotate_moves_old_out_and_new_in_in_one_document(depot: Session) -> None:
    """One rotation document: the old lot to the outlet with its reason, the new lot in."""
    posted = rotate(
        depot,
        depot="CTY",
        item="WATER",
        lot="OLD",
        reason="sold",
        new_lot="NEW",
        new_qty=12,
        new_expires_on=date(2028, 1, 1),
        today=TODAY,
    )
    assert lots(depot) == {"NEW": 12}
    doc = depot.scalars(select(Document).where(Document.number == posted.number)).one()
    assert (doc.kind, doc.reason) == ("rotation", "sold")
    assert verify(depot).ok


def test_rotation_that_would_leave_a_reservation_uncovered_is_refused(depot: Session) -> None:
    """Reserved units stay: rotating more than the unreserved part is refused, unchanged."""
    reserve(depot, depot="CTY", item="WATER", qty=4, lot="OLD", today=TODAY)
    with pytest.raises(Conflict, match="reservation uncovered"):
        rotate(
            depot,
            depot="CTY",
            item="WATER",
            lot="OLD",
            reason="sold",
            new_lot="NEW",
            new_qty=10,
            new_expires_on=date(2028, 1, 1),
            qty=8,
            today=TODAY,
        )
    assert lots(depot) == {"OLD": 10}
    # By default only the unreserved 6 leave.
    rotate(
        depot,
        depot="CTY",
        item="WATER",
        lot="OLD",
        reason="donated",
        new_lot="NEW",
        new_qty=6,
        new_expires_on=date(2028, 1, 1),
        today=TODAY,
    )
    assert lots(depot) == {"OLD": 4, "NEW": 6}


def test_rotation_reason_must_be_known(depot: Session) -> None:
    """The disposal reason is one of a fixed list, named in the error."""
    with pytest.raises(InvalidInput, match="sold"):
        rotate(
            depot,
            depot="CTY",
            item="WATER",
            lot="OLD",
            reason="gift",
            new_lot="NEW",
            new_qty=1,
            new_expires_on=date(2028, 1, 1),
            today=TODAY,
        )


def test_write_off_expired_stock_with_reason(depot: Session) -> None:
    """Expired stock leaves through a write-off that records why."""
    posted = write_off(depot, depot="CTY", item="WATER", lot="OLD", reason="expired")
    assert lots(depot) == {}
    doc = depot.scalars(select(Document).where(Document.number == posted.number)).one()
    assert (doc.kind, doc.reason) == ("write_off", "expired")
    assert verify(depot).ok


def test_due_for_rotation_includes_a_batch_due_exactly_today(depot: Session) -> None:
    """Rotation date = expiry − lead days; a batch due today is listed, tomorrow's with 0."""
    due_day = date(2026, 6, 1)  # 2026-07-01 − 30 days
    assert [r.lot for r in due_for_rotation(depot, within_days=0, today=due_day)] == ["OLD"]
    assert due_for_rotation(depot, within_days=0, today=date(2026, 5, 31)) == []
    assert [r.lot for r in due_for_rotation(depot, within_days=1, today=date(2026, 5, 31))] == [
        "OLD"
    ]
