"""A plan from the ledger: depots, loading hours, fleet and agreements come from the ledger;
the scenario brings the disaster (shelters, residents, roads, norms, deadline).

The scenario may still add depots the ledger does not know (a neighbouring region's, with
the scenario's own stock and trucks) and may override the fleet; both are said in the
plan's notes. Agreements are offered to the planner as they stand at the plan's date:

- only those in force (active, valid that day, not exhausted), up to what is left under the
  contract (open call-offs count in full);
- a goods agreement whose last inspection found fewer units on site than remain is planned
  at the verified quantity; a capacity reserve found below its rate, at the verified rate;
- a capacity reserve (产能储备) produces `rate_per_hour` an hour once its lead time has
  passed, so it is offered hour by hour: source `CODE@k` is the k-th hour's output, ready at
  lead time + k. What reaches a shelter by the deadline is then what was produced in time
  to travel there. Output after the deadline is one last source (late by construction).
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

from sqlalchemy import func
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from optimizer.plan_document import TRANCHE_MARK
from optimizer.problem import Agreement as AgreementSource
from optimizer.problem import Depot, Problem, VehicleType
from supply.models import (
    DEFAULT_LOADING_HOURS,
    Agreement,
    AgreementKind,
    CallOff,
    CallOffStatus,
    FleetVehicle,
    Item,
    Location,
    LocationKind,
    Supplier,
)
from supply.services.agreements import (
    AgreementState,
    last_inspections,
    state_of,
    used_qty,
)
from supply.services.borrowing import Borrowing, plan_depots
from supply.services.dispatch.queries import plan_by_ref
from supply.services.snapshot import LedgerSnapshot, ledger_snapshot

#: A capacity reserve is offered hour by hour up to the deadline; more hours than this are
#: folded into the last piece (a planning horizon, not a limit on the contract).
MAX_HOURLY_PIECES = 72


@dataclass(frozen=True, slots=True)
class LedgerProblem:
    """The problem to plan, what the ledger snapshot found, and the notes for the plan."""

    snapshot: LedgerSnapshot
    notes: tuple[str, ...]

    @property
    def problem(self) -> Problem:
        return self.snapshot.problem


def ledger_problem(
    session: Session,
    scenario: Problem,
    *,
    replacing: Sequence[str] = (),
    scenario_fleet: bool = False,
    outside_depots: bool = False,
    borrow: Borrowing | None = None,
) -> LedgerProblem:
    """The scenario's disaster planned on the ledger's depots, stock, fleet and agreements.

    Parameters
    ----------
    scenario
        Shelters, residents, roads, norms, deadline, `today` and `now_hours` are kept; its
        agreements are replaced by the ledger's.
    replacing
        Approved plans this one will replace (see `snapshot.ledger_snapshot`).
    scenario_fleet
        Plan with the scenario's `fleet.csv` instead of the ledger's fleet registry (also
        done, and noted, when the ledger has no fleet registered at all).
    outside_depots
        Plan from the scenario's depots the ledger does not know too (a neighbouring
        region's), with the scenario's stock and trucks; approval reports their loads
        instead of reserving them. Otherwise they are only named in the notes.
    borrow
        Plan for one jurisdiction's depots only, and its sharing neighbours' as borrowed
        sources, ready `borrow.lead_hours` after their loading time (`borrowing`); the
        notes name them. None: every depot of the ledger is the plan's own.

    Raises
    ------
    NotFound, DocumentState
        A plan in `replacing` is unknown, or no longer approved.
    """
    notes: list[str] = []
    rows = list(
        session.scalars(
            select(Location)
            .where(col(Location.kind) == LocationKind.DEPOT.value, col(Location.active).is_(True))
            .order_by(col(Location.code))
        )
    )
    ledger_codes = {d.code for d in rows}
    borrowed: dict[str, float] = {}
    if borrow is not None:
        split = plan_depots(session, rows, borrow)
        rows = split.depots
        borrowed = dict.fromkeys(split.borrowed, borrow.lead_hours)
        if split.left_out:
            notes.append(
                f"depots outside jurisdiction {borrow.jurisdiction} and its sharing "
                "neighbours, not planned from: " + ", ".join(split.left_out)
            )
        if (note := split.note(borrow.lead_hours)) is not None:
            notes.append(note)
    placed = [d for d in rows if d.lat is not None and d.lon is not None]
    unplaced = [d.code for d in rows if d.lat is None or d.lon is None]
    if unplaced:
        notes.append("ledger depots without a position, not planned from: " + ", ".join(unplaced))

    outside = [d for d in scenario.depots if d.code not in ledger_codes]
    if outside and outside_depots:
        notes.append(
            "outside depots from the scenario (their stock and trucks are the scenario's): "
            + ", ".join(d.code for d in outside)
        )
    elif outside:
        notes.append(
            "scenario depots not in the ledger, not planned from (--outside-depots adds them): "
            + ", ".join(d.code for d in outside)
        )
        outside = []
    depots = tuple(
        Depot(
            d.code,
            d.name,
            d.tier or "",
            float(d.lat),  # type: ignore[arg-type]
            float(d.lon),  # type: ignore[arg-type]
            (d.loading_hours if d.loading_hours is not None else DEFAULT_LOADING_HOURS)
            + borrowed.get(d.code, 0.0),
        )
        for d in placed
    ) + tuple(outside)
    unloaded = [d.code for d in placed if d.loading_hours is None]
    if unloaded:
        notes.append(
            f"loading hours not recorded, planned as {DEFAULT_LOADING_HOURS:g} h: "
            + ", ".join(unloaded)
        )

    outside_codes = {d.code for d in outside}
    registry = _ledger_fleet(session, {d.code for d in rows} if borrow is not None else None)
    if scenario_fleet or not registry:
        fleet = scenario.fleet
        notes.append(
            "fleet from the scenario's fleet.csv (overrides the ledger's registry)"
            if scenario_fleet
            else "the ledger has no fleet registered (relief fleet import): planned with the "
            "scenario's fleet.csv"
        )
    else:
        fleet = registry + tuple(v for v in scenario.fleet if v.depot in outside_codes)
        with_trucks = {v.depot for v in fleet if v.count > 0}
        idle = [d.code for d in placed if d.code not in with_trucks]
        if idle:
            notes.append("no trucks registered (ships nothing itself): " + ", ".join(idle))

    agreements, agreement_notes = planned_agreements(
        session, scenario, freed=_called_by(session, replacing)
    )
    notes.extend(agreement_notes)
    problem = replace(scenario, depots=depots, fleet=fleet, agreements=agreements)
    snap = ledger_snapshot(session, problem, replacing=replacing)
    # The snapshot offers only the ledger's lots; outside depots keep the scenario's.
    lots = snap.problem.lots + tuple(lot for lot in scenario.lots if lot.depot in outside_codes)
    snap = replace(snap, problem=replace(snap.problem, lots=lots))
    return LedgerProblem(snapshot=snap, notes=tuple(notes))


def _ledger_fleet(session: Session, depots: set[str] | None) -> tuple[VehicleType, ...]:
    """The ledger's trucks, of `depots` only unless None."""
    rows = session.execute(
        select(col(Location.code), FleetVehicle)
        .join(Location, col(Location.id) == col(FleetVehicle.depot_id))
        .where(col(Location.active).is_(True))
        .order_by(col(Location.code), col(FleetVehicle.vehicle_type))
    ).all()
    return tuple(
        VehicleType(code, v.vehicle_type, v.count, v.capacity_kg, v.capacity_m3, v.speed_kmh)
        for code, v in rows
        if depots is None or code in depots
    )


