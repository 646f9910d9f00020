"""Keepers' spreadsheets: every import reads through here, every export writes through here.

Keepers work in Excel, so a file is read as what it is, not as what its name says: an
Excel workbook (.xlsx, first sheet) or CSV text in UTF-8, UTF-8 with a BOM, or GB18030/GBK
(what Excel saves in a Chinese locale), detected from the bytes. Then, whatever the format:

- the header is the first row naming every required column (a title row above it is
  skipped); blank rows are skipped; a merged cell's value fills every cell it spans;
- a date may be ISO (2026-06-01), as Excel shows it in China (2026/6/1, 2026年6月1日) or an
  Excel serial day number (46174); a number may carry thousands separators (1,500) or
  full-width digits, and a whole number may be written 12.0;
- a bad cell or file is refused as `file:row: column: reason`, with the row number the
  spreadsheet shows, before anything is written; no error escapes as a traceback.
"""

import codecs
import csv
import io
import re
import types
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

from supply.errors import InvalidInput

M = TypeVar("M", bound=BaseModel)

SUFFIXES = (".csv", ".xlsx")
#: How many rows above the header a title may take.
HEADER_SEARCH_ROWS = 10
_ZIP = b"PK\x03\x04"
_OLE = b"\xd0\xcf\x11\xe0"  # the old binary .xls
_EXCEL_EPOCH = date(1899, 12, 30)
_SERIAL = re.compile(r"^\d{1,7}(\.\d+)?$")
_CN_DATE = re.compile(r"^(\d{4})\s*[/.年-]\s*(\d{1,2})\s*[/.月-]\s*(\d{1,2})\s*日?$")
_CN_DATETIME = re.compile(
    r"^(\d{4})[/.-](\d{1,2})[/.-](\d{1,2})[ T](\d{1,2}):(\d{2})(?::(\d{2}))?(.*)$"
)
_GROUPED = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$")
_WHOLE = re.compile(r"^[+-]?\d+\.0*$")


# ---------------------------------------------------------------------------- format


