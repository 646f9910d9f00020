"""Reading keepers' CSV files into validated rows, with `file:line: column: reason` errors."""

import csv
from collections.abc import Iterator
from pathlib import Path
from typing import TypeVar

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


def read_rows(path: Path, model: type[M], *, required: tuple[str, ...]) -> list[tuple[int, M]]:
    """Parse every row or raise on the first bad one; blank cells become None."""
    if not path.exists():
        raise InvalidInput("file", f"{path} does not exist")
    with path.open(newline="", encoding="utf-8-sig") as handle:
        header = next(csv.reader(handle), None)
    if not header:
        raise InvalidInput(str(path), "the file is empty (a header row is needed)")
    missing = [c for c in required if c not in header]
    if missing:
        raise InvalidInput(f"{path}:1", f"missing column(s): {', '.join(missing)}")
    out: list[tuple[int, M]] = []
    for line, raw in _rows(path):
        if not any((v or "").strip() for v in raw.values()):
            continue
        data = {k: (v.strip() if v and v.strip() else None) for k, v in raw.items()}
        try:
            out.append((line, model.model_validate(data)))
        except ValidationError as exc:
            err = exc.errors()[0]
            column = ".".join(str(p) for p in err["loc"]) or "row"
            raise InvalidInput(f"{path}:{line}: {column}", err["msg"]) from exc
    return out
