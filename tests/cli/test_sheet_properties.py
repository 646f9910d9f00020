"""Malformed spreadsheets, generated: whatever a keeper's Excel does to an import file, the
import either takes exactly the intended rows or exits 2 with one line naming the file, and
leaves the ledger as it was. Never a traceback. Run on two imports through the one reader:
`reserves agreements import` (dates, money, codes) and `catalog import` (Chinese names,
decimals, optional whole numbers).

Benign variations (must import): UTF-8, UTF-8 with BOM, GB18030/GBK CSV or .xlsx; a title
row above the header; blank rows; merged cells; numbers as text with thousands separators;
dates as Excel serials or as Excel shows them in China (2026/1/1).
Malformations (must be refused): a missing column, extra values, text in a number column,
a negative quantity, an unknown code, a damaged byte, a truncated workbook, an old .xls.
"""

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from io import BytesIO
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook

from tests.cli.harness import Relief, write_csv

SERIAL_2026_01_01 = 46023  # Excel's day number for 2026-01-01
DAYS = ("2026-01-01", "2027-12-31")


def _query(sql: str) -> Callable[[Relief], list[tuple[object, ...]]]:
    def read(relief: Relief) -> list[tuple[object, ...]]:
        with sqlite3.connect(relief.db_file) as conn:
            return [tuple(r) for r in conn.execute(sql).fetchall()]

    return read


@dataclass(frozen=True)
class Case:
    """One import: its base file, what the ledger holds once it is in, and which columns
    the variations touch (None: that variation does not apply)."""

    command: tuple[str, ...]
    header: tuple[str, ...]
    rows: tuple[tuple[object, ...], ...]
    read: Callable[[Relief], list[tuple[object, ...]]]
    expected: tuple[tuple[object, ...], ...]
    number: int  # a whole-number column: grouped, negative
    grouped: tuple[str, str]  # the number column's two values with thousands separators
    text_number: int  # a number column that gets text
    chinese: str  # Chinese text in the file (the damaged byte goes before it)
    merged: int  # a column whose two data cells are equal (merged in the workbook)
    required: int  # a required column (left out of the file)
    date: int | None = None
    code_ref: int | None = None  # a column of codes the ledger must know
    title: str = "清单"


AGREEMENTS = Case(
    command=("reserves", "agreements", "import"),
    header=("code", "supplier", "item", "depot", "kind", "qty", "rate_per_hour",
            "lead_time_hours", "valid_from", "valid_to", "unit_price", "terms"),
    rows=(
        ("AG-1", "SM", "WATER", "CNTY", "goods", 1500, None, 2, date(2026, 1, 1),
         date(2027, 12, 31), "28.00", "超市配送中心，常规轮换"),
        ("AG-2", "SM", "TENT", "CNTY", "capacity", 5000, 200, 6, date(2026, 1, 1),
         date(2027, 12, 31), "350.50", "帐篷厂产能储备"),
    ),
    read=_query(
        "SELECT code, kind, qty, rate_per_hour, lead_time_hours, valid_from, valid_to, "
        "CAST(unit_price AS TEXT), terms FROM agreement ORDER BY code"
    ),
    expected=(
        ("AG-1", "goods", 1500, None, 2.0, *DAYS, "28", "超市配送中心，常规轮换"),
        ("AG-2", "capacity", 5000, 200, 6.0, *DAYS, "350.5", "帐篷厂产能储备"),
    ),
    number=5,
    grouped=("1,500", "5,000"),
    text_number=7,
    chinese="超",
    merged=1,
    required=5,
    date=8,
    code_ref=3,
    title="协议储备清单 (agreements)",
)  # fmt: skip
CATALOG = Case(
    command=("catalog", "import"),
    header=("code", "name_zh", "name_en", "category", "unit", "unit_weight_kg",
            "unit_volume_m3", "shelf_life_days", "rotation_lead_days"),
    rows=(
        ("RICE", "大米（10公斤）", "Rice 10 kg", "food_water", "bag", 10.2, 0.015, 1095, 60),
        ("COAT", "棉大衣", "Cotton coat", "clothing", "piece", 1.8, 0.02, 3650, 60),
    ),
    read=_query(
        "SELECT code, name_zh, unit_weight_kg, shelf_life_days, rotation_lead_days FROM item "
        "WHERE code IN ('RICE', 'COAT') ORDER BY code"
    ),
    expected=(("COAT", "棉大衣", 1.8, 3650, 60), ("RICE", "大米（10公斤）", 10.2, 1095, 60)),
    number=7,
    grouped=("1,095", "3,650"),
    text_number=5,
    chinese="棉",
    merged=8,
    required=5,
    title="物资目录 (catalogue)",
)  # fmt: skip

BENIGN = ("title_row", "blank_rows", "grouped_numbers", "serial_dates", "slash_dates", "merged")
MALFORMED = (
    "missing_column",
    "extra_values",
    "text_in_number",
    "negative_number",
    "unknown_code",
    "damaged_byte",
    "truncated",
    "old_xls",
)


