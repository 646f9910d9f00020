"""Which lots to take when a keeper names none: pure ordering, no database.

A policy is a sort key over candidate lots; `pick` walks them in that order. Expired lots
are skipped unless explicitly allowed (they leave through write-offs, not issues).
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from optimizer.fefo import fefo_key


class PickPolicy(StrEnum):
    FEFO = "fefo"  # first expiry, first out: the default for relief supplies
    FIFO = "fifo"  # first produced (or received), first out


@dataclass(frozen=True, slots=True)
class Candidate:
    batch_id: int
    lot: str
    available: int
    expires_on: date | None
    produced_on: date | None


def _fefo_key(c: Candidate) -> tuple[date, date, str]:
    return fefo_key(c.expires_on, c.produced_on, c.lot)


def _fifo_key(c: Candidate) -> tuple[date, date, str]:
    return (c.produced_on or date.max, c.expires_on or date.max, c.lot)


_ORDER: dict[PickPolicy, Callable[[Candidate], tuple[date, date, str]]] = {
    PickPolicy.FEFO: _fefo_key,
    PickPolicy.FIFO: _fifo_key,
}


def usable(candidates: Sequence[Candidate], today: date, *, allow_expired: bool) -> int:
    """Units that `pick` could take."""
    return sum(
        c.available
        for c in candidates
        if c.available > 0 and (allow_expired or c.expires_on is None or c.expires_on >= today)
    )


def pick(
    candidates: Sequence[Candidate],
    qty: int,
    today: date,
    *,
    policy: PickPolicy = PickPolicy.FEFO,
    allow_expired: bool = False,
) -> list[tuple[Candidate, int]]:
    """Take `qty` units lot by lot in policy order; fewer if there are not enough.

    Returns (candidate, units) pairs; the caller decides whether a shortfall is an error.
    """
    taken: list[tuple[Candidate, int]] = []
    remaining = qty
    for cand in sorted(candidates, key=_ORDER[policy]):
        if remaining <= 0:
            break
        if cand.available <= 0:
            continue
        if not allow_expired and cand.expires_on is not None and cand.expires_on < today:
            continue
        units = min(cand.available, remaining)
        taken.append((cand, units))
        remaining -= units
    return taken
