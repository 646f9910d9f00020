"""`relief reserves`: import/export of suppliers, agreements and inspections (CSV and Excel),
call-off, expected receipts, receipt into stock, and settlement."""

import json
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from openpyxl import load_workbook

from tests.cli.harness import Relief, query, write_csv, write_xlsx

TODAY = date.today()
FROM = (TODAY - timedelta(days=30)).isoformat()
TO = (TODAY + timedelta(days=365)).isoformat()

SUPPLIERS = """\
code,name,kind,contact,lat,lon
SM,Supermarket,supermarket,duty desk,40.85,122.74
TEX,Textile works,enterprise,,,
"""

AGREEMENT_HEADER = (
    "code,supplier,item,depot,kind,qty,rate_per_hour,lead_time_hours,valid_from,valid_to,"
    "unit_price,compensation_per_unit"
)
AG_WATER = f"AG-W,SM,WATER,CNTY,goods,100,,2,{FROM},{TO},28.00,1.50"
AG_TENT = f"AG-T,TEX,TENT,CNTY,capacity,500,20,3,{FROM},{TO},900.00,0"


def agreements_csv(path: Path, *rows: str) -> Path:
    return write_csv(path, "\n".join([AGREEMENT_HEADER, *rows]) + "\n")


@pytest.fixture
def reserves(ledger: Relief, tmp_path: Path) -> Relief:
    """The tiny ledger plus two suppliers and two agreements for the county depot CNTY."""
    ledger.ok("reserves", "suppliers", "import", str(write_csv(tmp_path / "s.csv", SUPPLIERS)))
    ledger.ok(
        "reserves",
        "agreements",
        "import",
        str(agreements_csv(tmp_path / "a.csv", AG_WATER, AG_TENT)),
    )
    return ledger


def agreements(relief: Relief) -> dict[str, dict[str, object]]:
    rows = json.loads(relief.ok("reserves", "agreements", "list", "--json").stdout)
    return {r["code"]: r for r in rows}


def test_agreement_file_with_a_bad_row_names_file_row_column_and_writes_nothing(
    ledger: Relief, tmp_path: Path
) -> None:
    """An unknown supplier on line 3 exits 2 with `file:3: supplier: ...`; line 2 is not kept."""
    ledger.ok("reserves", "suppliers", "import", str(write_csv(tmp_path / "s.csv", SUPPLIERS)))
    path = agreements_csv(tmp_path / "a.csv", AG_WATER, AG_TENT.replace("TEX", "NOBODY"))
    result = ledger("reserves", "agreements", "import", str(path))
    assert result.exit_code == 2
    assert f"{path}:3: supplier: unknown supplier 'NOBODY'" in result.stderr
    assert agreements(ledger) == {}


def test_agreement_file_with_an_invalid_cell_is_refused_before_any_write(
    ledger: Relief, tmp_path: Path
) -> None:
    """A capacity agreement without a rate, and a date range backwards, name their cells."""
    ledger.ok("reserves", "suppliers", "import", str(write_csv(tmp_path / "s.csv", SUPPLIERS)))
    no_rate = agreements_csv(tmp_path / "a.csv", AG_WATER, AG_TENT.replace(",20,", ",,"))
    result = ledger("reserves", "agreements", "import", str(no_rate))
    assert result.exit_code == 2
    assert f"{no_rate}:3: rate_per_hour: a capacity agreement needs a rate per hour" in (
        result.stderr
    )
    backwards = agreements_csv(
        tmp_path / "b.csv", AG_WATER.replace(f",{FROM},{TO},", f",{TO},{FROM},")
    )
    result = ledger("reserves", "agreements", "import", str(backwards))
    assert f"{backwards}:2: valid_to: is before valid_from" in result.stderr
    assert agreements(ledger) == {}


