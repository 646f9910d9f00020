"""First expiry, first out is one policy: the planner's lot pool and the ledger's picking
take the same lots in the same order, ties included."""

from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from optimizer.problem import Lot
from optimizer.sources import LotPool
from supply.picking import Candidate, PickPolicy, pick
from tests.optimizer.instances import problem

TODAY = date(2026, 6, 1)
days = st.one_of(st.none(), st.integers(-3, 6).map(lambda n: TODAY + timedelta(days=30 * n)))
lots = st.lists(
    st.tuples(st.sampled_from("ABCDEFGH"), days, days, st.integers(1, 50)),
    min_size=1,
    max_size=8,
    unique_by=lambda t: t[0],
)


@given(lots=lots, qty=st.integers(1, 300))
def test_planner_and_ledger_take_the_same_lots(
    lots: list[tuple[str, date | None, date | None, int]], qty: int
) -> None:
    """Same candidates, same quantity: same (lot, units) sequence from both, expired lots
    skipped by both, equal expiries broken by production date and then lot code."""
    ledger = pick(
        [Candidate(i, code, n, expires, produced) for i, (code, expires, produced, n) in
         enumerate(lots)],
        qty,
        TODAY,
        policy=PickPolicy.FEFO,
    )  # fmt: skip
    pool = LotPool(
        problem(
            lots=tuple(
                Lot("D", "W", code, n, expires, produced) for code, expires, produced, n in lots
            ),
            today=TODAY,
        )
    )
    planner = pool.take("D", "W", qty)
    assert planner == [(c.lot, units) for c, units in ledger]