def _cells(case: Case, benign: set[str], malformed: str | None) -> list[list[object]]:
    """The sheet as cell values (None: blank), before it is written in some format."""
    header = list(case.header)
    rows = [list(r) for r in case.rows]
    if "grouped_numbers" in benign:
        rows[0][case.number], rows[1][case.number] = case.grouped
    if case.date is not None and "serial_dates" in benign:
        rows[0][case.date] = rows[1][case.date] = SERIAL_2026_01_01
    elif case.date is not None and "slash_dates" in benign:
        rows[0][case.date] = rows[1][case.date] = "2026/1/1"
    if malformed == "missing_column":
        header.pop(case.required)
        rows = [r[: case.required] + r[case.required + 1 :] for r in rows]
    elif malformed == "extra_values":
        rows[1] = [*rows[1], "stray"]
    elif malformed == "text_in_number":
        rows[1][case.text_number] = "six hours"
    elif malformed == "negative_number":
        rows[0][case.number] = -5
    elif malformed == "unknown_code":
        assert case.code_ref is not None
        rows[1][case.code_ref] = "NOWHERE"
    table: list[list[object]] = [header, *rows]
    if "blank_rows" in benign:
        table.insert(2, [None] * len(header))
        table.append([None] * len(header))
    if "title_row" in benign:
        table.insert(0, [case.title])
    return table


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, date):
        return value.isoformat()
    text = str(value)
    return f'"{text}"' if "," in text else text


def write(path_base: Path, case: Case, fmt: str, benign: set[str], malformed: str | None) -> Path:
    """Write the sheet as a workbook or as CSV in one of the encodings."""
    table = _cells(case, benign, malformed)
    if fmt == "xlsx" or malformed == "truncated":
        book = Workbook()
        sheet = book.active
        assert sheet is not None
        for row in table:
            sheet.append(row)
        if "merged" in benign and malformed != "missing_column":
            # equal cells of the two data rows, merged as a keeper would
            first = next(i for i, r in enumerate(table, start=1) if r and r[0] == case.rows[0][0])
            second = next(i for i, r in enumerate(table, start=1) if r and r[0] == case.rows[1][0])
            column = case.merged + 1
            if (
                second == first + 1
                and table[first - 1][case.merged] == table[second - 1][case.merged]
            ):
                sheet.cell(second, column).value = None
                sheet.merge_cells(
                    start_row=first, start_column=column, end_row=second, end_column=column
                )
        buffer = BytesIO()
        book.save(buffer)
        data = buffer.getvalue()
        if malformed == "truncated":
            data = data[: len(data) // 2]
        path = path_base.with_suffix(".xlsx")
        path.write_bytes(data)
        return path
    text = "\n".join(",".join(_text(v) for v in row) for row in table) + "\n"
    codec = {"utf8": "utf-8", "bom": "utf-8-sig", "gbk": "gb18030"}[fmt]
    data = text.encode(codec)
    if malformed == "damaged_byte":
        at = data.index(case.chinese.encode("gb18030" if fmt == "gbk" else "utf-8"))
        data = data[:at] + b"\xff" + data[at:]
    if malformed == "old_xls":
        data = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + data
    path = path_base.with_suffix(".csv")
    path.write_bytes(data)
    return path


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    case=st.sampled_from([AGREEMENTS, CATALOG]),
    fmt=st.sampled_from(["utf8", "bom", "gbk", "xlsx"]),
    benign=st.sets(st.sampled_from(BENIGN)),
    malformed=st.one_of(st.none(), st.sampled_from(MALFORMED)),
)
def test_an_import_file_imports_exactly_or_is_refused_in_one_line(
    ledger: Relief,
    tmp_path: Path,
    case: Case,
    fmt: str,
    benign: set[str],
    malformed: str | None,
) -> None:
    """Exit 0 and exactly the intended rows, or exit 2, one line naming the file, and the
    ledger as it was."""
    if malformed == "unknown_code" and case.code_ref is None:
        malformed = "text_in_number"
    if malformed in ("damaged_byte", "old_xls") and fmt == "xlsx":
        fmt = "utf8"
    if case is AGREEMENTS and not _query("SELECT code FROM supplier")(ledger):
        write_csv(tmp_path / "suppliers.csv", "code,name,kind\nSM,连锁超市,supermarket\n")
        ledger.ok("reserves", "suppliers", "import", str(tmp_path / "suppliers.csv"))
    path = write(tmp_path / f"{case.command[0]}-{fmt}", case, fmt, benign, malformed)
    before = case.read(ledger)
    result = ledger(*case.command, str(path))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    if malformed is None:
        assert result.exit_code == 0, (fmt, benign, result.stderr)
        assert case.read(ledger) == list(case.expected)
        return
    assert result.exit_code == 2, (fmt, benign, malformed, result.stdout)
    message = result.stderr.strip()
    assert "\n" not in message
    assert message.startswith("error:")
    assert str(path) in message
    assert case.read(ledger) == before
