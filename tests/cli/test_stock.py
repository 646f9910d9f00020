"""`relief stock` day-to-day commands: receive, issue, transfer, arrive, count, reverse."""

from pathlib import Path

import pytest

from tests.cli.harness import Relief, movements_csv, write_csv

WATER_EXPIRY = "2099-06-30"
#: WATER has a 60-day rotation lead: 2099-06-30 less 60 days.
WATER_ROTATION = "2099-05-01"


def receive(relief: Relief, depot: str, item: str, qty: int, lot: str, *extra: str) -> str:
    args = ["stock", "receive", "--depot", depot, "--item", item]
    return relief.post(*args, "--qty", str(qty), "--lot", lot, *extra)


def test_balance_json_lists_received_stock_per_depot_item_lot(ledger: Relief) -> None:
    """After receipts, `balance --json` gives one object per depot, item and lot, with dates."""
    receive(ledger, "TWN", "TENT", 7, "T1")
    receive(ledger, "CNTY", "WATER", 120, "W1", "--expires", WATER_EXPIRY)

    rows = ledger.balances()

    keys = ("depot", "item", "lot", "on_hand", "reserved", "available")
    keys += ("expires_on", "rotation_due")
    assert isinstance(rows, list)
    assert [{k: r[k] for k in keys} for r in rows] == [
        {
            "depot": "CNTY",
            "item": "WATER",
            "lot": "W1",
            "on_hand": 120,
            "reserved": 0,
            "available": 120,
            "expires_on": WATER_EXPIRY,
            "rotation_due": WATER_ROTATION,
        },
        {
            "depot": "TWN",
            "item": "TENT",
            "lot": "T1",
            "on_hand": 7,
            "reserved": 0,
            "available": 7,
            "expires_on": None,
            "rotation_due": None,
        },
    ]


def test_receive_adds_to_balance_when_lot_exists(ledger: Relief) -> None:
    """A second receipt of the same lot at the same depot adds to its balance row."""
    receive(ledger, "CNTY", "WATER", 120, "W1", "--expires", WATER_EXPIRY)
    receive(ledger, "CNTY", "WATER", 30, "W1")

    assert ledger.on_hand() == {("CNTY", "WATER", "W1"): 150}


@pytest.mark.parametrize(
    ("lot_args", "lot_text"),
    [(["--lot", "W1"], "lot W1"), ([], "all usable lots")],
    ids=["named-lot", "fefo"],
)
def test_issue_refused_when_more_than_available(
    ledger: Relief, lot_args: list[str], lot_text: str
) -> None:
    """An over-issue exits 2 with one stderr line naming depot, item, lot and both numbers."""
    receive(ledger, "CNTY", "WATER", 50, "W1", "--expires", WATER_EXPIRY)
    before = ledger.balances()

    result = ledger(
        "stock", "issue", "--depot", "CNTY", "--item", "WATER", "--qty", "80", *lot_args
    )

    assert result.exit_code == 2
    message = result.stderr.strip()
    assert "\n" not in message
    assert "depot CNTY" in message
    assert "item WATER" in message
    assert lot_text in message
    assert "available 50" in message
    assert "requested 80" in message
    assert ledger.balances() == before
    assert ledger("stock", "verify").exit_code == 0


def test_issue_without_lot_takes_first_expiry_first(ledger: Relief) -> None:
    """With no --lot, an issue empties the earliest-expiring lot before touching the next."""
    receive(ledger, "CNTY", "WATER", 30, "LATE", "--expires", "2099-12-31")
    receive(ledger, "CNTY", "WATER", 20, "EARLY", "--expires", "2098-12-31")

    ledger.post("stock", "issue", "--depot", "CNTY", "--item", "WATER", "--qty", "25")

    assert ledger.on_hand() == {("CNTY", "WATER", "LATE"): 25}


def test_issue_takes_named_lot_when_lot_given(ledger: Relief) -> None:
    """--lot overrides first-expiry-first-out: the named, later-expiring lot is issued."""
    receive(ledger, "CNTY", "WATER", 30, "LATE", "--expires", "2099-12-31")
    receive(ledger, "CNTY", "WATER", 20, "EARLY", "--expires", "2098-12-31")

    ledger.post(
        "stock", "issue", "--depot", "CNTY", "--item", "WATER", "--qty", "25", "--lot", "LATE"
    )

    assert ledger.on_hand() == {("CNTY", "WATER", "EARLY"): 20, ("CNTY", "WATER", "LATE"): 5}


