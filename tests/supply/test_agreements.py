"""Agreement reserves: call-off within the contract, receipt through the ledger, settlement."""

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlmodel import Session, select

from supply.errors import Conflict, DocumentState, InvalidInput, NotFound
from supply.models import Batch, CallOff, Document, Settlement, Tier
from supply.services import reversal
from supply.services.agreements import entrust, list_agreements
from supply.services.balances import balances
from supply.services.calloffs import (
    call_off,
    cancel_call_off,
    expected,
    owed,
    receive_call_off,
    settle,
)
from supply.services.lookup import depot_by_code
from supply.services.stock import Meta
from supply.verify import verify
from tests.factories import make_agreement, make_depot, make_item, make_supplier

CST = timezone(timedelta(hours=8))  # the keepers' time zone: contract days are local days
NOW = datetime(2026, 6, 1, 9, 0, tzinfo=CST)


@pytest.fixture
def contract(session: Session) -> Session:
    """WATER, a county depot CTY and a township TWN, supermarket SM holding 100 cases for CTY
    under AG (2 h lead, 2026-01-01..2026-12-31, ¥28.00 + ¥1.50 compensation per case)."""
    make_item(session, "WATER")
    make_depot(session, "CTY", Tier.COUNTY)
    make_depot(session, "TWN", Tier.TOWNSHIP, parent="CTY")
    make_supplier(session, "SM")
    make_agreement(session, "AG", qty=100)
    return session


def remaining(session: Session, code: str = "AG", today: date = NOW.date()) -> int:
    (view,) = [v for v in list_agreements(session, today=today) if v.code == code]
    return view.remaining


def test_call_off_is_an_expected_receipt_due_after_the_lead_time(contract: Session) -> None:
    """A call-off moves no stock: it is expected at now + lead time, and the contract shrinks."""
    result = call_off(contract, agreement="AG", qty=40, now=NOW)
    assert result.call_off.number == "CO-000001"
    assert result.call_off.due_at == NOW + timedelta(hours=2)
    assert result.call_off.depot_id == depot_by_code(contract, "CTY").id
    assert balances(contract, today=NOW.date()) == []
    assert remaining(contract) == 60
    assert [(r.number, r.qty, r.overdue) for r in expected(contract, now=NOW)] == [
        ("CO-000001", 40, False)
    ]
    assert expected(contract, now=NOW + timedelta(hours=3))[0].overdue


def test_call_off_of_exactly_what_is_left_then_one_more_is_refused(contract: Session) -> None:
    """The whole remainder may be called off; then the agreement is exhausted."""
    call_off(contract, agreement="AG", qty=60, now=NOW)
    with pytest.raises(Conflict, match="41 exceeds what is left under agreement AG: 40 of 100"):
        call_off(contract, agreement="AG", qty=41, now=NOW)
    call_off(contract, agreement="AG", qty=40, now=NOW)
    assert remaining(contract) == 0
    with pytest.raises(Conflict, match="AG is exhausted"):
        call_off(contract, agreement="AG", qty=1, now=NOW)
    assert [v.state for v in list_agreements(contract, today=NOW.date())] == ["exhausted"]


@pytest.mark.parametrize(
    ("now", "message"),
    [
        (datetime(2025, 12, 31, 23, 0, tzinfo=CST), "not valid until 2026-01-01"),
        (datetime(2027, 1, 1, 0, 30, tzinfo=CST), "expired on 2026-12-31"),
    ],
)
def test_call_off_outside_validity_is_refused(
    contract: Session, now: datetime, message: str
) -> None:
    """Before valid_from or after valid_to (local days) nothing can be called off."""
    with pytest.raises(Conflict, match=message):
        call_off(contract, agreement="AG", qty=1, now=now)


def test_call_off_on_the_first_valid_day_is_accepted(contract: Session) -> None:
    """valid_from is inclusive: just after local midnight is inside the contract, although
    it is still the previous day in UTC."""
    result = call_off(contract, agreement="AG", qty=1, now=datetime(2026, 1, 1, 0, 5, tzinfo=CST))
    assert result.call_off.status == "expected"


@pytest.mark.parametrize("status", ["suspended", "terminated"])
def test_call_off_of_suspended_or_terminated_agreement_is_refused(
    contract: Session, status: str
) -> None:
    """The bureau's own status stops call-offs, whatever the dates say."""
    make_agreement(contract, "AG", qty=100, status=status)
    with pytest.raises(Conflict, match=f"AG is {status}"):
        call_off(contract, agreement="AG", qty=1, now=NOW)


