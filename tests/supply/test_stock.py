"""Keepers' operations on the ledger: receipts, issues, transfers, stocktakes, reversals."""

from datetime import date

import pytest
from sqlmodel import Session

from supply import ledger
from supply.errors import (
    DocumentState,
    ExpiredBatch,
    InsufficientStock,
    InvalidInput,
    NotFound,
    UnbalancedDocument,
)
from supply.ledger import DocumentDraft, Line
from supply.models import DocumentKind, LocationKind, Tier
from supply.services import reversal, stock
from supply.services.balances import balances
from supply.services.lookup import batch_by_lot, item_by_code, virtual
from supply.services.stock import Count, Meta
from supply.verify import verify
from tests.factories import TODAY, make_depot, make_item, receive


@pytest.fixture
def world(session: Session) -> Session:
    make_item(session, "WATER")
    make_item(session, "TENT", shelf_life_days=None, rotation_lead_days=0)
    make_depot(session, "CITY", Tier.CITY)
    make_depot(session, "CTY", Tier.COUNTY, parent="CITY")
    make_depot(session, "TWN", Tier.TOWNSHIP, parent="CTY")
    return session


def on_hand(session: Session, depot: str, item: str = "WATER") -> dict[str, int]:
    return {r.lot: r.on_hand for r in balances(session, depot=depot, item=item, today=TODAY)}


def test_receive_adds_stock_and_balances_document(world: Session) -> None:
    """A receipt puts units on hand at the depot and its lines sum to zero."""
    posted = receive(world, "CTY", "WATER", 100, "W1")
    assert posted.number.startswith("RC-")
    assert on_hand(world, "CTY") == {"W1": 100}
    assert verify(world).ok


def test_receive_derives_expiry_from_production_and_shelf_life(world: Session) -> None:
    """Without an expiry, production date + shelf life gives it."""
    stock.receive(
        world, depot="CTY", item="WATER", qty=5, lot="W2", produced_on=date(2026, 1, 1), today=TODAY
    )
    batch = batch_by_lot(world, item_by_code(world, "WATER"), "W2")
    assert batch.expires_on == date(2027, 1, 1)


def test_receive_refuses_perishable_without_dates(world: Session) -> None:
    """An item with a shelf life needs an expiry or production date."""
    with pytest.raises(InvalidInput) as err:
        stock.receive(world, depot="CTY", item="WATER", qty=5, lot="W3", today=TODAY)
    assert err.value.field == "expires_on"


def test_receive_refuses_expired_batch(world: Session) -> None:
    """Goods already past expiry are not taken into stock."""
    with pytest.raises(ExpiredBatch):
        receive(world, "CTY", "WATER", 5, "OLD", expires_on=date(2026, 5, 1))
    assert on_hand(world, "CTY") == {}


def test_receive_refuses_same_lot_with_other_expiry(world: Session) -> None:
    """A lot has one expiry; a different one means a different lot."""
    receive(world, "CTY", "WATER", 5, "W1")
    with pytest.raises(InvalidInput):
        receive(world, "CTY", "WATER", 5, "W1", expires_on=date(2027, 2, 2))


def test_unknown_codes_are_named(world: Session) -> None:
    """Unknown depot and item codes raise NotFound naming the code."""
    with pytest.raises(NotFound, match="NOPE"):
        receive(world, "NOPE", "WATER", 1, "W1")
    with pytest.raises(NotFound, match="SOAP"):
        receive(world, "CTY", "SOAP", 1, "W1")


@pytest.mark.parametrize("qty", [0, -3])
def test_receive_refuses_non_positive_qty(world: Session, qty: int) -> None:
    """Quantities are positive whole units."""
    with pytest.raises(InvalidInput) as err:
        receive(world, "CTY", "WATER", qty, "W1")
    assert err.value.field == "qty"


