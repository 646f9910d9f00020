"""Malformed spreadsheets, generated: whatever a keeper's Excel does to an agreements file,
`relief reserves agreements import` either imports exactly the intended rows or exits 2 with
one line naming the file, and leaves the ledger as it was. Never a traceback.

Benign variations (must import): UTF-8, UTF-8 with BOM, GB18030/GBK CSV or .xlsx; a title
row above the header; blank rows; merged cells; numbers as text with thousands separators;
dates as Excel serials or as Excel shows them in China (2026/1/1).
Malformations (must be refused): a missing column, extra values, text in a number column,
a negative quantity, an unknown depot, a damaged byte, a truncated workbook, an old .xls.
"""

import sqlite3
from datetime import date
from io import BytesIO
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook

from tests.cli.harness import Relief, write_csv

HEADER = [
    "code",
    "supplier",
    "item",
    "depot",
    "kind",
    "qty",
    "rate_per_hour",
    "lead_time_hours",
    "valid_from",
    "valid_to",
    "unit_price",
    "terms",
]
ROWS: list[list[object]] = [
    ["AG-1", "SM", "WATER", "CNTY", "goods", 1500, None, 2, date(2026, 1, 1),
     date(2027, 12, 31), "28.00", "超市配送中心，常规轮换"],
    ["AG-2", "SM", "TENT", "CNTY", "capacity", 5000, 200, 6, date(2026, 1, 1),
     date(2027, 12, 31), "350.50", "帐篷厂产能储备"],
]  # fmt: skip
DAYS = ("2026-01-01", "2027-12-31")
EXPECTED = [
    ("AG-1", "goods", 1500, None, 2.0, *DAYS, "28.00", "超市配送中心，常规轮换"),
    ("AG-2", "capacity", 5000, 200, 6.0, *DAYS, "350.50", "帐篷厂产能储备"),
]
SERIAL_2026_01_01 = 46023  # Excel's day number for 2026-01-01

BENIGN = ("title_row", "blank_rows", "grouped_numbers", "serial_dates", "slash_dates", "merged")
MALFORMED = (
    "missing_column",
    "extra_values",
    "text_in_number",
    "negative_qty",
    "unknown_depot",
    "damaged_byte",
    "truncated",
    "old_xls",
)


def agreements(relief: Relief) -> list[tuple[object, ...]]:
    with sqlite3.connect(relief.db_file) as conn:
        rows = conn.execute(
            "SELECT code, kind, qty, rate_per_hour, lead_time_hours, valid_from, valid_to, "
            "unit_price, terms FROM agreement ORDER BY code"
        ).fetchall()
    return [(*r[:7], f"{float(r[7]):.2f}", r[8]) for r in rows]


def _cells(benign: set[str], malformed: str | None) -> list[list[object]]:
    """The sheet as cell values (None: blank), before it is written in some format."""
    header = list(HEADER)
    rows = [list(r) for r in ROWS]
    if "grouped_numbers" in benign:
        rows[0][5], rows[1][5] = "1,500", "5,000"
    if "serial_dates" in benign:
        rows[0][8] = rows[1][8] = SERIAL_2026_01_01
    elif "slash_dates" in benign:
        rows[0][8] = rows[1][8] = "2026/1/1"
    if malformed == "missing_column":
        header.remove("qty")
        rows = [r[:5] + r[6:] for r in rows]
    elif malformed == "extra_values":
        rows[1] = [*rows[1], "stray"]
    elif malformed == "text_in_number":
        rows[1][7] = "six hours"
    elif malformed == "negative_qty":
        rows[0][5] = -5
    elif malformed == "unknown_depot":
        rows[1][3] = "NOWHERE"
    table: list[list[object]] = [header, *rows]
    if "blank_rows" in benign:
        table.insert(2, [None] * len(header))
        table.append([None] * len(header))
    if "title_row" in benign:
        table.insert(0, ["协议储备清单 (agreements)"])
    return table


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, date):
        return value.isoformat()
    text = str(value)
    return f'"{text}"' if "," in text else text


def write(
    path_base: Path, fmt: str, benign: set[str], malformed: str | None
) -> tuple[Path, set[str]]:
    """Write the sheet; returns the file and the benign variations that really applied."""
    table = _cells(benign, malformed)
    if fmt == "xlsx" or malformed == "truncated":
        book = Workbook()
        sheet = book.active
        assert sheet is not None
        for row in table:
            sheet.append(row)
        applied = set(benign)
        if "merged" in benign and malformed != "missing_column":
            # supplier is SM on both data rows: merge them as a keeper would
            first = next(i for i, r in enumerate(table, start=1) if r and r[0] == "AG-1")
            second = next(i for i, r in enumerate(table, start=1) if r and r[0] == "AG-2")
            if second == first + 1:
                sheet.cell(second, 2).value = None
                sheet.merge_cells(start_row=first, start_column=2, end_row=second, end_column=2)
            else:
                applied.discard("merged")
        buffer = BytesIO()
        book.save(buffer)
        data = buffer.getvalue()
        if malformed == "truncated":
            data = data[: len(data) // 2]
        path = path_base.with_suffix(".xlsx")
        path.write_bytes(data)
        return path, applied
    text = "\n".join(",".join(_text(v) for v in row) for row in table) + "\n"
    codec = {"utf8": "utf-8", "bom": "utf-8-sig", "gbk": "gb18030"}[fmt]
    data = text.encode(codec)
    if malformed == "damaged_byte":
        at = data.index("超".encode("gb18030" if fmt == "gbk" else "utf-8"))
        data = data[:at] + b"\xff" + data[at:]
    if malformed == "old_xls":
        data = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + data
    path = path_base.with_suffix(".csv")
    path.write_bytes(data)
    return path, set(benign) - {"merged"}


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    fmt=st.sampled_from(["utf8", "bom", "gbk", "xlsx"]),
    benign=st.sets(st.sampled_from(BENIGN)),
    malformed=st.one_of(st.none(), st.sampled_from(MALFORMED)),
)
def test_an_agreements_file_imports_exactly_or_is_refused_in_one_line(
    ledger: Relief, tmp_path: Path, fmt: str, benign: set[str], malformed: str | None
) -> None:
    """Exit 0 and exactly the intended agreements, or exit 2, one line naming the file,
    and the ledger as it was."""
    if not agreements(ledger):
        write_csv(tmp_path / "suppliers.csv", "code,name,kind\nSM,连锁超市,supermarket\n")
        ledger.ok("reserves", "suppliers", "import", str(tmp_path / "suppliers.csv"))
    if malformed in ("damaged_byte", "old_xls") and fmt == "xlsx":
        fmt = "utf8"
    path, _ = write(tmp_path / f"agreements-{fmt}", fmt, benign, malformed)
    before = agreements(ledger)
    result = ledger("reserves", "agreements", "import", str(path))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    if malformed is None:
        assert result.exit_code == 0, (fmt, benign, result.stderr)
        assert agreements(ledger) == EXPECTED
        return
    assert result.exit_code == 2, (fmt, benign, malformed, result.stdout)
    message = result.stderr.strip()
    assert "\n" not in message
    assert message.startswith("error:")
    assert str(path) in message
    assert agreements(ledger) == before
