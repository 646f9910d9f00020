"""The audit: balances must equal the sum of their movements."""

from sqlalchemy import text
from sqlmodel import Session

from supply.models import Tier
from supply.verify import verify
from tests.factories import make_depot, make_item, receive


def test_verify_reports_a_tampered_balance(session: Session) -> None:
    """A balance changed behind the ledger's back is found and named."""
    make_item(session, "WATER")
    make_depot(session, "CTY", Tier.COUNTY)
    receive(session, "CTY", "WATER", 10, "W1")
    assert verify(session).ok
    session.execute(text("UPDATE balance SET on_hand = on_hand + 1 WHERE on_hand = 10"))
    report = verify(session)
    assert not report.ok
    assert any("CTY / WATER / W1" in p and "movements sum to 10" in p for p in report.problems)
