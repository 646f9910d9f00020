"""`relief jurisdictions neighbours|share` and `relief aid`: a loan between two counties
from the command line; refusals in one line with exit 2."""

import json

from tests.cli.harness import Relief


def _counties(ledger: Relief) -> None:
    """County A (210381) owns depot CNTY, county B (210382) owns TWN; they border each
    other; B holds 20 TENT in lot T1."""
    for code, name in (("210381", "甲县"), ("210382", "乙县")):
        ledger.ok("jurisdictions", "add", code, name, "--level", "county")
    ledger.ok("jurisdictions", "assign", "210381", "CNTY")
    ledger.ok("jurisdictions", "assign", "210382", "TWN")
    ledger.ok("jurisdictions", "neighbours", "210381", "210382")
    ledger.ok("stock", "receive", "--depot", "TWN", "--item", "TENT", "--qty", "20", "--lot", "T1")


def test_neighbours_and_sharing_are_listed_both_ways(ledger: Relief) -> None:
    """A borders B is B borders A; `share` sets the flag and `--off` clears it."""
    _counties(ledger)
    ledger.ok("jurisdictions", "share", "210382")
    rows = {r["code"]: r for r in json.loads(ledger.ok("jurisdictions", "list", "--json").stdout)}
    assert rows["210381"]["neighbours"] == ["210382"]
    assert rows["210382"]["neighbours"] == ["210381"]
    assert (rows["210381"]["shares_with_neighbours"], rows["210382"]["shares_with_neighbours"]) == (
        False,
        True,
    )
    ledger.ok("jurisdictions", "share", "210382", "--off")
    rows = {r["code"]: r for r in json.loads(ledger.ok("jurisdictions", "list", "--json").stdout)}
    assert rows["210382"]["shares_with_neighbours"] is False
    own = ledger("jurisdictions", "neighbours", "210381", "210381")
    assert own.exit_code == 2
    assert "own neighbour" in own.stderr


def test_loan_request_partial_approval_and_return(ledger: Relief) -> None:
    """A asks 5 tents, B grants 4 from TWN, A returns 1: CNTY holds 3 of B's lot T1,
    TWN 17; settling at cost is refused (exit 2) as T1 has no unit cost."""
    _counties(ledger)
    asked = ledger.ok(
        "aid",
        "request",
        "--from",
        "210382",
        "--to",
        "210381",
        "--depot",
        "CNTY",
        "--item",
        "TENT=5",
        "--disaster",
        "洪水",
        "--needed-by",
        "2026-12-10",
    )
    assert "LN-000001 requested" in asked.stdout
    ledger.ok("aid", "approve", "LN-000001", "--source", "TWN", "--qty", "TENT=4")
    ledger.ok("aid", "return", "LN-000001", "--qty", "TENT=1")
    on_hand = ledger.on_hand()
    assert (on_hand[("CNTY", "TENT", "T1")], on_hand[("TWN", "TENT", "T1")]) == (3, 17)
    settle = ledger("aid", "settle", "LN-000001")
    assert settle.exit_code == 2
    assert "no unit cost" in settle.stderr
    twice = ledger("aid", "approve", "LN-000001", "--source", "TWN")
    assert twice.exit_code == 2
    assert "already approved" in twice.stderr
    listed = json.loads(ledger.ok("aid", "list", "--json", "--status", "approved").stdout)
    assert [(v["number"], v["lines"][0]["lent"], v["lines"][0]["returned"]) for v in listed] == [
        ("LN-000001", 4, 1)
    ]


def test_aid_refuses_malformed_quantities_and_unknown_status(ledger: Relief) -> None:
    """`--item TENT` without a quantity and `--status lost` are one-line refusals."""
    _counties(ledger)
    bad = ledger(
        "aid",
        "request",
        "--from",
        "210382",
        "--to",
        "210381",
        "--depot",
        "CNTY",
        "--item",
        "TENT",
        "--disaster",
        "x",
        "--needed-by",
        "2026-12-10",
    )
    assert bad.exit_code == 2
    assert "ITEM=QTY" in bad.stderr
    status = ledger("aid", "list", "--status", "lost")
    assert status.exit_code == 2
    assert "unknown status" in status.stderr
