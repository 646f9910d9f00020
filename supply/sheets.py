"""Keepers' spreadsheets: CSV or Excel (.xlsx) in, CSV or Excel out, chosen by the suffix.

Excel rows are validated exactly like CSV lines (`supply.csvfiles.validate_rows`), so a bad
cell is reported as `file:row: column: reason` with the row number Excel shows. Cells come
back from Excel typed (numbers, dates); they are turned into the text a CSV would hold, so
one set of row models serves both formats.
"""

import csv
from collections.abc import Iterator, Sequence
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel

from supply.csvfiles import read_rows, validate_rows
from supply.errors import InvalidInput

M = TypeVar("M", bound=BaseModel)

SUFFIXES = (".csv", ".xlsx")


def _suffix(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise InvalidInput("file", f"{path}: use a .csv or .xlsx file, not {suffix or 'no suffix'}")
    return suffix


def _cell_text(value: Any) -> str | None:
    """A typed Excel cell as the text a keeper would have typed into a CSV."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        if (value.hour, value.minute, value.second, value.microsecond) == (0, 0, 0, 0):
            return value.date().isoformat()
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value)


def _xlsx_rows(path: Path) -> tuple[list[str], Iterator[tuple[int, dict[str, Any]]]]:
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, OSError, KeyError, ValueError) as exc:
        raise InvalidInput("file", f"{path} is not a readable .xlsx workbook ({exc})") from exc
    sheet = book.worksheets[0]
    rows = sheet.iter_rows(values_only=True)
    first = next(rows, None)
    header = [(_cell_text(c) or "").strip() for c in first] if first else []
    if not any(header):
        book.close()
        raise InvalidInput(str(path), "the first sheet is empty (a header row is needed)")

    def body() -> Iterator[tuple[int, dict[str, Any]]]:
        try:
            for number, values in enumerate(rows, start=2):
                extra = [v for v in values[len(header) :] if v is not None]
                if extra:
                    raise InvalidInput(f"{path}:{number}", "more values than header columns")
                yield (
                    number,
                    {name: _cell_text(value) for name, value in zip(header, values, strict=False)},
                )
        finally:
            book.close()

    return header, body()


def read_sheet(path: Path, model: type[M], *, required: tuple[str, ...]) -> list[tuple[int, M]]:
    """Every row of a .csv or .xlsx file (its first sheet), validated, with its row number."""
    suffix = _suffix(path)
    if not path.exists():
        raise InvalidInput("file", f"{path} does not exist")
    if suffix == ".csv":
        return read_rows(path, model, required=required)
    header, rows = _xlsx_rows(path)
    return validate_rows(path, header, rows, model, required=required)


def _csv_cell(value: Any) -> Any:
    """A value as a keeper would type it: no "2.0" for two hours, ISO dates, blank for None."""
    if value is None:
        return ""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _plain(value: Any) -> Any:
    """What a cell holds: numbers stay numbers and dates dates, in Excel; text in CSV."""
    if isinstance(value, Decimal):
        return float(value)
    return value


def write_sheet(
    path: Path, header: Sequence[str], rows: Sequence[Sequence[Any]], *, title: str
) -> int:
    """Write a header and rows to a .csv or .xlsx file; returns the number of rows.

    The columns are those the matching import reads, so an exported file imports back.
    """
    suffix = _suffix(path)
    if suffix == ".csv":
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(header)
            for row in rows:
                writer.writerow(
                    [
                        "" if v is None else (v.isoformat() if isinstance(v, date) else v)
                        for v in row
                    ]
                )
        return len(rows)
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = title[:31]
    sheet.append(list(header))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append([_plain(v) for v in row])
    for column, name in zip(sheet.columns, header, strict=False):
        width = max([len(name), *(len(str(c.value)) for c in column if c.value is not None)])
        sheet.column_dimensions[column[0].column_letter].width = min(max(width + 2, 8), 60)
    for row_cells in sheet.iter_rows(min_row=2):
        for cell in row_cells:
            if isinstance(cell.value, date):
                cell.number_format = "yyyy-mm-dd"
    book.save(path)
    return len(rows)
