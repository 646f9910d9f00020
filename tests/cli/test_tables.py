"""Tables never cut a code, a lot or a date, in a pipe (CliRunner is one) or a terminal."""

from pathlib import Path

from tests.cli.harness import Relief, write_csv

LONG_DEPOT = "HC-COUNTY-XILIU-TOWNSHIP-RESERVE-POINT-07"
LONG_LOT = "W2611A-2026-11-01-HAICHENG-LOT-0001"


def test_balance_table_prints_whole_codes_lots_and_dates(ledger: Relief, tmp_path: Path) -> None:
    """A 41-character depot code and a 35-character lot come out whole, with the expiry
    date and the figures, where Rich used to print `HC-COU…` and `2027-0…` at 80 columns."""
    depots = (
        "code,name,tier,parent_code,lat,lon,capacity_m3\n"
        f"{LONG_DEPOT},西柳镇 Xiliu,township,CNTY,,,\n"
    )
    ledger.ok("depots", "import", str(write_csv(tmp_path / "d.csv", depots)))
    ledger.post(
        "stock", "receive", "--depot", LONG_DEPOT, "--item", "WATER", "--qty", "1234567",
        "--lot", LONG_LOT, "--expires", "2099-06-30",
    )  # fmt: skip

    for args in (("stock", "balance"), ("stock", "balance", "--totals"), ("depots", "list")):
        out = ledger.ok(*args).stdout
        assert "…" not in out, out
    balance = ledger.ok("stock", "balance").stdout
    for text in (LONG_DEPOT, LONG_LOT, "2099-06-30", "1,234,567"):
        assert text in balance, balance
    assert LONG_DEPOT in ledger.ok("depots", "list").stdout
