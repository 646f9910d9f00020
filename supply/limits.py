"""The ledger's value limits: one set, checked in Python before any database sees a value.

SQLite stores any integer up to 2^63 - 1 and silently turns a larger sum into a REAL; it
keeps text of any length and any character. PostgreSQL refuses an int4 above 2^31 - 1, a
varchar beyond its length and a NUL byte, each as a driver error. Checking here, at the
services' and the ledger's edge, makes both databases accept and refuse the same values,
with a message that names the field, so a ledger kept on one moves to the other.

The figures (documented in README "Limits"):

- a movement line, a reservation or any quantity a keeper types: 1 .. `QTY_MAX` units;
- a balance (on hand, reserved; the outside-world locations go negative): within
  ±`BALANCE_MAX`, so a sum over thousands of balances still fits a 64-bit integer
  (stored as BIGINT on PostgreSQL);
- codes (items, depots) and lots up to `CODE_MAX` characters, names `NAME_MAX`, references
  `REFERENCE_MAX`, notes `NOTE_MAX`; no control characters (a note may hold line breaks and
  tabs), no lone surrogates.
"""

import unicodedata

from supply.errors import InvalidInput

QTY_MAX = 10**12
BALANCE_MAX = 10**15
CODE_MAX = 64
NAME_MAX = 200
REFERENCE_MAX = 100
ACTOR_MAX = 100
KEY_MAX = 200
NOTE_MAX = 2000
#: Residents a depot serves: more than any province holds, within PostgreSQL's INTEGER.
POPULATION_MAX = 1_500_000_000

_NOTE_SPACE = frozenset("\n\r\t")


def check_qty(field: str, qty: object, *, allow_zero: bool = False) -> int:
    """A whole number of units within 1 (0 with `allow_zero`) .. QTY_MAX; returns it."""
    low = 0 if allow_zero else 1
    if isinstance(qty, bool) or not isinstance(qty, int) or not low <= qty <= QTY_MAX:
        what = "a whole number >= 0" if allow_zero else "a positive whole number of units"
        raise InvalidInput(field, f"must be {what}, at most {QTY_MAX:,}, got {qty!r}")
    return qty


def check_text(field: str, value: str, max_length: int, *, multiline: bool = False) -> str:
    """Text within `max_length` characters and free of control characters; returns it."""
    if len(value) > max_length:
        raise InvalidInput(
            field, f"is {len(value):,} characters long; at most {max_length} are allowed"
        )
    for position, char in enumerate(value, start=1):
        if multiline and char in _NOTE_SPACE:
            continue
        category = unicodedata.category(char)
        if category in ("Cc", "Cs"):
            raise InvalidInput(
                field, f"holds a control character (U+{ord(char):04X}) at position {position}"
            )
    return value


def check_optional_text(
    field: str, value: str | None, max_length: int, *, multiline: bool = False
) -> str | None:
    if value is None:
        return None
    return check_text(field, value, max_length, multiline=multiline)


def check_code(field: str, value: str) -> str:
    """An item or depot code, or a lot: as keepers type them, within CODE_MAX."""
    return check_text(field, value, CODE_MAX)