def test_agreement_expiring_during_its_lead_time_is_refused(contract: Session) -> None:
    """On the last valid day, a delivery due after midnight is refused; one due before
    midnight, or exactly one minute before, is accepted."""
    make_agreement(contract, "LAST", qty=100, lead_time_hours=5, valid_to=date(2026, 6, 1))
    evening = datetime(2026, 6, 1, 20, 0, tzinfo=CST)
    with pytest.raises(Conflict, match=r"LAST expires on 2026-06-01, before the delivery"):
        call_off(contract, agreement="LAST", qty=10, now=evening)
    # Due exactly at midnight is already the next day: refused too.
    with pytest.raises(Conflict, match="expires on 2026-06-01"):
        call_off(contract, agreement="LAST", qty=10, now=datetime(2026, 6, 1, 19, 0, tzinfo=CST))
    ok = call_off(contract, agreement="LAST", qty=10, now=datetime(2026, 6, 1, 18, 59, tzinfo=CST))
    assert ok.call_off.due_at == datetime(2026, 6, 1, 23, 59, tzinfo=CST)


def test_capacity_call_off_is_due_after_lead_plus_production(contract: Session) -> None:
    """A capacity reserve (100/h after 4 h) delivers 250 units 6.5 h after the call-off."""
    make_supplier(contract, "FAB", kind="manufacturer")
    make_agreement(
        contract, "CAP", supplier="FAB", qty=2000, lead_time_hours=4, kind="capacity",
        rate_per_hour=100,
    )  # fmt: skip
    result = call_off(contract, agreement="CAP", qty=250, now=NOW)
    assert result.call_off.due_at == NOW + timedelta(hours=6, minutes=30)


def test_call_off_to_another_depot_and_unknown_ones(contract: Session) -> None:
    """--to names the receiving depot; an unknown agreement or depot is NotFound."""
    result = call_off(contract, agreement="AG", qty=5, depot="TWN", now=NOW)
    assert result.call_off.depot_id == depot_by_code(contract, "TWN").id
    with pytest.raises(NotFound, match="agreement"):
        call_off(contract, agreement="NOPE", qty=5, now=NOW)
    with pytest.raises(NotFound, match="to"):
        call_off(contract, agreement="AG", qty=5, depot="NOPE", now=NOW)
    with pytest.raises(InvalidInput, match="positive"):
        call_off(contract, agreement="AG", qty=0, now=NOW)


def test_call_off_with_a_repeated_key_is_made_once(contract: Session) -> None:
    """A keeper who retries with the same key gets the first call-off back."""
    first = call_off(contract, agreement="AG", qty=30, now=NOW, meta=Meta(idempotency_key="k1"))
    again = call_off(contract, agreement="AG", qty=30, now=NOW, meta=Meta(idempotency_key="k1"))
    assert (again.replayed, again.call_off.number) == (True, first.call_off.number)
    assert remaining(contract) == 70


def test_receiving_a_call_off_posts_stock_to_its_depot(contract: Session) -> None:
    """The receipt goes through the ledger: the depot gains the lot, the batch records the
    supplier and price, the call-off is closed, and the ledger verifies."""
    number = call_off(contract, agreement="AG", qty=40, depot="TWN", now=NOW).call_off.number
    row, posted = receive_call_off(
        contract, number, lot="W-CO", expires_on=date(2028, 1, 1), now=NOW + timedelta(hours=2)
    )
    assert (row.status, row.received_qty, row.receipt_id) == ("received", 40, posted.id)
    assert [(r.depot, r.lot, r.on_hand) for r in balances(contract, today=NOW.date())] == [
        ("TWN", "W-CO", 40)
    ]
    batch = contract.scalars(select(Batch).where(Batch.lot == "W-CO")).one()
    assert (batch.supplier, batch.unit_cost) == ("supplier SM", Decimal("28.00"))
    doc = contract.scalars(select(Document).where(Document.id == posted.id)).one()
    assert (doc.kind, doc.reference) == ("receipt", number)
    assert expected(contract, now=NOW) == []
    assert verify(contract).ok
    with pytest.raises(DocumentState, match=f"already received as {posted.number}"):
        receive_call_off(contract, number, lot="W-CO", expires_on=date(2028, 1, 1), now=NOW)
    with pytest.raises(DocumentState):
        cancel_call_off(contract, number)


def test_short_delivery_frees_the_rest_and_more_is_refused(contract: Session) -> None:
    """Receiving 30 of 40 leaves 70 under the contract; receiving 41 of 40 is refused."""
    number = call_off(contract, agreement="AG", qty=40, now=NOW).call_off.number
    with pytest.raises(InvalidInput, match="called off 40 units"):
        receive_call_off(contract, number, lot="W1", expires_on=date(2028, 1, 1), qty=41, now=NOW)
    receive_call_off(contract, number, lot="W1", expires_on=date(2028, 1, 1), qty=30, now=NOW)
    assert remaining(contract) == 70


def test_receipt_needs_an_expiry_for_perishable_goods(contract: Session) -> None:
    """The usual receipt rules apply: water has a shelf life, so an undated lot is refused
    and the call-off stays expected."""
    number = call_off(contract, agreement="AG", qty=10, now=NOW).call_off.number
    with pytest.raises(InvalidInput, match="shelf life"):
        receive_call_off(contract, number, lot="W1", now=NOW)
    assert [r.number for r in expected(contract, now=NOW)] == [number]


