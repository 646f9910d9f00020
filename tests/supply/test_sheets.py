"""The one reader of keepers' files: encodings, Excel's ways with dates and numbers, and
where a bad file is blamed."""

from datetime import date
from pathlib import Path

import pytest
from openpyxl import Workbook
from pydantic import BaseModel

from supply import sheets
from supply.errors import InvalidInput


class Row(BaseModel):
    code: str
    name: str
    qty: int
    day: date | None = None


def test_a_gbk_file_judged_ascii_at_first_is_read_on_as_gbk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past the sniffed beginning (all ASCII) the file turns out GBK: read, not refused."""
    monkeypatch.setattr(sheets, "SNIFF_BYTES", 64)
    lines = ["code,name,qty"] + [f"A{i},plain,{i}" for i in range(10)] + ["B1,棉被,5"]
    path = tmp_path / "late.csv"
    path.write_bytes("\n".join(lines).encode("gbk") + b"\n")
    rows = sheets.read_sheet(path, Row, required=("code", "name", "qty"))
    assert rows[-1] == (12, Row(code="B1", name="棉被", qty=5))


def test_a_damaged_utf8_file_is_refused_at_its_line(tmp_path: Path) -> None:
    """Valid UTF-8 Chinese with one broken byte: the line is named, not read as GB18030."""
    path = tmp_path / "damaged.csv"
    text = "code,name,qty\nA,饮用水,1\nB,棉被,2\n".encode()
    at = text.index("棉".encode())
    path.write_bytes(text[:at] + b"\xff" + text[at:])
    with pytest.raises(InvalidInput, match=r"damaged\.csv:3: not valid UTF-8"):
        sheets.read_sheet(path, Row, required=("code",))


def test_excel_dates_and_numbers_read_as_keepers_mean_them(tmp_path: Path) -> None:
    """A serial day number, 2026/6/1, 2026年6月1日; 1,500 and 12.0 as whole numbers; a title
    row above the header; a merged cell filling the rows it spans."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["盘点表 2026"])
    sheet.append(["code", "name", "qty", "day"])
    sheet.append(["A", "水", "1,500", 46174])
    sheet.append(["B", None, 12.0, "2026/6/1"])
    sheet.append(["C", "被", "12.0", "2026年6月1日"])
    sheet.merge_cells("B3:B4")
    path = tmp_path / "count.xlsx"
    book.save(path)
    rows = [r for _, r in sheets.read_sheet(path, Row, required=("code", "qty"))]
    assert [(r.name, r.qty, r.day) for r in rows] == [
        ("水", 1500, date(2026, 6, 1)),
        ("水", 12, date(2026, 6, 1)),
        ("被", 12, date(2026, 6, 1)),
    ]


def test_a_file_named_csv_that_is_a_workbook_is_read_as_one(tmp_path: Path) -> None:
    """The format is told from the bytes, not the name."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["code", "name", "qty"])
    sheet.append(["A", "x", 3])
    path = tmp_path / "really.xlsx"
    book.save(path)
    renamed = path.rename(tmp_path / "saved-as.csv")
    assert sheets.read_sheet(renamed, Row, required=("code",))[0][1].qty == 3


@pytest.mark.parametrize(
    ("text", "day"),
    [("46174", date(2026, 6, 1)), ("20260601", date(2026, 6, 1)), ("2026-6-1", date(2026, 6, 1))],
)
def test_date_spellings(tmp_path: Path, text: str, day: date) -> None:
    """An Excel day number, a run-together date and a short ISO date are the same day."""
    path = tmp_path / "d.csv"
    path.write_text(f"code,name,qty,day\nA,x,1,{text}\n", encoding="utf-8")
    assert sheets.read_sheet(path, Row, required=("code",))[0][1].day == day


def test_a_small_number_in_a_date_column_is_refused(tmp_path: Path) -> None:
    """5 is no plausible day: refused with its place, not read as 1900-01-04."""
    path = tmp_path / "d.csv"
    path.write_text("code,name,qty,day\nA,x,1,5\n", encoding="utf-8")
    with pytest.raises(InvalidInput, match=r"d\.csv:2: day"):
        sheets.read_sheet(path, Row, required=("code",))
