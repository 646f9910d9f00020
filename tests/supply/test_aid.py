"""Owners of lots and mutual aid: only the owner's people release a lot; a loan moves the
lender's lots once, they stay the lender's until returned or settled at unit cost."""

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlmodel import Session, col

from supply.errors import Conflict, DocumentState, InsufficientStock, InvalidInput, OutOfScope
from supply.models import AidSettlement, Balance, Batch, Document, Level, Tier
from supply.services import aid, jurisdictions, reversal, stock
from supply.services.aid import Actor
from supply.services.lookup import depot_by_code
from tests.factories import make_depot, make_item

LATE = date(2099, 12, 31)
NEEDED = date(2026, 12, 10)


@pytest.fixture
def counties(session: Session) -> dict[str, int]:
    """City 210300 over counties A (210381, depot A-DEP) and B (210382, depot B-DEP),
    neighbours, and county C (210383, depot C-DEP) bordering neither; B holds 100 WATER
    in lot B1 (cost 2.5) and 40 in lot B2, which expires first."""
    jurisdictions.add_jurisdiction(session, code="210300", name="鞍山市", level=Level.CITY)
    ids: dict[str, int] = {}
    for code, name in (("210381", "甲县"), ("210382", "乙县"), ("210383", "丙县")):
        made = jurisdictions.add_jurisdiction(
            session, code=code, name=name, level=Level.COUNTY, parent="210300"
        )
        assert made.id is not None
        ids[code] = made.id
    jurisdictions.add_neighbours(session, "210381", ["210382"])
    make_item(session, "WATER")
    make_item(session, "TENT", shelf_life_days=None)
    for depot, code in (("A-DEP", "210381"), ("B-DEP", "210382"), ("C-DEP", "210383")):
        make_depot(session, depot, Tier.COUNTY)
        jurisdictions.assign_depots(session, code, [depot])
    stock.receive(
        session,
        depot="B-DEP",
        item="WATER",
        qty=100,
        lot="B1",
        expires_on=LATE,
        unit_cost=Decimal("2.5"),
    )
    stock.receive(
        session,
        depot="B-DEP",
        item="WATER",
        qty=40,
        lot="B2",
        expires_on=date(2098, 1, 1),
        unit_cost=Decimal("3"),
    )
    return ids


def _on_hand(session: Session, depot: str, lot: str) -> int:
    loc = depot_by_code(session, depot)
    total = session.scalar(
        select(func.sum(col(Balance.on_hand)))
        .join(Batch, col(Batch.id) == col(Balance.batch_id))
        .where(col(Balance.location_id) == loc.id, col(Batch.lot) == lot)
    )
    return int(total or 0)


def _ask(session: Session, qty: int = 60, **extra: object) -> str:
    return aid.request_loan(
        session,
        borrower="210381",
        lender="210382",
        destination="A-DEP",
        lines=[("WATER", qty)],
        disaster="2026 海城洪水",
        needed_by=NEEDED,
        actor=Actor("zhang", None),
        **extra,  # type: ignore[arg-type]
    ).number


def test_receipt_belongs_to_the_depots_jurisdiction(
    session: Session, counties: dict[str, int]
) -> None:
    """A new lot is owned by the receiving depot's jurisdiction, funded `fiscal`; a donor's
    lot is the donor's; naming another owner for a known lot is refused."""
    b1 = session.scalars(select(Batch).where(col(Batch.lot) == "B1")).one()
    assert (b1.owner_id, b1.funding) == (counties["210382"], "fiscal")
    stock.receive(session, depot="A-DEP", item="TENT", qty=3, lot="D1", donor="红十字会")
    d1 = session.scalars(select(Batch).where(col(Batch.lot) == "D1")).one()
    assert (d1.owner_id, d1.donor, d1.funding) == (None, "红十字会", "donation")
    with pytest.raises(Conflict):
        stock.receive(
            session, depot="A-DEP", item="WATER", qty=1, lot="B1", expires_on=LATE, owner="210381"
        )


def test_only_the_owners_people_release_a_lot(session: Session, counties: dict[str, int]) -> None:
    """Another owner's named lot is refused (OutOfScope); first-expiry picking skips it."""
    stock.receive(
        session, depot="B-DEP", item="WATER", qty=5, lot="A9", expires_on=LATE, owner="210381"
    )
    b_people = frozenset({counties["210382"]})
    with pytest.raises(OutOfScope):
        stock.issue(session, depot="B-DEP", item="WATER", qty=1, lot="A9", owners=b_people)
    with pytest.raises(InsufficientStock) as refused:
        stock.issue(session, depot="B-DEP", item="WATER", qty=141, owners=b_people)
    assert refused.value.available == 140
    stock.issue(session, depot="B-DEP", item="WATER", qty=140, owners=b_people)
    assert _on_hand(session, "B-DEP", "A9") == 5