@pytest.fixture
def expired_lot(ledger: Relief, tmp_path: Path) -> Relief:
    """CNTY holds 12 of WATER lot OLD (expired 2020-06-30) and 40 of lot NEW (2099).

    `stock receive` refuses expired lots, so OLD comes in through an import of a receipt
    dated while it was still good.
    """
    path = movements_csv(
        tmp_path / "old.csv",
        ["RCV-OLD,2020-01-05T09:00:00+08:00,receipt,CNTY,WATER,OLD,12,2020-06-30,,"],
    )
    ledger.ok("stock", "import", str(path))
    receive(ledger, "CNTY", "WATER", 40, "NEW", "--expires", WATER_EXPIRY)
    return ledger


def test_issue_refuses_expired_lot(expired_lot: Relief) -> None:
    """Issuing a named expired lot exits 2 saying it expired, and changes nothing."""
    before = expired_lot.balances()

    result = expired_lot(
        "stock", "issue", "--depot", "CNTY", "--item", "WATER", "--qty", "5", "--lot", "OLD"
    )

    assert result.exit_code == 2
    assert "OLD" in result.stderr
    assert "expired on 2020-06-30" in result.stderr
    assert expired_lot.balances() == before


def test_issue_takes_expired_lot_with_allow_expired(expired_lot: Relief) -> None:
    """--allow-expired lets a keeper issue a named expired lot."""
    expired_lot.post(
        "stock",
        "issue",
        "--depot",
        "CNTY",
        "--item",
        "WATER",
        "--qty",
        "5",
        "--lot",
        "OLD",
        "--allow-expired",
    )

    assert expired_lot.on_hand() == {("CNTY", "WATER", "OLD"): 7, ("CNTY", "WATER", "NEW"): 40}


def test_issue_without_lot_skips_expired_lot(expired_lot: Relief) -> None:
    """First-expiry-first-out never picks an expired lot, even though it expires first."""
    expired_lot.post("stock", "issue", "--depot", "CNTY", "--item", "WATER", "--qty", "10")

    assert expired_lot.on_hand() == {("CNTY", "WATER", "OLD"): 12, ("CNTY", "WATER", "NEW"): 30}


def test_transfer_moves_stock_between_depots_at_once(ledger: Relief) -> None:
    """A plain transfer takes stock out of the source and puts it into the destination."""
    receive(ledger, "CNTY", "TENT", 40, "T1")

    number = ledger.post(
        "stock", "transfer", "--from", "CNTY", "--to", "TWN", "--item", "TENT", "--qty", "15"
    )

    assert number.startswith("TR-")
    assert ledger.on_hand() == {("CNTY", "TENT", "T1"): 25, ("TWN", "TENT", "T1"): 15}


def test_transfer_in_transit_reaches_destination_only_on_arrive(ledger: Relief) -> None:
    """--in-transit takes stock out at once; it shows at the destination only after arrive."""
    receive(ledger, "CNTY", "TENT", 40, "T1")

    dispatch = ledger.post(
        "stock",
        "transfer",
        "--from",
        "CNTY",
        "--to",
        "TWN",
        "--item",
        "TENT",
        "--qty",
        "15",
        "--in-transit",
    )
    on_the_road = ledger.on_hand()
    arrival = ledger.post("stock", "arrive", dispatch)

    assert on_the_road == {("CNTY", "TENT", "T1"): 25}
    assert arrival != dispatch
    assert ledger.on_hand() == {("CNTY", "TENT", "T1"): 25, ("TWN", "TENT", "T1"): 15}
    assert ledger("stock", "verify").exit_code == 0


def test_arrive_refused_when_already_arrived(ledger: Relief) -> None:
    """A second arrive of the same dispatch exits 2 and lands nothing more."""
    receive(ledger, "CNTY", "TENT", 40, "T1")
    dispatch = ledger.post(
        "stock",
        "transfer",
        "--from",
        "CNTY",
        "--to",
        "TWN",
        "--item",
        "TENT",
        "--qty",
        "15",
        "--in-transit",
    )
    ledger.post("stock", "arrive", dispatch)

    again = ledger("stock", "arrive", dispatch)

    assert again.exit_code == 2
    assert dispatch in again.stderr
    assert "already arrived" in again.stderr
    assert ledger.on_hand() == {("CNTY", "TENT", "T1"): 25, ("TWN", "TENT", "T1"): 15}


def test_arrive_refused_for_immediate_transfer(ledger: Relief) -> None:
    """Only an in-transit dispatch can arrive; an immediate transfer exits 2."""
    receive(ledger, "CNTY", "TENT", 40, "T1")
    number = ledger.post(
        "stock", "transfer", "--from", "CNTY", "--to", "TWN", "--item", "TENT", "--qty", "15"
    )

    result = ledger("stock", "arrive", number)

    assert result.exit_code == 2
    assert number in result.stderr
    assert ledger.on_hand() == {("CNTY", "TENT", "T1"): 25, ("TWN", "TENT", "T1"): 15}