def test_issue_picks_first_expiry_first_and_skips_expired(world: Session) -> None:
    """FEFO: the lot expiring soonest goes first; an expired lot is never picked."""
    receive(world, "CTY", "WATER", 10, "LATE", expires_on=date(2027, 6, 1))
    receive(world, "CTY", "WATER", 10, "SOON", expires_on=date(2026, 9, 1))
    receive(world, "CTY", "WATER", 10, "GONE", expires_on=date(2026, 7, 1))
    stock.issue(world, depot="CTY", item="WATER", qty=15, today=date(2026, 7, 2))
    left = on_hand(world, "CTY")
    assert left == {"GONE": 10, "LATE": 5}


def test_issue_refuses_over_issue_and_changes_nothing(world: Session) -> None:
    """Asking for more than is available names depot, item, lot, available, requested."""
    receive(world, "CTY", "WATER", 10, "W1")
    with pytest.raises(InsufficientStock) as err:
        stock.issue(world, depot="CTY", item="WATER", qty=11, lot="W1", today=TODAY)
    e = err.value
    assert (e.depot, e.item, e.lot, e.available, e.requested) == ("CTY", "WATER", "W1", 10, 11)
    assert "available 10" in str(e)
    assert "requested 11" in str(e)
    assert on_hand(world, "CTY") == {"W1": 10}


def test_issue_without_lot_counts_only_usable_stock(world: Session) -> None:
    """Expired units do not count as available to a FEFO issue."""
    receive(world, "CTY", "WATER", 10, "GONE", expires_on=date(2026, 7, 1))
    receive(world, "CTY", "WATER", 4, "OK", expires_on=date(2027, 7, 1))
    with pytest.raises(InsufficientStock) as err:
        stock.issue(world, depot="CTY", item="WATER", qty=5, today=date(2026, 8, 1))
    assert err.value.available == 4
    assert err.value.lot is None


def test_issue_of_expired_lot_needs_explicit_permission(world: Session) -> None:
    """A named expired lot is refused unless allow_expired is set."""
    receive(world, "CTY", "WATER", 10, "GONE", expires_on=date(2026, 7, 1))
    with pytest.raises(ExpiredBatch):
        stock.issue(world, depot="CTY", item="WATER", qty=1, lot="GONE", today=date(2026, 8, 1))
    stock.issue(
        world,
        depot="CTY",
        item="WATER",
        qty=1,
        lot="GONE",
        allow_expired=True,
        today=date(2026, 8, 1),
    )
    assert on_hand(world, "CTY") == {"GONE": 9}


def test_batch_usable_on_its_expiry_day(world: Session) -> None:
    """A batch is usable through its expiry date."""
    receive(world, "CTY", "WATER", 3, "EDGE", expires_on=date(2026, 7, 1))
    stock.issue(world, depot="CTY", item="WATER", qty=1, today=date(2026, 7, 1))
    assert on_hand(world, "CTY") == {"EDGE": 2}


def test_transfer_moves_stock_at_once(world: Session) -> None:
    """A plain transfer takes from one depot and adds to the other in one document."""
    receive(world, "CTY", "WATER", 10, "W1")
    stock.transfer(world, source="CTY", destination="TWN", item="WATER", qty=4, today=TODAY)
    assert on_hand(world, "CTY") == {"W1": 6}
    assert on_hand(world, "TWN") == {"W1": 4}


def test_transfer_in_transit_lands_only_on_arrival_once(world: Session) -> None:
    """In-transit goods are at neither depot until `arrive`; arriving twice is refused."""
    receive(world, "CTY", "WATER", 10, "W1")
    sent = stock.transfer(
        world, source="CTY", destination="TWN", item="WATER", qty=4, in_transit=True, today=TODAY
    )
    assert on_hand(world, "CTY") == {"W1": 6}
    assert on_hand(world, "TWN") == {}
    stock.arrive(world, sent.number)
    assert on_hand(world, "TWN") == {"W1": 4}
    with pytest.raises(DocumentState):
        stock.arrive(world, sent.number)
    with pytest.raises(DocumentState):
        reversal.reverse(world, sent.number)
    assert verify(world).ok


