"""`relief stock receive --owner/--donor/--funding/--unit-cost`: what the HTTP receipt
accepts, on the lot it creates; a bad one is refused in one line and writes nothing."""

from decimal import Decimal

import pytest

from tests.cli.harness import Relief, query

RECEIVE = ("stock", "receive", "--depot", "CNTY", "--item", "TENT", "--qty", "5")
LOTS = "SELECT b.lot, j.code, b.donor, b.funding, b.unit_cost FROM batch b "
LOTS += "LEFT JOIN jurisdiction j ON j.id = b.owner_id ORDER BY b.lot"


@pytest.fixture
def county(ledger: Relief) -> Relief:
    """The ledger with county 210381 (owning CNTY) and county 210382 (owning nothing)."""
    for code in ("210381", "210382"):
        ledger.ok("jurisdictions", "add", code, f"county {code}", "--level", "county")
    ledger.ok("jurisdictions", "assign", "210381", "CNTY")
    return ledger


def test_receive_records_owner_donor_funding_and_unit_cost(county: Relief) -> None:
    """A named owner, a donor (a donation by default), and the depot's own by default."""
    county.post(*RECEIVE, "--lot", "T1", "--owner", "210382", "--unit-cost", "1250.5")
    county.post(*RECEIVE, "--lot", "T2", "--donor", "Red Cross 红十字会")
    county.post(*RECEIVE, "--lot", "T3", "--funding", "agreement")

    rows = [
        (*r[:4], None if r[4] is None else Decimal(str(r[4]))) for r in query(county.db_file, LOTS)
    ]
    assert rows == [
        ("T1", "210382", None, "fiscal", Decimal("1250.5")),
        ("T2", None, "Red Cross 红十字会", "donation", None),
        ("T3", "210381", None, "agreement", None),
    ]


@pytest.mark.parametrize(
    ("extra", "named"),
    [
        (["--owner", "999999"], "999999"),
        (["--owner", "210381", "--donor", "Red Cross"], "not both"),
        (["--funding", "loan"], "--funding"),
        (["--unit-cost", "-1"], "--unit-cost"),
        (["--unit-cost", "1.23456"], "--unit-cost"),
        (["--unit-cost", "cheap"], "--unit-cost"),
    ],
    ids=[
        "unknown-owner",
        "owner-and-donor",
        "funding",
        "negative-cost",
        "cost-digits",
        "cost-text",
    ],
)
def test_bad_receipt_option_is_one_line_exit_2_nothing_written(
    county: Relief, extra: list[str], named: str
) -> None:
    result = county(*RECEIVE, "--lot", "T1", *extra)

    assert result.exit_code == 2, (result.stdout, result.stderr)
    message = result.stderr.strip()
    assert "\n" not in message
    assert named in message
    assert "Traceback" not in message
    assert query(county.db_file, "SELECT count(*) FROM batch") == [(0,)]
    assert query(county.db_file, "SELECT count(*) FROM document") == [(0,)]