def test_partly_approved_loan_moves_lenders_lots_that_stay_the_lenders(
    session: Session, counties: dict[str, int]
) -> None:
    """B grants 50 of 60 from B-DEP: first expiry first (40 of B2, 10 of B1) to A-DEP; the
    lots stay B's, so A's people cannot release them; the actors are recorded."""
    number = _ask(session)
    loan = aid.approve_loan(
        session, number, source="B-DEP", approved={"WATER": 50}, actor=Actor("wang", None)
    )
    assert (loan.status, loan.partial, loan.decided_by, loan.requested_by) == (
        "approved",
        True,
        "wang",
        "zhang",
    )
    assert loan.lines[0].lent == 50
    assert (_on_hand(session, "A-DEP", "B2"), _on_hand(session, "A-DEP", "B1")) == (40, 10)
    doc = session.scalars(select(Document).where(col(Document.number) == loan.document)).one()
    assert (doc.kind, doc.actor, doc.reference) == ("aid_loan", "wang", number)
    with pytest.raises(OutOfScope):
        stock.issue(
            session,
            depot="A-DEP",
            item="WATER",
            qty=1,
            lot="B1",
            owners=frozenset({counties["210381"]}),
        )
    with pytest.raises(DocumentState):
        reversal.reverse(session, doc.number)


def test_loan_approved_twice_moves_stock_once(session: Session, counties: dict[str, int]) -> None:
    """A second approval (or a refusal after approval) is refused and moves nothing."""
    number = _ask(session)
    aid.approve_loan(session, number, source="B-DEP", actor=Actor("wang", None))
    with pytest.raises(DocumentState):
        aid.approve_loan(session, number, source="B-DEP", actor=Actor("wang", None))
    with pytest.raises(DocumentState):
        aid.refuse_loan(session, number, reason="late", actor=Actor("wang", None))
    assert _on_hand(session, "A-DEP", "B2") + _on_hand(session, "A-DEP", "B1") == 60
    kinds = session.scalars(select(col(Document.kind)).where(col(Document.reference) == number))
    assert list(kinds) == ["aid_loan"]


def test_refused_loan_moves_nothing_and_keeps_the_reason(
    session: Session, counties: dict[str, int]
) -> None:
    number = _ask(session)
    loan = aid.refuse_loan(session, number, reason="库存需自用 needed here", actor=Actor("wang"))
    assert (loan.status, loan.refusal_reason) == ("refused", "库存需自用 needed here")
    assert _on_hand(session, "A-DEP", "B1") == 0
    with pytest.raises(DocumentState):
        aid.approve_loan(session, number, source="B-DEP", actor=Actor("wang"))


def test_return_then_settle_closes_the_loan(session: Session, counties: dict[str, int]) -> None:
    """A returns 30 to B-DEP, then settles the other 30 at cost: B2's 10 left at 3.00 and
    B1's 20 at 2.50 = 80.00; the settled goods become A's lot, which A's people release."""
    number = _ask(session)
    aid.approve_loan(session, number, source="B-DEP", actor=Actor("wang"))
    loan = aid.return_loan(session, number, quantities={"WATER": 30}, actor=Actor("zhang"))
    assert (loan.status, loan.lines[0].returned) == ("approved", 30)
    assert _on_hand(session, "B-DEP", "B2") == 30
    loan = aid.settle_loan(session, number, actor=Actor("zhang"))
    assert (loan.status, loan.lines[0].settled, loan.settled_amount) == (
        "closed",
        30,
        Decimal("80.00"),
    )
    assert _on_hand(session, "A-DEP", "B1") == 0
    assert _on_hand(session, "A-DEP", "B1/210381") == 20
    mine = session.scalars(select(Batch).where(col(Batch.lot) == "B1/210381")).one()
    assert mine.owner_id == counties["210381"]
    stock.issue(
        session,
        depot="A-DEP",
        item="WATER",
        qty=30,
        owners=frozenset({counties["210381"]}),
    )
    assert len(list(session.scalars(select(AidSettlement)))) == 2
    with pytest.raises(DocumentState):
        aid.return_loan(session, number, actor=Actor("zhang"))


def test_loan_requests_are_between_neighbours_by_their_people(
    session: Session, counties: dict[str, int]
) -> None:
    """C is no neighbour of A; B's people cannot ask on A's behalf, nor A's approve for B;
    more than asked is refused."""
    with pytest.raises(InvalidInput):
        aid.request_loan(
            session,
            borrower="210381",
            lender="210383",
            destination="A-DEP",
            lines=[("WATER", 1)],
            disaster="flood",
            needed_by=NEEDED,
            actor=Actor("zhang"),
        )
    with pytest.raises(OutOfScope):
        aid.request_loan(
            session,
            borrower="210381",
            lender="210382",
            destination="A-DEP",
            lines=[("WATER", 1)],
            disaster="flood",
            needed_by=NEEDED,
            actor=Actor("b-keeper", counties["210382"]),
        )
    number = _ask(session)
    with pytest.raises(OutOfScope):
        aid.approve_loan(
            session, number, source="B-DEP", actor=Actor("a-keeper", counties["210381"])
        )
    with pytest.raises(InvalidInput):
        aid.approve_loan(
            session, number, source="B-DEP", approved={"WATER": 61}, actor=Actor("wang")
        )
    with pytest.raises(InvalidInput):
        aid.approve_loan(session, number, source="A-DEP", actor=Actor("wang"))
