"""From shipments to what each shelter gets, and why it is short: shared by every planner.

Coverage is always recomputed from the shipments themselves, never taken from a model's
variables, so a plan's `served_on_time` can be checked by anyone holding its shipment list.
"""

from collections import defaultdict

import numpy as np

from optimizer.demand import Need
from optimizer.network import TravelTimes
from optimizer.plan import FirstBatch, ItemCoverage, ShelterPlan, Shipment, SourceKind
from optimizer.problem import Problem, Shelter
from optimizer.sources import EPS, LotPool, Source, fleet_use, ship

LATE_CANDIDATES = 8  # nearest sources considered for each late need
FLEET_FULL = 0.98  # share of a fleet budget above which a depot counts as fully used


def late_shipments(
    deadline: float,
    srcs: list[Source],
    shelters: list[Shelter],
    times: TravelTimes,
    need: dict[tuple[str, str], Need],
    shipped: list[Shipment],
    pool: LotPool,
) -> list[Shipment]:
    """Leftover stock to still-unmet needs, earliest arrival first (late beats unmet)."""
    index = {(s.kind, s.code): i for i, s in enumerate(srcs)}
    left = {(i, item): qty for i, s in enumerate(srcs) for item, qty in s.supply.items()}
    got: dict[tuple[str, str], int] = defaultdict(int)
    for sh in shipped:
        if sh.source_kind != SourceKind.EN_ROUTE:  # loads on the road are no source's stock
            left[(index[(sh.source_kind, sh.source)], sh.item)] -= sh.qty
        got[(sh.shelter, sh.item)] += sh.qty
    column = {h.code: j for j, h in enumerate(shelters)}
    # Arrival of a late trip per source: depots' vehicles are busy until the deadline (or
    # the plan would have sent it on time), so their next trip leaves then.
    ready = np.array([s.ready_hours for s in srcs])
    depot = np.array([s.kind == SourceKind.DEPOT for s in srcs])
    cannot = np.array([not s.can_deliver for s in srcs])
    arrival_all = ready[:, None] + times.hours
    arrival_all = np.where(
        depot[:, None], np.maximum(arrival_all, deadline + times.hours), arrival_all
    )
    # Per item, each unmet need's LATE_CANDIDATES earliest holders, all needs at once (a
    # sort per need took 20 s on 12,000 shelters).
    by_item: dict[str, list[tuple[str, Need]]] = defaultdict(list)
    for (code, item), n in need.items():
        if got[(code, item)] < n.qty:
            by_item[item].append((code, n))
    parts: list[tuple[np.ndarray, ...]] = []
    codes = sorted({code for code, _ in need})
    rank = {code: r for r, code in enumerate(codes)}
    items = sorted(by_item)
    for item_rank, item in enumerate(items):
        holders = np.array(
            [i for i in range(len(srcs)) if left.get((i, item), 0) > 0 and not cannot[i]],
            dtype=int,
        )
        if holders.size == 0:
            continue
        wanting = by_item[item]
        cols = np.array([column[code] for code, _ in wanting], dtype=int)
        arrivals = arrival_all[holders][:, cols]  # (holders, needs)
        k = min(LATE_CANDIDATES, holders.size)
        top = np.argpartition(arrivals, k - 1, axis=0)[:k] if k < holders.size else None
        pick = (
            np.broadcast_to(np.arange(holders.size)[:, None], arrivals.shape)
            if top is None
            else top
        )
        when = np.take_along_axis(arrivals, pick, axis=0)
        ok = np.isfinite(when)
        need_at = np.broadcast_to(np.arange(len(wanting))[None, :], when.shape)[ok]
        parts.append(
            (
                when[ok],
                np.array([n.priority for _, n in wanting])[need_at],
                np.array([rank[code] for code, _ in wanting])[need_at],
                np.full(need_at.size, item_rank),
                holders[pick[ok]],
            )
        )
    if parts:
        when, priority, code_rank, item_at, source = (
            np.concatenate(c) for c in zip(*parts, strict=True)
        )
        order = np.lexsort((source, item_at, code_rank, priority, when))
        options = [
            (float(when[o]), codes[code_rank[o]], items[item_at[o]], int(source[o])) for o in order
        ]
    else:
        options = []
    out: list[Shipment] = []
    for arrival, code, item, i in options:
        qty = min(need[(code, item)].qty - got[(code, item)], left[(i, item)])
        if qty <= 0:
            continue
        left[(i, item)] -= qty
        got[(code, item)] += qty
        out.extend(ship(srcs[i], pool, code, item, qty, arrival))
    return out


def _fleet_full(
    problem: Problem,
    srcs: list[Source],
    times: TravelTimes,
    shipments: list[Shipment],
    deadline: float,
) -> set[int]:
    """Depots whose on-time shipments use (nearly) all their trucks' shuttles."""
    kg, m3 = fleet_use(problem, srcs, times.hours, shipments, deadline)
    return {
        i
        for i, s in enumerate(srcs)
        if s.kind == SourceKind.DEPOT
        and s.kg_capacity > 0
        and (kg[i] >= FLEET_FULL * s.kg_capacity or m3[i] >= FLEET_FULL * s.m3_capacity)
    }


