"""The baseline a dispatcher would do by hand, to measure what the allocation MIP is worth.

Shelters are served one after another in the order they were entered; within a shelter,
items go by norm priority (1 first). Each need takes from the soonest-arriving source first
(ready hours + driving hours), then the next, until it is covered or nothing reachable is
left: late units count, since late beats unmet. A depot without vehicles cannot deliver;
otherwise fleet capacity is ignored, as a dispatcher with a phone and a list would. Lots
leave first-expiry first and expired lots never leave, exactly as in `solve_allocation`, so
the two plans differ only in *who gets what*, which is the point of the comparison.
"""

import time
from collections import defaultdict

import numpy as np

from optimizer.coverage import shelter_plans
from optimizer.demand import Need, needs
from optimizer.plan import Plan, Shipment, SolveStatus
from optimizer.problem import Problem
from optimizer.sources import (
    LotPool,
    Source,
    ship,
    source_records,
    source_travel_times,
    sources,
)

OBJECTIVE_ORDER = [
    "shelters in input order, items by norm priority",
    "soonest-arriving source first (ready + driving hours), late beats unmet",
    "first-expiry lots first within each depot",
]


def solve_greedy(problem: Problem, *, deadline_hours: float | None = None) -> Plan:
    """Plan shipments greedily, shelter by shelter, nearest ready source first.

    Parameters
    ----------
    problem
        The disaster and what we hold.
    deadline_hours
        Overrides `problem.deadline_hours`; it only decides which arrivals count as on time.

    Returns
    -------
    Plan
        Always `feasible` with `gap` None: a heuristic proves nothing about the optimum.

    Raises
    ------
    ValueError
        If the deadline is not positive.
    """
    started = time.perf_counter()
    deadline = problem.deadline_hours if deadline_hours is None else deadline_hours
    if deadline <= 0:
        raise ValueError("deadline_hours: must be positive")

    srcs = sources(problem)
    times = source_travel_times(problem, srcs)
    need_list = needs(problem)
    shipments = greedy_shipments(problem, srcs, times.hours, need_list, LotPool(problem))
    need = {(n.shelter, n.item): n for n in need_list}
    plan_shelters = shelter_plans(problem, srcs, times, need, shipments, deadline)
    return Plan(
        name=problem.name,
        status=SolveStatus.FEASIBLE,
        deadline_hours=deadline,
        solve_seconds=time.perf_counter() - started,
        gap=None,
        shelters=plan_shelters,
        shipments=sorted(shipments, key=lambda s: (s.arrival_hours, s.shelter, s.item)),
        sources=source_records(srcs),
        objective_order=OBJECTIVE_ORDER,
        notes=["greedy baseline"],
    )


def greedy_shipments(
    problem: Problem,
    srcs: list[Source],
    hours: np.ndarray,
    need_list: list[Need],
    pool: LotPool,
) -> list[Shipment]:
    """Shelter by shelter, each need from its soonest-arriving sources with stock left.

    `hours[i, j]` is driving hours from source i to shelter j (`inf`: unreachable). Per item,
    the candidate sources and their remaining stock are numpy arrays, so ranking them for
    one need is a vector operation even with hundreds of sources.
    """
    ready = np.array([s.ready_hours for s in srcs], dtype=float)
    holders: dict[str, list[int]] = defaultdict(list)
    for i, s in enumerate(srcs):
        if not s.can_deliver:
            continue  # nothing can carry its stock
        for item in s.supply:
            holders[item].append(i)
    cands = {item: np.array(ix, dtype=np.int64) for item, ix in holders.items()}
    left = {
        item: np.array([srcs[i].supply[item] for i in ix], dtype=np.int64)
        for item, ix in holders.items()
    }

    by_shelter: dict[str, list[Need]] = defaultdict(list)
    for n in need_list:
        by_shelter[n.shelter].append(n)
    out: list[Shipment] = []
    for j, shelter in enumerate(problem.shelters):
        # sorted() is stable: equal priorities keep the norms' order.
        for n in sorted(by_shelter.get(shelter.code, []), key=lambda n: n.priority):
            if n.item not in cands:
                continue
            idx, stock = cands[n.item], left[n.item]
            arrival = ready[idx] + hours[idx, j]
            usable = np.flatnonzero((stock > 0) & np.isfinite(arrival))
            order = usable[np.argsort(arrival[usable], kind="stable")]
            wanted = n.qty
            for k in order:
                if wanted == 0:
                    break
                qty = int(min(wanted, stock[k]))
                stock[k] -= qty
                wanted -= qty
                out.extend(ship(srcs[idx[k]], pool, shelter.code, n.item, qty, float(arrival[k])))
    return out
