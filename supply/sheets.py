"""Keepers' spreadsheets: every import reads through here, every export writes through here.

Keepers work in Excel, so a file is read as what it is, not as what its name says: an
Excel workbook (.xlsx, first sheet) or CSV text in UTF-8, UTF-8 with a BOM, or GB18030/GBK
(what Excel saves in a Chinese locale), detected from the bytes. Then, whatever the format:

- the header is the first row naming every required column (a title row above it is
  skipped); blank rows are skipped; a merged cell's value fills every cell it spans;
- a date may be ISO (2026-06-01), as Excel shows it in China (2026/6/1, 2026年6月1日), run
  together (20260601) or an Excel serial day number (46174); a number may carry thousands
  separators (1,500) or full-width digits, and a whole number may be written 12.0;
- a bad cell or file is refused as `file:row: column: reason`, with the row number the
  spreadsheet shows, before anything is written; no error escapes as a traceback.
"""

import codecs
import csv
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
#: How much of a CSV file its encoding and delimiter are judged on.
SNIFF_BYTES = 1 << 20
#: Workbooks larger than this are read in read-only mode (streamed; merged cells not filled).
FULL_WORKBOOK_BYTES = 8 << 20
#: How many rows above the header a title may take.
HEADER_SEARCH_ROWS = 10
_ZIP = b"PK\x03\x04"
_OLE = b"\xd0\xcf\x11\xe0"  # the old binary .xls
_EXCEL_EPOCH = date(1899, 12, 30)
#: An Excel day number of 1927..2173 (five digits), with a time of day as a fraction.
_SERIAL = re.compile(r"^\d{5}(\.\d+)?$")
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


def encoding(path: Path, sample: bytes, *, whole: bool) -> str:
    """The codec of CSV bytes, judged on `sample` (the file's first bytes; all of it when
    `whole`): a BOM's (UTF-8 or UTF-16), else UTF-8 if the sample is valid UTF-8, else
    GB18030 (a superset of GBK and GB2312). A sample of mostly valid multi-byte UTF-8 with a
    damaged byte is refused at its line, rather than read as GB18030 garbage."""
    if sample.startswith(codecs.BOM_UTF8):
        codec = "utf-8-sig"
    elif sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        codec = "utf-16"
    else:
        try:
            codecs.getincrementaldecoder("utf-8")().decode(sample, final=whole)
            return "utf-8"
        except UnicodeDecodeError as exc:
            loose = sample.decode("utf-8", errors="replace")
            damaged = loose.count("\ufffd")
            fine = sum(1 for ch in loose if ord(ch) > 0x7F and ch != "\ufffd")
            if fine > damaged:  # mostly valid multi-byte UTF-8: a damaged UTF-8 file
                raise _bad_bytes(path, sample, exc, "utf-8") from None
        codec = "gb18030"
    try:
        codecs.getincrementaldecoder(codec)().decode(sample, final=whole)
    except UnicodeDecodeError as exc:
        what = "UTF-8 nor GB18030/GBK" if codec == "gb18030" else codec
        raise _bad_bytes(path, sample, exc, what) from None
    return codec


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
    """CSV records, streamed: the encoding and the delimiter are judged on the first
    `SNIFF_BYTES`, the rest is decoded line by line as it is read."""
    with path.open("rb") as raw:
        sample = raw.read(SNIFF_BYTES)
        whole = not raw.read(1)
    codec = encoding(path, sample, whole=whole)
    first = sample.split(b"\n", 1)[0].decode(codec, errors="replace")
    delimiter = next((d for d in (",", "\t", ";") if d in first), ",")
    reader = csv.reader(_lines(path, codec), delimiter=delimiter)
    start = 1
    try:
        for values in reader:
            yield start, values
            start = reader.line_num + 1
    except csv.Error as exc:
        raise InvalidInput(f"{path}:{reader.line_num}", f"not readable as CSV: {exc}") from None


def _lines(path: Path, codec: str) -> Iterator[str]:
    """The file's lines as text. A file judged UTF-8 on an all-ASCII beginning that turns
    out GB18030 further down is read on as GB18030 (ASCII reads the same in both)."""
    if codec == "utf-16":  # line ends are two bytes: let Python split them
        with path.open(encoding=codec, newline="") as handle:
            yield from handle
        return
    plain = True  # every line so far was ASCII
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                text = raw.decode(codec)
            except UnicodeDecodeError as exc:
                if codec != "utf-8" or not plain:
                    raise _bad_line(path, number, raw, exc, codec) from None
                codec = "gb18030"
                try:
                    text = raw.decode(codec)
                except UnicodeDecodeError as again:
                    raise _bad_line(path, number, raw, again, "UTF-8 nor GB18030/GBK") from None
            plain = plain and raw.isascii()
            yield text