def test_transfer_to_same_depot_is_refused(world: Session) -> None:
    """Source and destination must differ."""
    receive(world, "CTY", "WATER", 10, "W1")
    with pytest.raises(InvalidInput):
        stock.transfer(world, source="CTY", destination="CTY", item="WATER", qty=1, today=TODAY)


def test_stocktake_posts_differences_only(world: Session) -> None:
    """Counted quantities replace the ledger's; matching lots produce no lines."""
    receive(world, "CTY", "WATER", 10, "W1")
    receive(world, "CTY", "WATER", 5, "W2")
    posted = stock.stocktake(
        world, depot="CTY", counts=[Count("WATER", "W1", 8), Count("WATER", "W2", 5)]
    )
    assert posted is not None
    assert on_hand(world, "CTY") == {"W1": 8, "W2": 5}
    assert len(ledger.lines_of(world, posted.id)) == 2
    assert stock.stocktake(world, depot="CTY", counts=[Count("WATER", "W1", 8)]) is None


def test_stocktake_refuses_count_below_reserved(world: Session) -> None:
    """A count below what a plan holds must wait for the reservation to be released."""
    from supply.services.reservations import reserve

    receive(world, "CTY", "WATER", 10, "W1")
    reserve(world, depot="CTY", item="WATER", qty=6, lot="W1", today=TODAY)
    with pytest.raises(Exception, match="reserved"):
        stock.stocktake(world, depot="CTY", counts=[Count("WATER", "W1", 5)])
    assert on_hand(world, "CTY") == {"W1": 10}


def test_reverse_restores_balances_and_only_once(world: Session) -> None:
    """A reversal mirrors the original; the original is marked reversed and can't be again."""
    receive(world, "CTY", "WATER", 10, "W1")
    issued = stock.issue(world, depot="CTY", item="WATER", qty=3, today=TODAY)
    rev = reversal.reverse(world, issued.number, meta=Meta(note="wrong depot"))
    assert rev.number.startswith("RV-")
    assert on_hand(world, "CTY") == {"W1": 10}
    with pytest.raises(DocumentState):
        reversal.reverse(world, issued.number)
    with pytest.raises(DocumentState):
        reversal.reverse(world, rev.number)
    assert verify(world).ok


def test_reverse_refused_when_stock_has_moved_on(world: Session) -> None:
    """Undoing a receipt whose goods were issued would make stock negative: refused."""
    got = receive(world, "CTY", "WATER", 10, "W1")
    stock.issue(world, depot="CTY", item="WATER", qty=8, today=TODAY)
    with pytest.raises(InsufficientStock):
        reversal.reverse(world, got.number)
    assert on_hand(world, "CTY") == {"W1": 2}


def test_idempotency_key_posts_once(world: Session) -> None:
    """The same key twice yields the first document, and stock moves once."""
    meta = Meta(idempotency_key="scan-42")
    first = stock.receive(
        world,
        depot="CTY",
        item="WATER",
        qty=10,
        lot="W1",
        expires_on=date(2027, 1, 1),
        meta=meta,
        today=TODAY,
    )
    again = stock.receive(
        world,
        depot="CTY",
        item="WATER",
        qty=10,
        lot="W1",
        expires_on=date(2027, 1, 1),
        meta=meta,
        today=TODAY,
    )
    assert again.replayed
    assert again.number == first.number
    assert on_hand(world, "CTY") == {"W1": 10}


def test_ledger_refuses_unbalanced_document(world: Session) -> None:
    """Lines of an item and batch must sum to zero."""
    receive(world, "CTY", "WATER", 10, "W1")
    item = item_by_code(world, "WATER")
    batch = batch_by_lot(world, item, "W1")
    depot = balances(world, depot="CTY", today=TODAY)
    out = virtual(world, LocationKind.DISTRIBUTED)
    assert depot
    from supply.services.lookup import depot_by_code

    cty = depot_by_code(world, "CTY")
    with pytest.raises(UnbalancedDocument):
        ledger.post(
            world,
            DocumentDraft(
                DocumentKind.ISSUE,
                [
                    Line(cty.id, item.id, batch.id, -3),
                    Line(out.id, item.id, batch.id, 2),
                ],
                actor="t",
            ),
        )
    assert on_hand(world, "CTY") == {"W1": 10}


