"""The ledger as the planner's problem: available stock, loads on the road, trucks out.

A re-plan mid-operation starts from the ledger as it is: each depot's lots are what is on
hand and not reserved (plus what the plans it replaces hold and have not sent), loads that
have left count towards their shelters, and the trucks carrying them are away until their
last stop and the drive home. Everything else of the scenario (shelters, roads, fleet) is
the planner's own, so new road closures and resident counts come with it.
"""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace

from sqlalchemy import select
from sqlmodel import Session, col

from optimizer.fefo import fefo_key
from optimizer.problem import Away, EnRoute, Lot, Problem
from supply.errors import DocumentState
from supply.models import (
    Balance,
    Batch,
    DispatchLoadRead,
    DispatchStatus,
    Item,
    Location,
    LocationKind,
)
from supply.services.dispatch.queries import Key, held_by, loads_on_the_road, plan_by_ref


@dataclass(frozen=True, slots=True)
class LedgerSnapshot:
    """A Problem built from the ledger, and what the planner should be told besides.

    `on_the_road` are departed loads heading to the problem's shelters (not stock any more);
    `missing_depots` are the problem's depots the ledger does not know (they get no lots);
    `freed_qty` is what the replaced plans' undeparted loads hold, counted as available.
    """

    problem: Problem
    on_the_road: tuple[DispatchLoadRead, ...]
    missing_depots: tuple[str, ...]
    freed_qty: int


def ledger_snapshot(
    session: Session, problem: Problem, *, replacing: Sequence[str] = ()
) -> LedgerSnapshot:
    """See `problem_from_ledger`; this also says what is on the road and what is missing."""
    codes = {d.code for d in problem.depots}
    items = {i.code for i in problem.items}
    depots: dict[str, int] = dict(
        session.execute(
            select(col(Location.code), col(Location.id)).where(
                col(Location.code).in_(codes),
                col(Location.kind) == LocationKind.DEPOT.value,
            )
        ).all()
    )
    freed: dict[Key, int] = defaultdict(int)
    for ref in replacing:
        old = plan_by_ref(session, ref)
        if old.status != DispatchStatus.APPROVED:
            raise DocumentState("replacing", f"plan {old.number} is {old.status}")
        for key, qty in held_by(session, old).items():
            freed[key] += qty
    rows = session.execute(
        select(
            col(Balance.location_id),
            col(Balance.item_id),
            col(Balance.batch_id),
            col(Location.code),
            col(Item.code),
            col(Batch.lot),
            col(Batch.expires_on),
            col(Batch.produced_on),
            col(Balance.on_hand) - col(Balance.reserved),
        )
        .join(Location, col(Location.id) == col(Balance.location_id))
        .join(Item, col(Item.id) == col(Balance.item_id))
        .join(Batch, col(Batch.id) == col(Balance.batch_id))
        .where(
            col(Balance.location_id).in_(list(depots.values())),
            col(Item.code).in_(items),
            col(Balance.on_hand) > 0,
        )
    ).all()
    lots: list[Lot] = []
    for loc_id, item_id, batch_id, depot, item, lot, expires_on, produced_on, available in rows:
        qty = int(available) + freed.get((loc_id, item_id, batch_id), 0)
        if qty > 0:
            lots.append(Lot(depot, item, lot, qty, expires_on, produced_on))
    lots.sort(key=lambda t: (t.depot, t.item, *fefo_key(t.expires_on, t.produced_on, t.lot)))
    road = loads_on_the_road(session, shelters={s.code for s in problem.shelters})
    # A load without a planned arrival (approved before arrivals were kept) is counted as
    # arriving by the deadline: it left on a plan that promised it in time.
    en_route = tuple(
        EnRoute(
            ld.shelter,
            ld.item,
            ld.qty,
            ld.arrival_hours if ld.arrival_hours is not None else problem.deadline_hours,
            ld.depot,
        )
        for ld in road
        if ld.item in items
    )
    # A truck carrying loads is out until its last such stop, then drives home.
    last: dict[str, DispatchLoadRead] = {}
    for ld in road:
        if ld.vehicle is None or ld.stop is None or ld.arrival_hours is None:
            continue
        if ld.vehicle not in last or ld.stop > (last[ld.vehicle].stop or 0):
            last[ld.vehicle] = ld
    away = tuple(
        Away(vehicle, ld.depot, ld.shelter, ld.arrival_hours or 0.0)
        for vehicle, ld in sorted(last.items())
    )
    return LedgerSnapshot(
        problem=replace(
            problem,
            lots=tuple(lots),
            en_route=problem.en_route + en_route,
            away=problem.away + away,
        ),
        on_the_road=tuple(road),
        missing_depots=tuple(sorted(codes - depots.keys())),
        freed_qty=sum(freed.values()),
    )


def problem_from_ledger(
    session: Session, problem: Problem, *, replacing: Sequence[str] = ()
) -> Problem:
    """The problem with its lots replaced by the ledger's available stock at its depots.

    Each lot is available = on hand − reserved, in whole units, for the problem's depots and
    items only; expired lots are kept with their expiry (the planner never ships them).
    Stock on the road is not in any depot, so it is not offered again: it becomes the
    problem's `en_route` loads, which count towards their shelters. Everything else of
    the problem (shelters, roads, fleet, deadline, `today`) is kept, so a re-plan takes the
    scenario's new road closures and resident counts.

    Parameters
    ----------
    replacing
        Approved plans (numbers) the new plan will replace: their undeparted reservations
        count as available, as approving with `replaces` will release them.

    Raises
    ------
    NotFound, DocumentState
        A plan in `replacing` is unknown, or no longer approved.
    """
    return ledger_snapshot(session, problem, replacing=replacing).problem
