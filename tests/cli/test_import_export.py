"""`relief stock import` (whole file or nothing, idempotent) and `relief stock export`."""

import csv
import io
from collections import defaultdict
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.cli.harness import DEPOTS_CSV, ITEMS_CSV, Relief, movements_csv, write_csv

RECEIPT_WATER = "RCV-1,2026-03-02T09:00:00+08:00,receipt,CNTY,WATER,W1,100,2099-06-30,,"
RECEIPT_TENT = "RCV-1,2026-03-02T09:00:00+08:00,receipt,CNTY,TENT,T1,40,,,"
TRANSFER = "TRF-1,2026-03-05T09:00:00+08:00,transfer,CNTY,WATER,W1,30,,,TWN"
ISSUE = "ISS-1,2026-03-08T09:00:00+08:00,issue,TWN,WATER,W1,10,,,"
#: Four rows in three documents; every row is two movement lines.
GOOD_ROWS = [RECEIPT_WATER, RECEIPT_TENT, TRANSFER, ISSUE]
GOOD_ON_HAND = {
    ("CNTY", "TENT", "T1"): 40,
    ("CNTY", "WATER", "W1"): 70,
    ("TWN", "WATER", "W1"): 20,
}

EXPORT_HEADER = [
    "document",
    "kind",
    "status",
    "occurred_at",
    "reference",
    "location",
    "location_kind",
    "item",
    "lot",
    "qty",
    "expires_on",
    "produced_on",
    "note",
    "reason",
    "key",
    "reverses",
    "origin",
    "destination",
]


def test_import_posts_one_document_per_reference(ledger: Relief, tmp_path: Path) -> None:
    """An import reports documents and movement lines posted, and the balances follow."""
    result = ledger.ok("stock", "import", str(movements_csv(tmp_path / "m.csv", GOOD_ROWS)))

    assert "imported 3 documents, 8 movements" in result.stdout
    assert ledger.on_hand() == GOOD_ON_HAND
    assert ledger("stock", "verify").exit_code == 0


def test_import_twice_does_not_double_stock(ledger: Relief, tmp_path: Path) -> None:
    """Re-importing a file skips the references already imported; stock is counted once."""
    path = movements_csv(tmp_path / "m.csv", GOOD_ROWS)
    ledger.ok("stock", "import", str(path))

    again = ledger.ok("stock", "import", str(path))

    assert "imported 0 documents, 0 movements" in again.stdout
    assert "3 references already imported" in again.stdout
    assert ledger.on_hand() == GOOD_ON_HAND


def test_import_refuses_file_with_unknown_item_naming_line(ledger: Relief, tmp_path: Path) -> None:
    """An unknown item on line 4 exits 2 naming line 4; lines 2-3 are not written either."""
    rows = [
        RECEIPT_WATER,
        RECEIPT_TENT,
        "RCV-2,2026-03-03T09:00:00+08:00,receipt,CNTY,SOAP,S1,5,,,",
    ]
    result = ledger("stock", "import", str(movements_csv(tmp_path / "m.csv", rows)))

    assert result.exit_code == 2
    assert "line 4" in result.stderr
    assert "SOAP" in result.stderr
    assert ledger.balances() == []


def test_import_refuses_overdraw_leaving_existing_stock_unchanged(
    ledger: Relief, tmp_path: Path
) -> None:
    """An issue on line 6 overdrawing what lines 2-5 left exits 2; prior stock is untouched."""
    ledger.post(
        "stock", "receive", "--depot", "PROV", "--item", "TENT", "--qty", "9", "--lot", "T0"
    )
    before = ledger.balances()
    rows = [*GOOD_ROWS, "ISS-2,2026-03-09T09:00:00+08:00,issue,TWN,WATER,W1,50,,,"]

    result = ledger("stock", "import", str(movements_csv(tmp_path / "m.csv", rows)))

    assert result.exit_code == 2
    assert "line 6" in result.stderr
    assert "available 20, requested 50" in result.stderr
    assert ledger.balances() == before


def test_import_refuses_overdraw_of_stock_already_held(ledger: Relief, tmp_path: Path) -> None:
    """Line 5 issuing more than the depot holds (20 after lines 2-4) exits 2 naming line 5."""
    rows = [
        RECEIPT_WATER,
        TRANSFER,
        ISSUE,
        "ISS-2,2026-03-09T09:00:00+08:00,issue,TWN,WATER,W1,21,,,",
    ]

    result = ledger("stock", "import", str(movements_csv(tmp_path / "m.csv", rows)))

    assert result.exit_code == 2
    assert "line 5" in result.stderr
    assert "depot TWN" in result.stderr
    assert "available 20, requested 21" in result.stderr
    assert ledger.balances() == []