def _bad_line(
    path: Path, number: int, raw: bytes, exc: UnicodeDecodeError, codec: str
) -> InvalidInput:
    error = _bad_bytes(path, raw, exc, codec)
    error.field = f"{path}:{number}"
    error.args = (f"{error.field}: {error.reason}",)
    return error


def _xlsx_rows(path: Path, sheet_name: str | None = None) -> Iterator[Row]:
    """The rows of the workbook's first sheet, or of the sheet named `sheet_name`."""
    from zipfile import BadZipFile

    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    # Opened as a file, so that a workbook saved under another name is read all the same.
    handle = path.open("rb")
    try:
        # Merged cells are only known to a fully loaded sheet; a huge workbook is streamed.
        streamed = path.stat().st_size > FULL_WORKBOOK_BYTES
        book = load_workbook(handle, data_only=True, read_only=streamed)
    except (InvalidFileException, BadZipFile, OSError, KeyError, ValueError, TypeError) as exc:
        handle.close()
        raise InvalidInput("file", f"{path} is not a readable .xlsx workbook ({exc})") from None
    try:
        sheet = book[sheet_name] if sheet_name is not None else book.worksheets[0]
        merged: dict[tuple[int, int], Any] = {}
        for rng in [] if streamed else sheet.merged_cells.ranges:  # type: ignore[union-attr]
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
    except (BadZipFile, KeyError, ValueError, OSError) as exc:
        raise InvalidInput("file", f"{path} is not a readable .xlsx workbook ({exc})") from None
    finally:
        book.close()
        handle.close()


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
    return list(iter_sheet(path, model, required=required))


def iter_sheet(
    path: Path, model: type[M], *, required: Sequence[str], chunk: int = 0
) -> Iterator[tuple[int, M]]:
    """`read_sheet`, a row at a time: a bulk import streams a file of hundreds of thousands
    of rows without holding it whole. The format and header are checked before the first
    row is yielded; a bad row raises when it is reached (the caller's transaction undoes
    what it wrote). `chunk` is accepted for callers that batch; rows come one by one."""
    _suffix(path)
    kind = sniff(path)
    rows = _xlsx_rows(path) if kind == "xlsx" else _csv_rows(path)
    header = _header(path, rows, required)
    return _validated(path, header, _records(path, header, rows), model, required=required)


def sheet_names(path: Path) -> list[str]:
    """The sheets of an .xlsx workbook, in order.

    Raises
    ------
    InvalidInput
        Not a readable .xlsx workbook.
    """
    from zipfile import BadZipFile

    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    if sniff(path) != "xlsx":
        raise InvalidInput("file", f"{path.name} is not an .xlsx workbook")
    try:
        book = load_workbook(path, read_only=True)
    except (InvalidFileException, BadZipFile, OSError, KeyError, ValueError, TypeError) as exc:
        raise InvalidInput(
            "file", f"{path.name} is not a readable .xlsx workbook ({exc})"
        ) from None
    try:
        return list(book.sheetnames)
    finally:
        book.close()


def read_workbook_sheet(
    path: Path, sheet: str, model: type[M], *, required: Sequence[str], label: str
) -> list[tuple[int, M]]:
    """`read_sheet` of one named sheet of a workbook (one of `sheet_names`); errors name
    `label` (the file and sheet as the user knows them) where `read_sheet` names the path:
    `label:row: column: reason`."""
    shown = Path(label)
    rows = _xlsx_rows(path, sheet)
    header = _header(shown, rows, required)
    return list(_validated(shown, header, _records(shown, header, rows), model, required=required))


#: Former names (of `supply.csvfiles`), kept for callers.
read_rows = read_sheet
iter_rows = iter_sheet


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
        if len(value) == 8 and value.isdigit():  # 20260601
            return f"{value[:4]}-{value[4:6]}-{value[6:]}"
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
    return list(_validated(path, header, rows, model, required=required))


def _validated(
    path: Path,
    header: list[str],
    rows: Iterable[tuple[int, dict[str, Any]]],
    model: type[M],
    *,
    required: Sequence[str],
) -> Iterator[tuple[int, M]]:
    missing = [c for c in required if c not in header]
    if missing:
        raise InvalidInput(f"{path}:1", f"missing column(s): {', '.join(missing)}")
    kinds = _kinds(model)
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
            yield line, model.model_validate(data)
        except ValidationError as exc:
            err = exc.errors()[0]
            column = ".".join(str(p) for p in err["loc"]) or "row"
            raise InvalidInput(f"{path}:{line}: {column}", _message(err)) from None


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
