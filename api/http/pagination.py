"""Cursor pagination: a page of a list and an opaque cursor for the next one.

The cursor holds the sort key of the last row given (base64 of JSON), not an offset, so a
row added or removed meanwhile neither repeats nor skips another. Lists are sorted here by
that key, which makes the order the same on SQLite and PostgreSQL.
"""

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from typing import Annotated, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel, Field

from supply.errors import InvalidInput

R = TypeVar("R")
T = TypeVar("T")

SortKey = tuple[str | int, ...]

Limit = Annotated[int, Query(ge=1, le=1000, description="Rows per page.")]
Cursor = Annotated[
    str | None, Query(max_length=2000, description="`next_cursor` of the previous page.")
]


class Page(BaseModel, Generic[T]):
    """One page of a list; `next_cursor` is null on the last page."""

    items: list[T]
    next_cursor: str | None = Field(default=None, description="Pass as `cursor` for more.")


def _encode(key: SortKey) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(key)).encode()).decode().rstrip("=")


def _decode(cursor: str) -> SortKey:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        value = json.loads(raw)
    except (binascii.Error, ValueError):
        raise InvalidInput("cursor", "not a cursor this server gave") from None
    if not isinstance(value, list) or not all(
        isinstance(v, str | int) and not isinstance(v, bool) for v in value
    ):
        raise InvalidInput("cursor", "not a cursor this server gave")
    return tuple(value)


def paginate(
    rows: Sequence[R], *, key: Callable[[R], SortKey], limit: int, cursor: str | None
) -> tuple[list[R], str | None]:
    """The rows after `cursor` in `key` order, at most `limit`, and the next cursor."""
    ordered = sorted(rows, key=key)
    if cursor is not None:
        after = _decode(cursor)
        try:
            ordered = [r for r in ordered if key(r) > after]
        except TypeError:
            raise InvalidInput("cursor", "belongs to another list") from None
    page = ordered[:limit]
    more = len(ordered) > limit
    return page, (_encode(key(page[-1])) if more else None)