def test_post_many_refuses_intermediate_overdraft(world: Session) -> None:
    """A sequence that dips below zero midway is refused whole, even if it ends positive."""
    from supply.services.lookup import depot_by_code

    item = item_by_code(world, "WATER")
    receive(world, "CTY", "WATER", 1, "W1")
    batch = batch_by_lot(world, item, "W1")
    cty = depot_by_code(world, "CTY")
    sup = virtual(world, LocationKind.SUPPLIER)
    out = virtual(world, LocationKind.DISTRIBUTED)
    take = DocumentDraft(
        DocumentKind.ISSUE,
        [Line(cty.id, item.id, batch.id, -5), Line(out.id, item.id, batch.id, 5)],
        actor="t",
    )
    give = DocumentDraft(
        DocumentKind.RECEIPT,
        [Line(sup.id, item.id, batch.id, -10), Line(cty.id, item.id, batch.id, 10)],
        actor="t",
    )
    with pytest.raises(InsufficientStock) as err:
        ledger.post_many(world, [take, give])
    assert err.value.index == 0
    assert on_hand(world, "CTY") == {"W1": 1}


def test_balances_subtree_and_expiry_window(world: Session) -> None:
    """Subtree covers a depot and all below it; the expiry filter is inclusive."""
    receive(world, "CITY", "WATER", 1, "A", expires_on=date(2026, 8, 1))
    receive(world, "CTY", "WATER", 2, "B", expires_on=date(2026, 9, 1))
    receive(world, "TWN", "WATER", 3, "C", expires_on=date(2027, 1, 1))
    rows = balances(world, depot="CTY", subtree=True, today=TODAY)
    assert {(r.depot, r.lot) for r in rows} == {("CTY", "B"), ("TWN", "C")}
    rows = balances(world, depot="CITY", subtree=True, expires_before=date(2026, 9, 1), today=TODAY)
    assert {r.lot for r in rows} == {"A", "B"}
    water = item_by_code(world, "WATER")
    assert all(
        r.rotation_due == date.fromordinal(r.expires_on.toordinal() - water.rotation_lead_days)
        for r in rows
        if r.expires_on
    )


def test_idempotency_key_reused_for_another_kind_is_refused(world: Session) -> None:
    """A key names one operation: reusing it for a different kind of document is an error,
    not a silent replay of the first."""
    from supply.errors import Conflict

    meta = Meta(idempotency_key="scan-43")
    receive_first = stock.receive(
        world,
        depot="CTY",
        item="WATER",
        qty=10,
        lot="W1",
        expires_on=date(2027, 1, 1),
        meta=meta,
        today=TODAY,
    )
    with pytest.raises(Conflict, match=receive_first.number):
        stock.issue(world, depot="CTY", item="WATER", qty=1, meta=meta, today=TODAY)
    assert on_hand(world, "CTY") == {"W1": 10}


def test_balance_totals_sum_subtree_and_exclude_expired_from_available(world: Session) -> None:
    """Per-item totals add up every depot below; expired units are on hand, not available.
    `lots` counts lot holdings (lot OK at CTY and at TWN is two), as the per-depot item
    totals the ledger keeps can add them up without reading every balance."""
    from supply.services.balances import balance_totals
    from supply.services.reservations import reserve

    receive(world, "CTY", "WATER", 10, "OK", expires_on=date(2027, 1, 1))
    receive(world, "TWN", "WATER", 5, "OK", expires_on=date(2027, 1, 1))
    receive(world, "TWN", "WATER", 4, "OLD", expires_on=date(2026, 7, 1))
    reserve(world, depot="CTY", item="WATER", qty=3, today=TODAY)
    (total,) = balance_totals(world, depot="CTY", subtree=True, today=date(2026, 8, 1))
    assert (total.depots, total.lots) == (2, 3)
    assert (total.on_hand, total.reserved, total.expired, total.available) == (19, 3, 4, 12)