def _called_by(session: Session, replacing: Sequence[str]) -> dict[int, int]:
    """Agreement id -> units the replaced plans called off and have not received: approving
    the new plan with `replaces` cancels those call-offs, so they are available again."""
    if not replacing:
        return {}
    ids = [plan_by_ref(session, ref).id for ref in replacing]
    rows = session.execute(
        sa_select(col(CallOff.agreement_id), func.sum(col(CallOff.qty)))
        .where(
            col(CallOff.plan_id).in_(ids),
            col(CallOff.status) == CallOffStatus.EXPECTED.value,
        )
        .group_by(col(CallOff.agreement_id))
    ).all()
    return {agreement_id: int(qty) for agreement_id, qty in rows}


def planned_agreements(
    session: Session, problem: Problem, *, freed: dict[int, int] | None = None
) -> tuple[tuple[AgreementSource, ...], list[str]]:
    """The ledger's agreements for the problem's items as planner sources on `problem.today`,
    and notes on those left out or cut (suspended, expired, exhausted, verified short).
    `freed` are units of open call-offs (by agreement id) that will be cancelled: left."""
    freed = freed or {}
    items = {i.code for i in problem.items}
    rows = session.execute(
        sa_select(
            Agreement,
            col(Item.code),
            col(Supplier.name),
            col(Supplier.lat),
            col(Supplier.lon),
            Location,
        )
        .join(Item, col(Item.id) == col(Agreement.item_id))
        .join(Supplier, col(Supplier.id) == col(Agreement.supplier_id))
        .join(Location, col(Location.id) == col(Agreement.depot_id))
        .order_by(col(Agreement.code))
    ).all()
    used = used_qty(session)
    last = last_inspections(session)
    out: list[AgreementSource] = []
    left_out: list[str] = []
    short: list[str] = []
    for a, item, supplier, s_lat, s_lon, depot in rows:
        if item not in items:
            continue
        remaining = a.qty - used.get(a.id, 0) + freed.get(a.id, 0)
        state = state_of(a, remaining, problem.today)
        if state != AgreementState.ACTIVE:
            left_out.append(f"{a.code} ({state.value})")
            continue
        lat, lon = (
            (s_lat, s_lon) if s_lat is not None and s_lon is not None else (depot.lat, depot.lon)
        )
        if lat is None or lon is None:
            left_out.append(f"{a.code} (no position for supplier or depot)")
            continue
        inspection = last.get(a.id)
        rate = a.rate_per_hour
        if a.kind == AgreementKind.CAPACITY:
            assert rate is not None
            if inspection is not None and inspection.verified_qty < rate:
                short.append(f"{a.code} at {inspection.verified_qty:,}/h of {rate:,}/h")
                rate = inspection.verified_qty
            if rate <= 0:
                left_out.append(f"{a.code} (verified output 0)")
                continue
            whole = AgreementSource(a.code, supplier, item, remaining, a.lead_time_hours, lat, lon)
            out.extend(hourly(whole, rate, problem))
            continue
        qty = remaining
        if inspection is not None and inspection.verified_qty < remaining:
            short.append(f"{a.code} at {inspection.verified_qty:,} of {remaining:,}")
            qty = inspection.verified_qty
        if qty > 0:
            out.append(AgreementSource(a.code, supplier, item, qty, a.lead_time_hours, lat, lon))
    notes: list[str] = []
    if left_out:
        notes.append("agreements not planned: " + ", ".join(left_out))
    if short:
        notes.append("agreements planned at their verified quantity: " + ", ".join(short))
    return tuple(out), notes


def hourly(whole: AgreementSource, rate: int, problem: Problem) -> list[AgreementSource]:
    """A capacity reserve's output hour by hour after its lead time: piece k (`CODE@k`) is
    the k-th hour's output, ready at lead + k hours; what is produced after the deadline is
    one last piece, ready when the contract's remainder (`whole.qty`) is done."""
    hours_left = problem.deadline_hours - problem.now_hours - whole.lead_time_hours
    pieces = min(max(math.floor(hours_left + 1e-9), 0), MAX_HOURLY_PIECES)
    out: list[AgreementSource] = []
    left = whole.qty
    for k in range(1, pieces + 1):
        qty = min(rate, left)
        if qty <= 0:
            break
        out.append(_piece(whole, k, qty, whole.lead_time_hours + k))
        left -= qty
    if left > 0:
        done = whole.lead_time_hours + pieces + left / rate
        out.append(_piece(whole, pieces + 1, left, done))
    return out


def _piece(whole: AgreementSource, k: int, qty: int, ready: float) -> AgreementSource:
    return replace(whole, code=f"{whole.code}{TRANCHE_MARK}{k}", qty=qty, lead_time_hours=ready)
