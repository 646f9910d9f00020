"""`relief stock verify`: the audit that stored balances equal the movements."""

import sqlite3

from tests.cli.harness import Relief


def test_verify_passes_on_consistent_ledger(ledger: Relief) -> None:
    """After ordinary postings, verify exits 0 and says the ledger is consistent."""
    ledger.post(
        "stock", "receive", "--depot", "CNTY", "--item", "TENT", "--qty", "40", "--lot", "T1"
    )
    ledger.post(
        "stock", "transfer", "--from", "CNTY", "--to", "TWN", "--item", "TENT", "--qty", "15"
    )

    result = ledger("stock", "verify")

    assert result.exit_code == 0
    assert "ledger consistent" in result.stdout
    assert result.stderr == ""


def test_verify_passes_on_empty_ledger(relief: Relief) -> None:
    """A freshly upgraded ledger with nothing posted verifies clean."""
    result = relief("stock", "verify")

    assert result.exit_code == 0
    assert "ledger consistent" in result.stdout


def test_verify_reports_balance_tampered_with_in_sql(ledger: Relief) -> None:
    """A balance row edited behind the ledger's back makes verify exit 1 naming the row."""
    ledger.post(
        "stock", "receive", "--depot", "CNTY", "--item", "TENT", "--qty", "40", "--lot", "T1"
    )
    conn = sqlite3.connect(ledger.db_file)
    try:
        with conn:
            conn.execute(
                "UPDATE balance SET on_hand = on_hand + 1 "
                "WHERE location_id = (SELECT id FROM location WHERE code = 'CNTY')"
            )
    finally:
        conn.close()

    result = ledger("stock", "verify")

    assert result.exit_code == 1
    assert "CNTY / TENT / T1: balance on hand 41, movements sum to 40" in result.stderr
    assert "1 problem(s) found" in result.stderr