@pytest.mark.parametrize(
    ("bad_row", "column"),
    [
        ("RCV-2,2026-03-03T09:00:00+08:00,receipt,CNTY,TENT,T1,0,,,", "qty"),
        ("RCV-2,2026-03-03T09:00:00,receipt,CNTY,TENT,T1,3,,,", "occurred_at"),
        ("RCV-2,2026-03-03T09:00:00+08:00,gift,CNTY,TENT,T1,3,,,", "kind"),
    ],
    ids=["zero-qty", "naive-time", "unknown-kind"],
)
def test_import_refuses_unparsable_row_naming_file_line_and_column(
    ledger: Relief, tmp_path: Path, bad_row: str, column: str
) -> None:
    """A cell that does not parse exits 2 with `file:line: column`, before anything is posted."""
    path = movements_csv(tmp_path / "m.csv", [RECEIPT_WATER, RECEIPT_TENT, bad_row])

    result = ledger("stock", "import", str(path))

    assert result.exit_code == 2
    assert f"{path}:4: {column}" in result.stderr
    assert ledger.balances() == []


def test_export_writes_one_signed_row_per_movement_line(ledger: Relief, tmp_path: Path) -> None:
    """Export has a header and one row per movement line; each document's lines sum to zero."""
    ledger.ok("stock", "import", str(movements_csv(tmp_path / "m.csv", GOOD_ROWS)))
    ledger.post("stock", "issue", "--depot", "CNTY", "--item", "TENT", "--qty", "4")
    out = tmp_path / "export.csv"

    result = ledger.ok("stock", "export", "--out", str(out))

    with out.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        rows = [dict(zip(header, row, strict=True)) for row in reader]
    assert header == EXPORT_HEADER
    assert len(rows) == 10
    assert "wrote 10 movement lines" in result.stdout
    per_document: dict[str, int] = defaultdict(int)
    for row in rows:
        per_document[row["document"]] += int(row["qty"])
    assert len(per_document) == 4
    assert set(per_document.values()) == {0}
    tent_issue = [r for r in rows if r["kind"] == "issue" and r["item"] == "TENT"]
    assert sorted((r["location"], int(r["qty"])) for r in tent_issue) == [
        ("CNTY", -4),
        ("distributed", 4),
    ]


def test_export_to_stdout_without_out(ledger: Relief) -> None:
    """Without --out the CSV goes to stdout: header plus the receipt's two signed lines."""
    ledger.post(
        "stock", "receive", "--depot", "CNTY", "--item", "TENT", "--qty", "6", "--lot", "T1"
    )

    result = ledger.ok("stock", "export")

    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [(r["location_kind"], r["location"], int(r["qty"])) for r in rows] == [
        ("supplier", "supplier", -6),
        ("depot", "CNTY", 6),
    ]


def test_import_overdraw_names_overdrawing_row_in_multi_row_document(
    ledger: Relief, tmp_path: Path
) -> None:
    """When the second row of a document overdraws, the error names that row's line (5)."""
    rows = [
        RECEIPT_WATER,
        RECEIPT_TENT,
        "ISS-1,2026-03-03T09:00:00+08:00,issue,CNTY,WATER,W1,10,,,",
        "ISS-1,2026-03-03T09:00:00+08:00,issue,CNTY,TENT,T1,50,,,",
    ]

    result = ledger("stock", "import", str(movements_csv(tmp_path / "m.csv", rows)))

    assert result.exit_code == 2
    assert "available 40, requested 50" in result.stderr
    assert ledger.balances() == []
    assert "line 5" in result.stderr


def test_import_refuses_receipt_of_lot_expired_when_received(
    ledger: Relief, tmp_path: Path
) -> None:
    """A receipt dated 2021 of a lot that expired in 2020 is refused, as `stock receive` does."""
    rows = ["RCV-9,2021-03-02T09:00:00+08:00,receipt,CNTY,WATER,OLD,100,2020-06-30,,"]

    result = ledger("stock", "import", str(movements_csv(tmp_path / "m.csv", rows)))

    assert ledger.balances() == []
    assert result.exit_code == 2
    assert "line 2" in result.stderr
    assert "expired" in result.stderr


def test_stock_export_writes_xlsx_with_signed_numbers(ledger: Relief, tmp_path: Path) -> None:
    """`stock export --out x.xlsx` is a workbook of the same lines, quantities as numbers."""
    from openpyxl import load_workbook

    ledger.post(
        "stock", "receive", "--depot", "CNTY", "--item", "TENT", "--qty", "7", "--lot", "T1"
    )
    out = tmp_path / "movements.xlsx"
    ledger.ok("stock", "export", "--out", str(out))
    rows = list(load_workbook(out).worksheets[0].iter_rows(values_only=True))
    header = list(rows[0])
    assert header[:3] == ["document", "kind", "status"]
    assert sorted(r[header.index("qty")] for r in rows[1:]) == [-7, 7]