@pytest.fixture
def counted(ledger: Relief, tmp_path: Path) -> tuple[Relief, str]:
    """CNTY received 100 WATER W1 and 40 TENT T1, then a stocktake counted 97 and 42."""
    receive(ledger, "CNTY", "WATER", 100, "W1", "--expires", WATER_EXPIRY)
    receive(ledger, "CNTY", "TENT", 40, "T1")
    counts = write_csv(tmp_path / "count.csv", "item,lot,counted\nWATER,W1,97\nTENT,T1,42\n")
    number = ledger.post("stock", "count", str(counts), "--depot", "CNTY")
    return ledger, number


def test_count_sets_on_hand_to_counted(counted: tuple[Relief, str]) -> None:
    """A stocktake replaces on_hand with the counted figure for every lot listed."""
    ledger, number = counted

    assert number.startswith("ST-")
    assert ledger.on_hand() == {("CNTY", "TENT", "T1"): 42, ("CNTY", "WATER", "W1"): 97}
    assert ledger("stock", "verify").exit_code == 0


def test_count_posts_nothing_when_counts_match(counted: tuple[Relief, str], tmp_path: Path) -> None:
    """Counting what the ledger already holds posts no document."""
    ledger, _ = counted
    same = write_csv(tmp_path / "same.csv", "item,lot,counted\nWATER,W1,97\n")

    result = ledger.ok("stock", "count", str(same), "--depot", "CNTY")

    assert "nothing posted" in result.stdout
    assert ledger.on_hand() == {("CNTY", "TENT", "T1"): 42, ("CNTY", "WATER", "W1"): 97}


def test_reverse_restores_balances_before_stocktake(counted: tuple[Relief, str]) -> None:
    """Reversing a stocktake puts every balance back to what it was before the count."""
    ledger, number = counted

    reversal = ledger.post("stock", "reverse", number)

    assert reversal.startswith("RV-")
    assert ledger.on_hand() == {("CNTY", "TENT", "T1"): 40, ("CNTY", "WATER", "W1"): 100}
    assert ledger("stock", "verify").exit_code == 0


def test_reverse_refused_when_already_reversed(counted: tuple[Relief, str]) -> None:
    """A document can be reversed once; the second reverse exits 2 and changes nothing."""
    ledger, number = counted
    ledger.post("stock", "reverse", number)

    again = ledger("stock", "reverse", number)

    assert again.exit_code == 2
    assert number in again.stderr
    assert ledger.on_hand() == {("CNTY", "TENT", "T1"): 40, ("CNTY", "WATER", "W1"): 100}


def test_reverse_restores_stock_after_issue(ledger: Relief) -> None:
    """Reversing an issue returns the issued units to the lot they left."""
    receive(ledger, "CNTY", "WATER", 50, "W1", "--expires", WATER_EXPIRY)
    issue = ledger.post("stock", "issue", "--depot", "CNTY", "--item", "WATER", "--qty", "20")

    ledger.post("stock", "reverse", issue)

    assert ledger.on_hand() == {("CNTY", "WATER", "W1"): 50}


def test_reverse_refused_for_unknown_document(ledger: Relief) -> None:
    """Reversing a number that was never posted exits 2 naming it."""
    result = ledger("stock", "reverse", "RC-999999")

    assert result.exit_code == 2
    assert "RC-999999" in result.stderr


def test_receive_with_same_key_posts_once(ledger: Relief) -> None:
    """Repeating a receipt with the same --key reports the first document and adds nothing."""
    args = ("--expires", WATER_EXPIRY, "--key", "truck-17")
    first = receive(ledger, "CNTY", "WATER", 10, "W1", *args)

    again = ledger.ok(
        "stock",
        "receive",
        "--depot",
        "CNTY",
        "--item",
        "WATER",
        "--qty",
        "10",
        "--lot",
        "W1",
        *args,
    )

    assert f"already posted as {first}" in again.stdout
    assert ledger.on_hand() == {("CNTY", "WATER", "W1"): 10}


def test_receive_with_different_keys_posts_twice(ledger: Relief) -> None:
    """Two receipts with different keys are two documents: the key alone decides replay."""
    receive(ledger, "CNTY", "WATER", 10, "W1", "--expires", WATER_EXPIRY, "--key", "truck-17")
    receive(ledger, "CNTY", "WATER", 10, "W1", "--key", "truck-18")

    assert ledger.on_hand() == {("CNTY", "WATER", "W1"): 20}