def _suffix(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise InvalidInput("file", f"{path}: use a .csv or .xlsx file, not {suffix or 'no suffix'}")
    return suffix


def sniff(path: Path) -> str:
    """ "xlsx" or "csv", from the file's first bytes (a workbook is a zip archive)."""
    if not path.exists():
        raise InvalidInput("file", f"{path} does not exist")
    if path.is_dir():
        raise InvalidInput("file", f"{path} is a folder, not a file")
    with path.open("rb") as handle:
        head = handle.read(8)
    if head.startswith(_ZIP):
        return "xlsx"
    if head.startswith(_OLE):
        raise InvalidInput(
            str(path), "an old Excel .xls workbook: save it as .xlsx (Excel Workbook) or CSV"
        )
    return "csv"


def decode(path: Path, raw: bytes) -> str:
    """CSV bytes as text: UTF-8 (with or without BOM), UTF-16 with BOM, else GB18030 (a
    superset of GBK and GB2312). A UTF-8 file with a damaged byte is refused at its line,
    rather than read as GB18030 garbage."""
    for bom, codec in (
        (codecs.BOM_UTF8, "utf-8"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    ):
        if raw.startswith(bom):
            try:
                return raw.decode("utf-8-sig" if codec == "utf-8" else codec)
            except UnicodeDecodeError as exc:
                raise _bad_bytes(path, raw, exc, codec) from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        loose = raw.decode("utf-8", errors="replace")
        damaged = loose.count("\ufffd")
        fine = sum(1 for ch in loose if ord(ch) > 0x7F and ch != "\ufffd")
        if fine > damaged:  # mostly valid multi-byte UTF-8: a damaged UTF-8 file
            raise _bad_bytes(path, raw, exc, "utf-8") from None
    try:
        return raw.decode("gb18030")
    except UnicodeDecodeError as exc:
        raise _bad_bytes(path, raw, exc, "UTF-8 nor GB18030/GBK") from None


def _bad_bytes(path: Path, raw: bytes, exc: UnicodeDecodeError, codec: str) -> InvalidInput:
    line = raw.count(b"\n", 0, exc.start) + 1
    what = f"neither {codec}" if " nor " in codec else f"not valid {codec.upper()}"
    return InvalidInput(
        f"{path}:{line}",
        f"{what} text (byte 0x{raw[exc.start]:02x}); save the file as CSV UTF-8 or .xlsx",
    )


# ---------------------------------------------------------------------------- rows


Row = tuple[int, list[Any]]  # (the row number a keeper sees, cell values)


def _csv_rows(path: Path) -> Iterator[Row]:
    text = decode(path, path.read_bytes())
    first = text.split("\n", 1)[0]
    delimiter = (
        ","
        if "," in first or not ("\t" in first or ";" in first)
        else ("\t" if "\t" in first else ";")
    )
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        start = 1
        for values in reader:
            yield start, values
            start = reader.line_num + 1
    except csv.Error as exc:
        raise InvalidInput(f"{path}:{reader.line_num}", f"not readable as CSV: {exc}") from None


def _xlsx_rows(path: Path) -> Iterator[Row]:
    from zipfile import BadZipFile

    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        # Not read-only: merged cells are only known to a fully loaded sheet.
        book = load_workbook(path, data_only=True)
    except (InvalidFileException, BadZipFile, OSError, KeyError, ValueError, TypeError) as exc:
        raise InvalidInput("file", f"{path} is not a readable .xlsx workbook ({exc})") from None
    try:
        sheet = book.worksheets[0]
        merged: dict[tuple[int, int], Any] = {}
        for rng in sheet.merged_cells.ranges:
            value = sheet.cell(rng.min_row, rng.min_col).value
            for r in range(rng.min_row, rng.max_row + 1):
                for c in range(rng.min_col, rng.max_col + 1):
                    merged[(r, c)] = value
        for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            cells = [
                merged.get((number, col), v) if v is None else v
                for col, v in enumerate(values, start=1)
            ]
            yield number, [_cell_text(v) for v in cells]
    finally:
        book.close()


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


def _blank(values: Sequence[Any]) -> bool:
    return all(v is None or (isinstance(v, str) and not v.strip()) for v in values)


def _header(path: Path, rows: Iterator[Row], required: Sequence[str]) -> list[str]:
    """The first row naming every required column; rows above it (titles) are dropped.
    Without one, the error names the columns missing from the likeliest header row."""
    best: tuple[int, int, list[str]] | None = None  # (columns found, row number, names)
    for seen, (number, values) in enumerate(rows):
        if _blank(values):
            continue
        names = [unicodedata.normalize("NFKC", (v or "").strip()).lstrip("\ufeff") for v in values]
        found = sum(c in names for c in required)
        if found == len(required):
            repeated = sorted({n for n in names if n and names.count(n) > 1})
            if repeated:
                shown = ", ".join(repeated)
                raise InvalidInput(f"{path}:{number}", f"column(s) repeated: {shown}")
            return names
        if best is None or found > best[0]:
            best = (found, number, names)
        if seen >= HEADER_SEARCH_ROWS:
            break
    if best is None:
        raise InvalidInput(str(path), "the file is empty (a header row is needed)")
    missing = [c for c in required if c not in best[2]]
    raise InvalidInput(f"{path}:{best[1]}", f"missing column(s): {', '.join(missing)}")


def read_sheet(path: Path, model: type[M], *, required: Sequence[str]) -> list[tuple[int, M]]:
    """Every row of a .csv or .xlsx file (its first sheet), validated, with its row number.

    Raises
    ------
    InvalidInput
        `file:row: column: reason` for the first bad row; nothing is returned then.
    """
    _suffix(path)
    kind = sniff(path)
    rows = _xlsx_rows(path) if kind == "xlsx" else _csv_rows(path)
    header = _header(path, rows, required)
    return validate_rows(path, header, _records(path, header, rows), model, required=required)


#: The former name, kept for the scenario loader and other callers.
read_rows = read_sheet


def _records(
    path: Path, header: list[str], rows: Iterator[Row]
) -> Iterator[tuple[int, dict[str, Any]]]:
    width = len(header)
    for number, values in rows:
        stray = [
            v
            for i, v in enumerate(values)
            if v is not None and str(v).strip() and (i >= width or not header[i])
        ]
        if stray:
            raise InvalidInput(
                f"{path}:{number}", f"more values than header columns ({str(stray[0])[:40]!r})"
            )
        yield number, dict(zip(header, values, strict=False))


# ---------------------------------------------------------------------------- validation


def _kinds(model: type[BaseModel]) -> dict[str, str]:
    """Column -> "date", "datetime", "int" or "number" for the fields that need cleaning."""
    out: dict[str, str] = {}
    for name, info in model.model_fields.items():
        types_ = _plain_types(info.annotation)
        column = info.alias or name
        if datetime in types_:
            out[column] = "datetime"
        elif date in types_:
            out[column] = "date"
        elif int in types_ and bool not in types_:
            out[column] = "int"
        elif float in types_ or Decimal in types_:
            out[column] = "number"
    return out


def _plain_types(annotation: Any) -> set[Any]:
    origin = get_origin(annotation)
    if origin is Union or origin is types.UnionType:
        return set().union(*(_plain_types(a) for a in get_args(annotation)))
    if origin is not None and get_args(annotation):  # Annotated[...] and friends
        return _plain_types(get_args(annotation)[0])
    return {annotation}


def _clean(kind: str, text: str) -> str:
    """A cell's text made parseable: see the module docstring."""
    value = unicodedata.normalize("NFKC", text).strip()
    if kind in ("int", "number"):
        if _GROUPED.match(value):
            value = value.replace(",", "")
        if kind == "int" and _WHOLE.match(value):
            value = value.split(".", 1)[0]
        return value
    if kind == "date":
        if _SERIAL.match(value):
            return _serial(value).date().isoformat()
        match = _CN_DATE.match(value)
        if match:
            y, m, d = (int(g) for g in match.groups())
            return f"{y:04d}-{m:02d}-{d:02d}"
        return value
    # datetime: a serial day number with a fraction, or 2026/6/1 9:00[+08:00]
    if _SERIAL.match(value):
        return _serial(value).isoformat()
    match = _CN_DATETIME.match(value)
    if match:
        year, month, day, hour, minute, second, zone = match.groups()
        return (
            f"{int(year):04d}-{int(month):02d}-{int(day):02d}T{int(hour):02d}:{minute}:"
            f"{second or '00'}{zone.strip()}"
        )
    return value


def _serial(value: str) -> datetime:
    days = float(value)
    return datetime.combine(_EXCEL_EPOCH, datetime.min.time()) + timedelta(days=days)


def _message(error: Any) -> str:
    """Pydantic's message without the "Value error, " it puts before a validator's own."""
    msg = str(error["msg"])
    prefix = "Value error, "
    return msg[len(prefix) :] if msg.startswith(prefix) else msg


def validate_rows(
    path: Path,
    header: list[str],
    rows: Iterable[tuple[int, dict[str, Any]]],
    model: type[M],
    *,
    required: Sequence[str],
) -> list[tuple[int, M]]:
    """Check the header has the required columns, then validate every row or raise on the
    first bad one. Blank cells (None, or text of only spaces) become None; fully blank
    rows are skipped. `rows` carry the line (or spreadsheet row) number used in errors."""
    missing = [c for c in required if c not in header]
    if missing:
        raise InvalidInput(f"{path}:1", f"missing column(s): {', '.join(missing)}")
    kinds = _kinds(model)
    out: list[tuple[int, M]] = []
    for line, raw in rows:
        data: dict[str, Any] = {}
        for k, v in raw.items():
            if k is None or k == "":
                continue
            if isinstance(v, str):
                v = v.strip()
                if v == "":
                    v = None
                elif k in kinds:
                    v = _clean(kinds[k], v)
            data[k] = v
        if all(v is None for v in data.values()):
            continue
        try:
            out.append((line, model.model_validate(data)))
        except ValidationError as exc:
            err = exc.errors()[0]
            column = ".".join(str(p) for p in err["loc"]) or "row"
            raise InvalidInput(f"{path}:{line}: {column}", _message(err)) from None
    return out


# ---------------------------------------------------------------------------- writing


def _plain(value: Any) -> Any:
    """What a cell holds: numbers stay numbers and dates dates, in Excel; text in CSV."""
    if isinstance(value, Decimal):
        return float(value)
    return value


def write_sheet(
    path: Path, header: Sequence[str], rows: Sequence[Sequence[Any]], *, title: str
) -> int:
    """Write a header and rows to a .csv (UTF-8) or .xlsx file; returns the number of rows.

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
