"""Random sequences of keepers' operations never lose, create or double-count stock."""

from datetime import date

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule
from sqlalchemy import Engine, func, select
from sqlmodel import Session

from supply.errors import SupplyError
from supply.models import Balance, Document, DocumentStatus, Location, Movement, Tier
from supply.services import reversal, stock
from supply.services.reservations import consume, release, reserve
from supply.services.stock import Count
from supply.verify import verify
from tests.factories import make_depot, make_item

DEPOTS = ["A", "B", "C"]
LOTS = [("L1", date(2030, 1, 1)), ("L2", date(2031, 1, 1))]
TODAY = date(2026, 6, 1)


def run_machine(engine: Engine) -> None:
    class LedgerMachine(RuleBasedStateMachine):
        """Drives the real services; each step either posts or is refused cleanly."""

        @initialize()
        def setup(self) -> None:
            self.connection = engine.connect()
            self.outer = self.connection.begin()
            self.session = Session(bind=self.connection, join_transaction_mode="create_savepoint")
            make_item(self.session, "WATER")
            make_depot(self.session, "A", Tier.CITY)
            make_depot(self.session, "B", Tier.COUNTY, parent="A")
            make_depot(self.session, "C", Tier.COUNTY, parent="A")
            self.posted: list[str] = []
            self.reservations: list[int] = []

        def teardown(self) -> None:
            if hasattr(self, "session"):
                self.session.close()
                self.outer.rollback()
                self.connection.close()

        def attempt(self, action) -> object:  # type: ignore[no-untyped-def]
            """Run one service call in a savepoint; a refusal must leave no trace."""
            before = self.snapshot()
            try:
                with self.session.begin_nested():
                    return action()
            except SupplyError:
                assert self.snapshot() == before, "a refused operation changed the ledger"
                return None

        def snapshot(self) -> list[tuple[int, int, int, int, int]]:
            return list(
                self.session.execute(
                    select(
                        Balance.location_id,
                        Balance.item_id,
                        Balance.batch_id,
                        Balance.on_hand,
                        Balance.reserved,
                    ).order_by(Balance.id)
                ).all()
            )

        @rule(depot=st.sampled_from(DEPOTS), lot=st.sampled_from(LOTS), qty=st.integers(1, 50))
        def receive(self, depot: str, lot: tuple[str, date], qty: int) -> None:
            posted = self.attempt(
                lambda: stock.receive(
                    self.session,
                    depot=depot,
                    item="WATER",
                    qty=qty,
                    lot=lot[0],
                    expires_on=lot[1],
                    today=TODAY,
                )
            )
            if posted is not None:
                self.posted.append(posted.number)  # type: ignore[attr-defined]

        @rule(
            depot=st.sampled_from(DEPOTS),
            qty=st.integers(1, 60),
            lot=st.sampled_from([None, "L1", "L2"]),
        )
        def issue(self, depot: str, qty: int, lot: str | None) -> None:
            posted = self.attempt(
                lambda: stock.issue(
                    self.session, depot=depot, item="WATER", qty=qty, lot=lot, today=TODAY
                )
            )
            if posted is not None:
                self.posted.append(posted.number)  # type: ignore[attr-defined]

        @rule(
            src=st.sampled_from(DEPOTS),
            dst=st.sampled_from(DEPOTS),
            qty=st.integers(1, 60),
            transit=st.booleans(),
        )
        def transfer(self, src: str, dst: str, qty: int, transit: bool) -> None:
            posted = self.attempt(
                lambda: stock.transfer(
                    self.session,
                    source=src,
                    destination=dst,
                    item="WATER",
                    qty=qty,
                    in_transit=transit,
                    today=TODAY,
                )
            )
            if posted is not None:
                self.posted.append(posted.number)  # type: ignore[attr-defined]

        @rule(data=st.data())
        def arrive(self, data: st.DataObject) -> None:
            if self.posted:
                number = data.draw(st.sampled_from(self.posted))
                self.attempt(lambda: stock.arrive(self.session, number))

        @rule(depot=st.sampled_from(DEPOTS), lot=st.sampled_from(LOTS), counted=st.integers(0, 80))
        def count(self, depot: str, lot: tuple[str, date], counted: int) -> None:
            self.attempt(
                lambda: stock.stocktake(
                    self.session, depot=depot, counts=[Count("WATER", lot[0], counted)]
                )
            )

        @rule(data=st.data())
        def reverse(self, data: st.DataObject) -> None:
            if self.posted:
                number = data.draw(st.sampled_from(self.posted))
                self.attempt(lambda: reversal.reverse(self.session, number))

        @rule(depot=st.sampled_from(DEPOTS), qty=st.integers(1, 40))
        def reserve(self, depot: str, qty: int) -> None:
            made = self.attempt(
                lambda: reserve(self.session, depot=depot, item="WATER", qty=qty, today=TODAY)
            )
            if made:
                self.reservations.extend(r.id for r in made)  # type: ignore[attr-defined]

        @rule(data=st.data(), partial=st.booleans())
        def consume_or_release(self, data: st.DataObject, partial: bool) -> None:
            if self.reservations:
                rid = data.draw(st.sampled_from(self.reservations))
                if data.draw(st.booleans()):
                    self.attempt(lambda: release(self.session, rid))
                else:
                    self.attempt(lambda: consume(self.session, rid, qty=1 if partial else None))

        @invariant()
        def ledger_is_consistent(self) -> None:
            if not hasattr(self, "session"):
                return
            report = verify(self.session)
            assert report.ok, report.problems
            guarded = self.session.execute(
                select(Balance.on_hand, Balance.reserved).where(Balance.guarded)
            ).all()
            assert all(on_hand >= reserved >= 0 for on_hand, reserved in guarded)
            # Conservation: everything that exists anywhere sums to zero.
            total = self.session.scalar(select(func.coalesce(func.sum(Balance.on_hand), 0)))
            assert total == 0
            reversed_ = self.session.scalar(
                select(func.count())
                .select_from(Document)
                .where(Document.status == DocumentStatus.REVERSED.value)
            )
            reversals = self.session.scalar(
                select(func.count()).select_from(Document).where(Document.reverses_id.is_not(None))  # type: ignore[union-attr]
            )
            assert reversed_ == reversals
            assert self.session.scalar(select(func.count()).select_from(Location)) >= 9
            assert (
                self.session.scalar(
                    select(func.count()).select_from(Movement).where(Movement.qty == 0)
                )
                == 0
            )

    LedgerMachine.TestCase.settings = settings(
        max_examples=25,
        stateful_step_count=25,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    LedgerMachine.TestCase().runTest()


@pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SAWarning")
def test_random_operation_sequences_keep_the_ledger_consistent(engine: Engine) -> None:
    """After every step: balances equal rebuilt movements, no depot below zero or below
    reserved, stock is conserved, every reversed document has exactly one reversal."""
    run_machine(engine)
