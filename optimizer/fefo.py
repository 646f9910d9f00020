"""First expiry, first out (FEFO): the one ordering of lots, shared by the planner (which
lots a plan ships) and the ledger (which lots an issue takes), so a plan's lots are the ones
a keeper would pick. Ties go to the lot produced first, then to the lot code."""

from datetime import date


def fefo_key(expires_on: date | None, produced_on: date | None, lot: str) -> tuple[date, date, str]:
    """Sort key: soonest expiry first (no expiry last), then earliest production (unknown
    last), then lot code."""
    return (expires_on or date.max, produced_on or date.max, lot)