def test_excel_import_reports_the_excel_row_and_writes_nothing(
    ledger: Relief, tmp_path: Path
) -> None:
    """An .xlsx with a bad kind in spreadsheet row 3 is refused whole, naming row 3."""
    path = write_xlsx(
        tmp_path / "suppliers.xlsx",
        [
            ["code", "name", "kind", "contact", "lat", "lon"],
            ["SM", "Supermarket", "supermarket", None, 40.85, 122.74],
            ["XX", "Someone", "bakery", None, None, None],
        ],
    )
    result = ledger("reserves", "suppliers", "import", str(path))
    assert result.exit_code == 2
    assert f"{path}:3: kind: Input should be" in result.stderr
    assert json.loads(ledger.ok("reserves", "suppliers", "list", "--json").stdout) == []


def test_excel_agreements_with_typed_cells_import(ledger: Relief, tmp_path: Path) -> None:
    """Dates, whole numbers and decimals typed as Excel cells import like CSV text."""
    ledger.ok("reserves", "suppliers", "import", str(write_csv(tmp_path / "s.csv", SUPPLIERS)))
    header = AGREEMENT_HEADER.split(",")
    start, end = TODAY - timedelta(days=1), TODAY + timedelta(days=90)
    row = ["AG-X", "SM", "WATER", "CNTY", "goods", 120.0, None, 1.5, start, end, 27.5, 0]
    ledger.ok(
        "reserves", "agreements", "import", str(write_xlsx(tmp_path / "a.xlsx", [header, row]))
    )
    got = agreements(ledger)["AG-X"]
    assert (got["qty"], got["lead_time_hours"], got["unit_price"], got["valid_to"]) == (
        120,
        1.5,
        "27.50",
        end.isoformat(),
    )


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_export_then_import_round_trips(reserves: Relief, tmp_path: Path, suffix: str) -> None:
    """Suppliers, agreements, inspections and quotas exported, imported into a fresh ledger
    with the same catalogue and depots, and exported again, come out the same."""
    reserves.ok("reserves", "inspect", "AG-W", "--verified", "90", "--inspector", "li")
    quotas = write_csv(
        tmp_path / "q.csv",
        "item,depot,tier,qty,per_resident\nWATER,CNTY,,50,\nTENT,,township,,0.01\n",
    )
    reserves.ok("quotas", "import", str(quotas))
    kinds = [
        ("reserves", "suppliers"),
        ("reserves", "agreements"),
        ("reserves", "inspections"),
        ("quotas",),
    ]
    first = {}
    for kind in kinds:
        out = tmp_path / f"{kind[-1]}-1{suffix}"
        reserves.ok(*kind, "export", "--out", str(out))
        first[kind] = out

    other = Relief(reserves.runner, f"sqlite:///{tmp_path / 'other.db'}", tmp_path / "other.db")
    other.ok("db", "upgrade")
    other.ok("catalog", "import", str(tmp_path / "items.csv"))
    other.ok("depots", "import", str(tmp_path / "depots.csv"))
    for kind in kinds:
        other.ok(*kind, "import", str(first[kind]))
        again = tmp_path / f"{kind[-1]}-2{suffix}"
        other.ok(*kind, "export", "--out", str(again))
        assert _cells(again) == _cells(first[kind]), kind
    assert len(_cells(first[("reserves", "agreements")])) == 3


def _cells(path: Path) -> list[list[object]]:
    if path.suffix == ".csv":
        return [line.split(",") for line in path.read_text(encoding="utf-8").splitlines()]
    sheet = load_workbook(path).worksheets[0]
    return [list(r) for r in sheet.iter_rows(values_only=True)]


def test_unknown_file_suffix_is_refused(reserves: Relief, tmp_path: Path) -> None:
    """Only .csv and .xlsx are read and written."""
    result = reserves("reserves", "suppliers", "export", "--out", str(tmp_path / "s.ods"))
    assert result.exit_code == 2
    assert "use a .csv or .xlsx file" in result.stderr