def test_idempotency_key_reused_with_other_quantity_is_refused(world: Session) -> None:
    """A key seen again with another quantity is a correction, not a replay: refused, naming
    the document and the field, instead of silently returning the first document."""
    from supply.errors import ReplayMismatch

    meta = Meta(idempotency_key="scan-44")
    first = stock.receive(
        world,
        depot="CTY",
        item="WATER",
        qty=10,
        lot="W1",
        expires_on=date(2027, 1, 1),
        meta=meta,
        today=TODAY,
    )
    with pytest.raises(ReplayMismatch, match=first.number) as err:
        stock.receive(
            world,
            depot="CTY",
            item="WATER",
            qty=11,
            lot="W1",
            expires_on=date(2027, 1, 1),
            meta=meta,
            today=TODAY,
        )
    assert err.value.fields == ["qty"]
    assert on_hand(world, "CTY") == {"W1": 10}


def test_moved_depot_takes_its_subtree_and_totals_along(world: Session) -> None:
    """Moving a county (and its township) under another city updates the closure table:
    subtree totals follow the move, and verify checks the tree and the item totals."""
    from supply.services.balances import balance_totals

    make_depot(world, "CITY2", Tier.CITY)
    receive(world, "TWN", "WATER", 5, "A", expires_on=date(2027, 1, 1))
    receive(world, "CTY", "WATER", 2, "B", expires_on=date(2027, 1, 1))
    assert [t.on_hand for t in balance_totals(world, depot="CITY", subtree=True)] == [7]

    make_depot(world, "CTY", Tier.COUNTY, parent="CITY2")

    assert balance_totals(world, depot="CITY", subtree=True) == []
    (moved,) = balance_totals(world, depot="CITY2", subtree=True)
    assert (moved.depots, moved.on_hand) == (2, 7)
    assert verify(world).ok


def test_verify_reports_item_totals_out_of_step(world: Session) -> None:
    """A per-depot item total that disagrees with its balances is a verify problem."""
    from sqlalchemy import update

    from supply.models import DepotItemTotal

    receive(world, "CTY", "WATER", 5, "A", expires_on=date(2027, 1, 1))
    world.execute(update(DepotItemTotal).values(on_hand=DepotItemTotal.on_hand + 1))

    report = verify(world)

    assert any("item totals" in p for p in report.problems), report.problems


def test_item_with_unknown_category_is_refused_until_added(session: Session) -> None:
    """A category outside the catalogue's list is refused, naming the list; once the bureau
    adds it, the item is accepted (free-text categories were accepted before)."""
    from supply.models import ItemCreate
    from supply.services.catalogue import add_category, upsert_items

    tablets = ItemCreate(
        code="TABLETS", name_zh="净水片", name_en="Purification tablets",
        category="water_purification", unit="box", unit_weight_kg=0.1,
        unit_volume_m3=0.001, shelf_life_days=1000, rotation_lead_days=60,
    )  # fmt: skip
    with pytest.raises(InvalidInput, match="'water_purification' is not a catalogue category"):
        upsert_items(session, [tablets])

    add_category(session, code="water_purification", name_zh="净水", name_en="Purification")

    assert upsert_items(session, [tablets]) == (1, 0)


def test_rotation_lead_not_below_shelf_life_is_refused(session: Session) -> None:
    """A lot would be due for rotation the day it arrives: refused, naming the field."""
    with pytest.raises(InvalidInput, match="rotation_lead_days: 400 days is not below"):
        make_item(session, "BISCUIT", shelf_life_days=365, rotation_lead_days=400)