def shelter_plans(
    problem: Problem,
    srcs: list[Source],
    times: TravelTimes,
    need: dict[tuple[str, str], Need],
    shipments: list[Shipment],
    deadline: float,
) -> list[ShelterPlan]:
    """Each shelter's coverage per item, `served_on_time`, and the reasons it is short."""
    on_time: dict[tuple[str, str], int] = defaultdict(int)
    late: dict[tuple[str, str], int] = defaultdict(int)
    last: dict[str, float] = {}
    for sh in shipments:
        if sh.arrival_hours <= deadline + EPS:
            on_time[(sh.shelter, sh.item)] += sh.qty
        else:
            late[(sh.shelter, sh.item)] += sh.qty
        last[sh.shelter] = max(last.get(sh.shelter, 0.0), sh.arrival_hours)
    # First critical arrivals, from any source and per depot tier, counted from the
    # dispatch order (the plan's `now`), against the tiers' first-batch targets.
    critical = {n.item for n in need.values() if n.critical}
    tier_of = {d.code: d.tier for d in problem.depots}
    targets = dict(problem.first_batch_hours)
    first: dict[str, float] = {}
    by_tier: dict[str, dict[str, float]] = defaultdict(dict)
    for sh in shipments:
        if sh.item not in critical or sh.qty <= 0:
            continue
        at = sh.arrival_hours - problem.now_hours
        first[sh.shelter] = min(first.get(sh.shelter, at), at)
        if sh.source_kind == SourceKind.DEPOT and sh.source in tier_of:
            tier = tier_of[sh.source]
            by_tier[sh.shelter][tier] = min(by_tier[sh.shelter].get(tier, at), at)
    context = _ReasonContext(
        srcs, times, need, deadline, _fleet_full(problem, srcs, times, shipments, deadline)
    )
    by_shelter: dict[str, list[Need]] = defaultdict(list)
    for (code, _), n in need.items():
        by_shelter[code].append(n)
    out = []
    for j, h in enumerate(problem.shelters):
        items = [
            ItemCoverage(
                n.item, n.qty, min(on_time[(h.code, n.item)], n.qty), late[(h.code, n.item)]
            )
            for n in by_shelter[h.code]
        ]
        crit = [c for c in items if need[(h.code, c.item)].critical]
        served = all(c.on_time >= c.need for c in crit)
        plan = ShelterPlan(
            h.code, h.name, h.lat, h.lon, h.residents, served, last.get(h.code), items
        )
        plan.first_arrival_hours = first.get(h.code)
        plan.first_batches = [
            FirstBatch(tier, at, targets.get(tier))
            for tier, at in sorted(by_tier.get(h.code, {}).items(), key=lambda kv: kv[1])
        ]
        plan.reasons = context.reasons(j, h.code, items)
        out.append(plan)
    return out


class _ReasonContext:
    """What every shelter's reasons are judged against, computed once per plan."""

    def __init__(
        self,
        srcs: list[Source],
        times: TravelTimes,
        need: dict[tuple[str, str], Need],
        deadline: float,
        fleet_full: set[int],
    ) -> None:
        self.srcs = srcs
        self.times = times
        self.need = need
        self.deadline = deadline
        self.fleet_full = fleet_full
        holding: dict[str, list[int]] = defaultdict(list)
        for i, src in enumerate(srcs):
            for item, qty in src.supply.items():
                if qty > 0:
                    holding[item].append(i)
        self.holders_of = {item: np.array(rows, dtype=int) for item, rows in holding.items()}
        self.can_drive = np.array([s.can_deliver for s in srcs], dtype=bool)
        self.ready = np.array([s.ready_hours for s in srcs], dtype=float)
        self.full = np.zeros(len(srcs), dtype=bool)
        self.full[sorted(fleet_full)] = True

    def reasons(self, j: int, code: str, items: list[ItemCoverage]) -> list[str]:
        """Why a shelter is short, one line per cause, naming the items each cause affects.

        Causes, most basic first: unreachable, no stock, no vehicle, deadline, fleet
        capacity, shortage. Critical items are marked with `*`.
        """
        column = self.times.hours[:, j] if len(self.srcs) else np.array([])
        if len(column) and not np.isfinite(column).any():
            return ["unreachable: every road to the shelter is closed"]
        deadline = self.deadline
        causes: dict[str, list[str]] = {}
        for c in items:
            if c.on_time >= c.need:
                continue
            star = "*" if self.need[(code, c.item)].critical else ""
            short = f"{c.item}{star} {c.on_time}/{c.need}"
            holders = self.holders_of.get(c.item, np.array([], dtype=int))
            reach = holders[np.isfinite(column[holders])]
            usable = reach[self.can_drive[reach]]
            arrivals = self.ready[usable] + column[usable]
            soonest = float(arrivals.min()) if usable.size else np.inf
            in_time = usable[arrivals <= deadline + EPS]
            busy = sorted(self.srcs[i].code for i in in_time[self.full[in_time]])
            if not holders.size:
                cause = "no stock: no depot or agreement holds"
            elif not reach.size:
                cause = "unreachable: no source that holds it can reach the shelter by road"
            elif not usable.size:
                cause = "no vehicle: the depots that hold it have no fleet"
            elif soonest > deadline + EPS:
                cause = f"deadline: the soonest can arrive at {soonest:.1f} h"
            elif busy:
                cause = (
                    f"fleet capacity: vehicles of {', '.join(busy)} fully used by {deadline:g} h"
                )
            else:
                cause = f"shortage: all that can arrive by {deadline:g} h is allocated"
            causes.setdefault(cause, []).append(short)
        return [f"{cause} ({', '.join(shorts)} on time)" for cause, shorts in causes.items()]