def test_call_off_receive_and_settle_from_the_cli(reserves: Relief) -> None:
    """Call off 40 of 100 to TWN: expected 2 h later; receiving posts a receipt to TWN;
    settle lists 40 × (28.00 + 1.50) = 1,180.00 and --mark records it once."""
    out = reserves.ok("reserves", "call-off", "AG-W", "--qty", "40", "--to", "TWN").stdout
    assert "called off CO-000001: 40 units, expected by" in out
    (row,) = json.loads(reserves.ok("reserves", "expected", "--json").stdout)
    assert (row["number"], row["depot"], row["qty"], row["overdue"]) == (
        "CO-000001",
        "TWN",
        40,
        False,
    )
    assert agreements(reserves)["AG-W"]["remaining"] == 60
    assert reserves.on_hand() == {}

    expires = (TODAY + timedelta(days=700)).isoformat()
    number = reserves.post(
        "reserves", "receive", "CO-000001", "--lot", "W-CO1", "--expires", expires
    )
    assert reserves.on_hand() == {("TWN", "WATER", "W-CO1"): 40}
    assert json.loads(reserves.ok("reserves", "expected", "--json").stdout) == []
    again = reserves("reserves", "receive", "CO-000001", "--lot", "W-CO1", "--expires", expires)
    assert again.exit_code == 2
    assert f"already received as {number}" in again.stderr

    owed = json.loads(reserves.ok("reserves", "settle", "--json").stdout)
    assert [
        (o["supplier"], o["qty"], o["goods"], o["compensation"], o["total"]) for o in owed["owed"]
    ] == [("SM", 40, "1120.00", "60.00", "1180.00")]
    marked = reserves.ok("reserves", "settle", "--mark", "--reference", "PZ-7").stdout
    assert "settled SE-000001: SM, 1 call-off(s), ¥1,180.00" in marked
    assert "nothing owed" in reserves.ok("reserves", "settle").stdout
    assert query(reserves.db_file, "select amount, reference from settlement") == [(1180, "PZ-7")]
    reserves.ok("stock", "verify")


def test_call_off_beyond_the_contract_is_one_line_and_writes_nothing(reserves: Relief) -> None:
    """Exceeding what is left exits 2 with one line; nothing is expected afterwards."""
    result = reserves("reserves", "call-off", "AG-W", "--qty", "101")
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        "error: qty: 101 exceeds what is left under agreement AG-W: 100 of 100 units"
    ]
    assert json.loads(reserves.ok("reserves", "expected", "--json").stdout) == []


def test_capacity_call_off_and_cancel(reserves: Relief) -> None:
    """A capacity reserve is due after lead + production; a cancelled call-off frees its units."""
    reserves.ok("reserves", "call-off", "AG-T", "--qty", "60")  # 3 h + 60 / 20 h = 6 h
    (row,) = json.loads(reserves.ok("reserves", "expected", "--json").stdout)
    due = datetime.fromisoformat(row["due_at"]) - datetime.fromisoformat(row["called_at"])
    assert due == timedelta(hours=6)
    assert agreements(reserves)["AG-T"]["remaining"] == 440
    assert "CO-000001 cancelled" in reserves.ok("reserves", "cancel", "CO-000001").stdout
    assert agreements(reserves)["AG-T"]["remaining"] == 500


def test_inspect_flags_a_short_agreement(reserves: Relief) -> None:
    """An inspection finding fewer units than contracted flags the agreement in --flagged."""
    reserves.ok("reserves", "inspect", "AG-W", "--verified", "70", "--findings", "30 sold")
    (row,) = json.loads(reserves.ok("reserves", "agreements", "list", "--flagged", "--json").stdout)
    assert row["code"] == "AG-W"
    assert row["flags"] == [f"verified short: 70 of 100 on site on {TODAY.isoformat()}"]
    future = (TODAY + timedelta(days=1)).isoformat()
    bad = reserves("reserves", "inspect", "AG-W", "--verified", "70", "--on", future)
    assert bad.exit_code == 2
    assert "in the future" in bad.stderr


def test_entrust_a_depot_to_a_custodian(reserves: Relief) -> None:
    """`depots entrust` records entrusted storage (代储) and `depots list` shows it."""
    reserves.ok("depots", "entrust", "TWN", "--custodian", "TEX")
    assert "TEX" in reserves.ok("depots", "list").stdout
    custodian = "select custodian_id is not null from location where code = 'TWN'"
    assert query(reserves.db_file, custodian) == [(1,)]
    reserves.ok("depots", "entrust", "TWN", "--clear")
    assert query(reserves.db_file, custodian) == [(0,)]
    assert reserves("depots", "entrust", "TWN").exit_code == 2
