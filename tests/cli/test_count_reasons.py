"""Stocktake reasons: a count sheet (.xlsx or CSV) says per line why a count differs; a bad
reason is refused at its row and nothing is posted."""

import sqlite3
from pathlib import Path

from tests.cli.harness import Relief, write_csv, write_xlsx

TENTS = ("stock", "receive", "--depot", "CNTY", "--item", "TENT", "--qty", "10", "--lot", "T1")


def count_lines(relief: Relief) -> list[tuple[str, int, int, str | None, str | None]]:
    with sqlite3.connect(relief.db_file) as conn:
        return conn.execute(
            "SELECT b.lot, c.on_hand, c.counted, c.reason, c.note FROM count_line c"
            " JOIN batch b ON b.id = c.batch_id ORDER BY b.lot"
        ).fetchall()


def test_a_count_sheet_keeps_each_lines_reason(ledger: Relief, tmp_path: Path) -> None:
    """Counted from an Excel sheet: 3 tents lost, water as booked; both lines kept."""
    ledger.post(
        "stock", "receive", "--depot", "CNTY", "--item", "TENT", "--qty", "10", "--lot", "T1"
    )
    ledger.post(
        "stock", "receive", "--depot", "CNTY", "--item", "WATER", "--qty", "5", "--lot", "W1",
        "--expires", "2028-01-01",
    )  # fmt: skip
    sheet = write_xlsx(
        tmp_path / "count.xlsx",
        [
            ["item", "lot", "counted", "reason", "note"],
            ["TENT", "T1", 7, "lost", "仓库漏雨后清点"],
            ["WATER", "W1", 5, None, None],
        ],
    )
    ledger.post("stock", "count", "--depot", "CNTY", str(sheet))
    assert count_lines(ledger) == [
        ("T1", 10, 7, "lost", "仓库漏雨后清点"),
        ("W1", 5, 5, None, None),
    ]


def test_an_unknown_reason_is_refused_at_its_row(ledger: Relief, tmp_path: Path) -> None:
    """`broken` is no reason: exit 2 naming file, row and column; nothing posted."""
    ledger.post(
        "stock", "receive", "--depot", "CNTY", "--item", "TENT", "--qty", "10", "--lot", "T1"
    )
    bad = write_csv(tmp_path / "count.csv", "item,lot,counted,reason\nTENT,T1,9,broken\n")
    result = ledger("stock", "count", "--depot", "CNTY", str(bad))
    assert result.exit_code == 2
    assert f"{bad}:2: reason" in result.stderr
    assert count_lines(ledger) == []
    assert ledger.on_hand()[("CNTY", "TENT", "T1")] == 10