def test_cancelled_call_off_returns_its_units(contract: Session) -> None:
    """Withdrawing a call-off gives its units back to the agreement."""
    number = call_off(contract, agreement="AG", qty=100, now=NOW).call_off.number
    cancel_call_off(contract, number)
    assert remaining(contract) == 100
    with pytest.raises(DocumentState, match="cancelled"):
        receive_call_off(contract, number, lot="W1", expires_on=date(2028, 1, 1), now=NOW)


def test_settlement_owes_received_qty_times_price_plus_compensation(contract: Session) -> None:
    """Owed per supplier = received × (unit price + compensation), at the prices of the day of
    the call-off; settling one supplier marks only its call-offs; open call-offs owe nothing."""
    make_supplier(contract, "RC", kind="red_cross")
    make_agreement(contract, "AG-RC", supplier="RC", qty=50, unit_price="10.00",
                   compensation_per_unit="0")  # fmt: skip
    a = call_off(contract, agreement="AG", qty=40, now=NOW).call_off.number
    b = call_off(contract, agreement="AG-RC", qty=20, now=NOW).call_off.number
    call_off(contract, agreement="AG", qty=5, now=NOW)  # still expected: owes nothing yet
    receive_call_off(contract, a, lot="W1", expires_on=date(2028, 1, 1), qty=30, now=NOW)
    receive_call_off(contract, b, lot="W2", expires_on=date(2028, 1, 1), now=NOW)
    # A later change of the contract's price does not change what is owed.
    make_agreement(contract, "AG", qty=100, unit_price="99.00")

    due = {o.supplier: (o.qty, o.goods, o.compensation, o.total) for o in owed(contract)}
    assert due == {
        "SM": (30, Decimal("840.00"), Decimal("45.00"), Decimal("885.00")),
        "RC": (20, Decimal("200.00"), Decimal("0.00"), Decimal("200.00")),
    }
    (done,) = settle(contract, now=NOW, supplier="SM", reference="PZ-1", actor="keeper")
    assert (done.number, done.supplier, done.call_offs, done.amount) == (
        "SE-000001",
        "SM",
        1,
        Decimal("885.00"),
    )
    assert [o.supplier for o in owed(contract)] == ["RC"]
    stored = contract.scalars(select(Settlement)).one()
    assert (stored.amount, stored.reference) == (Decimal("885.00"), "PZ-1")
    settled = contract.scalars(select(CallOff).where(CallOff.number == a)).one()
    assert settled.settlement_id == stored.id
    settle(contract, now=NOW)
    assert owed(contract) == []
    assert settle(contract, now=NOW) == []


def test_agreement_update_keeps_what_was_called_off(contract: Session) -> None:
    """After a call-off the committed quantity cannot drop below it, nor the item change."""
    call_off(contract, agreement="AG", qty=60, now=NOW)
    with pytest.raises(Conflict, match="60 units have been called off"):
        make_agreement(contract, "AG", qty=59)
    make_item(contract, "QUILT", shelf_life_days=None)
    with pytest.raises(Conflict, match="supplier and item cannot change"):
        make_agreement(contract, "AG", qty=100, item="QUILT")
    make_agreement(contract, "AG", qty=60)
    assert remaining(contract) == 0


def test_entrusted_depot_keeps_its_stock_in_the_ledger(contract: Session) -> None:
    """Entrusted storage names the custodian; the stock is ours and counted as before."""
    make_supplier(contract, "ENT", kind="enterprise")
    loc = entrust(contract, depot="TWN", custodian="ENT")
    assert loc.custodian_id is not None
    assert entrust(contract, depot="TWN", custodian=None).custodian_id is None
    with pytest.raises(NotFound, match="custodian"):
        entrust(contract, depot="TWN", custodian="NOPE")


def test_reversed_receipt_reopens_the_call_off(contract: Session) -> None:
    """Reversing the receipt of called-off goods (a wrong lot, say) takes the stock back out,
    reopens the call-off and owes nothing; it can then be received again."""
    number = call_off(contract, agreement="AG", qty=40, now=NOW).call_off.number
    _, posted = receive_call_off(
        contract, number, lot="WRONG", expires_on=date(2028, 1, 1), now=NOW
    )
    reversal.reverse(contract, posted.number)
    assert [r.number for r in expected(contract, now=NOW)] == [number]
    assert owed(contract) == []
    assert remaining(contract) == 60
    receive_call_off(contract, number, lot="W1", expires_on=date(2028, 1, 1), now=NOW)
    assert [(r.lot, r.on_hand) for r in balances(contract, today=NOW.date())] == [("W1", 40)]
    assert verify(contract).ok


def test_settled_receipt_cannot_be_reversed(contract: Session) -> None:
    """Once paid for, the receipt of a call-off stays: the reversal is refused."""
    number = call_off(contract, agreement="AG", qty=40, now=NOW).call_off.number
    _, posted = receive_call_off(contract, number, lot="W1", expires_on=date(2028, 1, 1), now=NOW)
    settle(contract, now=NOW)
    with pytest.raises(DocumentState, match="settled in SE-000001"):
        reversal.reverse(contract, posted.number)
