"""Reading keepers' CSV files into validated rows, with `file:line: column: reason` errors."""

import csv
from collections.abc import Iterable, Iterator
from itertools import islice
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from supply.errors import InvalidInput

M = TypeVar("M", bound=BaseModel)


def _rows(path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        if reader.fieldnames is None:
            raise InvalidInput(str(path), "the file is empty (a header row is needed)")
        for row in reader:
            if None in row:
                raise InvalidInput(f"{path}:{reader.line_num}", "more values than header columns")
            yield reader.line_num, row


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
    required: tuple[str, ...],
) -> list[tuple[int, M]]:
    """Check the header has the required columns, then validate every row or raise on the
    first bad one. Blank cells (None, or text of only spaces) become None; fully blank
    rows are skipped. `rows` carry the line (or spreadsheet row) number used in errors."""
    missing = [c for c in required if c not in header]
    if missing:
        raise InvalidInput(f"{path}:1", f"missing column(s): {', '.join(missing)}")
    out: list[tuple[int, M]] = []
    for line, raw in rows:
        data = {
            k: (v.strip() if isinstance(v, str) else v)
            for k, v in raw.items()
            if k is not None and k != ""
        }
        data = {k: (None if v == "" else v) for k, v in data.items()}
        if all(v is None for v in data.values()):
            continue
        try:
            out.append((line, model.model_validate(data)))
        except ValidationError as exc:
            err = exc.errors()[0]
            column = ".".join(str(p) for p in err["loc"]) or "row"
            raise InvalidInput(f"{path}:{line}: {column}", _message(err)) from exc
    return out


def read_rows(path: Path, model: type[M], *, required: tuple[str, ...]) -> list[tuple[int, M]]:
    """Parse every row or raise on the first bad one; blank cells become None."""
    return list(iter_rows(path, model, required=required))


def iter_rows(
    path: Path, model: type[M], *, required: tuple[str, ...], chunk: int = 2000
) -> Iterator[tuple[int, M]]:
    """`read_rows`, a chunk at a time: a file of hundreds of thousands of rows is never
    held whole as models (a bulk import streams it). Errors are raised when reached."""
    if not path.exists():
        raise InvalidInput("file", f"{path} does not exist")
    with path.open(newline="", encoding="utf-8-sig") as handle:
        header = next(csv.reader(handle), None)
    if not header:
        raise InvalidInput(str(path), "the file is empty (a header row is needed)")
    validate_rows(path, header, [], model, required=required)  # the header, even with no rows
    raw = _rows(path)
    while part := list(islice(raw, chunk)):
        yield from validate_rows(path, header, part, model, required=required)