@pytest.mark.parametrize(
    ("changed", "fields"),
    [
        ("RCV-1,2026-03-02T09:00:00+08:00,receipt,CNTY,WATER,W1,101,2099-06-30,,", "qty"),
        ("RCV-1,2026-03-02T09:00:00+08:00,receipt,TWN,WATER,W1,100,2099-06-30,,", "depot"),
        ("RCV-1,2026-03-02T09:00:00+08:00,receipt,CNTY,TENT,W1,100,,,", "item, lot"),
        ("RCV-1,2026-03-03T09:00:00+08:00,receipt,CNTY,WATER,W1,100,2099-06-30,,", "occurred_at"),
    ],
    ids=["qty", "depot", "item", "date"],
)
def test_import_refuses_reference_reimported_with_other_content(
    ledger: Relief, tmp_path: Path, changed: str, fields: str
) -> None:
    """A reference imported before, now with another quantity, depot, item or date, is a
    correction: refused with exit 2 naming reference, line and fields, and nothing of the
    file (not even its new references) is written. It used to be skipped silently."""
    ledger.ok("stock", "import", str(movements_csv(tmp_path / "a.csv", [RECEIPT_WATER])))
    before = ledger.on_hand()
    rows = ["RCV-7,2026-03-02T09:00:00+08:00,receipt,CNTY,TENT,T7,5,,,", changed]

    result = ledger("stock", "import", str(movements_csv(tmp_path / "b.csv", rows)))

    assert result.exit_code == 2, result.stdout
    assert "line 3 (reference RCV-1)" in result.stderr
    assert f"with other {fields}" in result.stderr
    assert "reverse RC-000001" in result.stderr
    assert ledger.on_hand() == before


def test_import_correction_by_reversal_and_new_reference(ledger: Relief, tmp_path: Path) -> None:
    """The way the refusal names works: reverse the old document, import under a new
    reference; the balance then holds the corrected figure."""
    ledger.ok("stock", "import", str(movements_csv(tmp_path / "a.csv", [RECEIPT_WATER])))
    ledger.post("stock", "reverse", "RC-000001")
    fixed = "RCV-1b,2026-03-02T09:00:00+08:00,receipt,CNTY,WATER,W1,101,2099-06-30,,"

    ledger.ok("stock", "import", str(movements_csv(tmp_path / "b.csv", [fixed])))

    assert ledger.on_hand()[("CNTY", "WATER", "W1")] == 101


def test_export_imports_into_a_fresh_ledger(
    ledger: Relief, runner: CliRunner, tmp_path: Path
) -> None:
    """`stock export` output is what `stock import` reads: a fresh ledger with the same
    catalogue ends with the same balances and documents (an export used to be refused as
    missing the movements file's columns); importing it again changes nothing."""
    ledger.ok("stock", "import", str(movements_csv(tmp_path / "m.csv", GOOD_ROWS)))
    ledger.post("stock", "reverse", "IS-000001")
    ledger.post("stock", "transfer", "--from", "CNTY", "--to", "TWN", "--item", "TENT",
                "--qty", "4", "--in-transit")  # fmt: skip
    out = tmp_path / "export.csv"
    ledger.ok("stock", "export", "--out", str(out))
    fresh = Relief(runner, f"sqlite:///{tmp_path / 'fresh.db'}", tmp_path / "fresh.db")
    fresh.ok("db", "upgrade")
    fresh.ok("catalog", "import", str(write_csv(tmp_path / "items.csv", ITEMS_CSV)))
    fresh.ok("depots", "import", str(write_csv(tmp_path / "depots.csv", DEPOTS_CSV)))

    result = fresh.ok("stock", "import", str(out))
    again = fresh.ok("stock", "import", str(out))

    assert "imported 5 documents, 12 movements" in result.stdout
    assert "5 already in this ledger, skipped" in again.stdout
    assert fresh.on_hand() == ledger.on_hand()
    assert fresh.ok("stock", "export").stdout == ledger.ok("stock", "export").stdout
    assert fresh("stock", "verify").exit_code == 0


def test_import_reports_progress_on_stderr_when_piped(ledger: Relief, tmp_path: Path) -> None:
    """Piped or redirected (CliRunner is not a terminal), a bulk import says how far it is on
    stderr in plain lines, and stdout keeps only the result (it used to print nothing until
    the end)."""
    result = ledger.ok("stock", "import", str(movements_csv(tmp_path / "m.csv", GOOD_ROWS)))

    assert "importing: 8/8 movement lines" in result.stderr
    assert "importing" not in result.stdout
